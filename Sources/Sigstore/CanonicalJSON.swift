import Basics
import FoundationEssentials

/// RFC 8785 (JSON Canonicalization Scheme) for the values Sigstore signs: objects with keys
/// sorted by UTF-16 code units, strings escaped as ECMAScript's JSON.stringify does, integers.
/// (Rekor's signed entry timestamp covers `{"body","integratedTime","logID","logIndex"}` so.)
public enum CanonicalJSON {
  public indirect enum Value: Sendable, Equatable {
    case string(String)
    case integer(Int64)
    case bool(Bool)
    case null
    case array([Value])
    case object([String: Value])
  }

  public static func encode(_ value: Value) -> Data { Data(text(value).utf8) }

  static func text(_ value: Value) -> String {
    switch value {
    case .string(let s): string(s)
    case .integer(let n): String(n)
    case .bool(let b): b ? "true" : "false"
    case .null: "null"
    case .array(let a): "[" + a.map(text).joined(separator: ",") + "]"
    case .object(let o):
      "{" + o.keys.sorted { Array($0.utf16).lexicographicallyPrecedes(Array($1.utf16)) }.map { string($0) + ":" + text(o[$0] ?? .null) }.joined(separator: ",") + "}"
    }
  }

  /// A JSON string literal, RFC 8785 §3.2.2.2.
  public static func string(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
      switch u {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\u{08}": out += "\\b"
      case "\u{0C}": out += "\\f"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if u.value < 0x20 {
          let hex = String(u.value, radix: 16)
          out += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        } else {
          out.unicodeScalars.append(u)
        }
      }
    }
    return out + "\""
  }
}
