import ActionsCore
import Basics
import FoundationEssentials

/// Byte sizes for inputs and summaries.
public enum ByteSize {
  /// The largest size an input may give: 1 PB, far below `Int64.max`.
  public static let maximum: Int64 = 1_000_000_000_000_000

  /// `1GB`, `500MB`, `1GiB`, `12345` → bytes. Decimal units (kB, MB, GB, TB) and binary (KiB, MiB, GiB).
  /// - Throws: ``InputError`` naming `input` for text that is not a size, or one above 1 PB
  ///   (checked before any conversion, so nothing overflows).
  public static func parse(_ text: String, input: String) throws -> Int64 {
    let t = text.trimmingCharacters(in: .whitespaces)
    let digits = t.prefix { ($0.isASCII && $0.isNumber) || $0 == "." }
    let unit = t.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
    let factors: [String: Double] = ["": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12, "kib": 1024, "mib": 1_048_576, "gib": 1_073_741_824]
    guard digits.count <= 30, let n = Double(digits), n.isFinite, let f = factors[unit], n >= 0, n * f <= Double(maximum) else {
      throw InputError(input, "expected a size from 0 to 1PB such as 500MB, 1GB or 2GiB, got '\(text.clipped(to: 100))'")
    }
    return Int64(n * f)
  }

  static func format(_ bytes: Int64) -> String {
    let b = Double(bytes)
    if b >= 1e9 { return Format.fixed(b / 1e9, digits: 2) + " GB" }
    if b >= 1e6 { return Format.fixed(b / 1e6, digits: 1) + " MB" }
    if b >= 1e3 { return Format.fixed(b / 1e3, digits: 1) + " kB" }
    return "\(bytes) B"
  }
}
