import FoundationEssentials

/// Any JSON document, for the few places that edit documents whose full shape Gantry does not
/// own (an index it adds one entry to, a manifest it merges layers into) or reads one field of
/// a foreign file. Foundation's `JSONSerialization` would link all of Foundation (issue 17).
/// Integers stay integers (sizes up to 2^63 - 1 keep every digit); other numbers are `Double`.
public enum JSONValue: Sendable, Hashable, Codable {
  case null
  case bool(Bool)
  case int(Int64)
  case double(Double)
  case string(String)
  case array([JSONValue])
  case object([String: JSONValue])

  public init(from decoder: any Decoder) throws {
    let c = try decoder.singleValueContainer()
    if c.decodeNil() {
      self = .null
    } else if let b = try? c.decode(Bool.self) {
      self = .bool(b)
    } else if let i = try? c.decode(Int64.self) {
      self = .int(i)
    } else if let d = try? c.decode(Double.self) {
      self = .double(d)
    } else if let s = try? c.decode(String.self) {
      self = .string(s)
    } else if let a = try? c.decode([JSONValue].self) {
      self = .array(a)
    } else {
      self = .object(try c.decode([String: JSONValue].self))
    }
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    switch self {
    case .null: try c.encodeNil()
    case .bool(let b): try c.encode(b)
    case .int(let i): try c.encode(i)
    case .double(let d): try c.encode(d)
    case .string(let s): try c.encode(s)
    case .array(let a): try c.encode(a)
    case .object(let o): try c.encode(o)
    }
  }

  /// Parses `data`; `nil` when it is not JSON.
  public static func parse(_ data: Data) -> JSONValue? { try? parse(bytes: data) }

  /// Parses a file a person edits (package.json, a docker config.json, a release manifest):
  /// as ``parse(_:)``, but a leading UTF-8 byte order mark, which some editors write, is
  /// skipped. Documents from registries and services get no such leniency.
  public static func parse(userFile data: Data) -> JSONValue? {
    data.starts(with: [0xEF, 0xBB, 0xBF]) ? parse(Data(data.dropFirst(3))) : parse(data)
  }

  /// Compact JSON with sorted keys and unescaped slashes: the same value always gives the same
  /// bytes (so the same digest).
  public func serialized() throws -> Data {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return try e.encode(self)
  }

  public subscript(key: String) -> JSONValue? {
    if case .object(let o) = self { return o[key] }
    return nil
  }

  /// The value at a dotted path (`version`, `build.sha`, `items.0.name`).
  public func value(atPath path: String) -> JSONValue? {
    var node = self
    for key in path.split(separator: ".") {
      switch node {
      case .object(let o):
        guard let next = o[String(key)] else { return nil }
        node = next
      case .array(let a):
        guard let i = Int(key), a.indices.contains(i) else { return nil }
        node = a[i]
      default: return nil
      }
    }
    return node
  }

  /// The value as text to compare with what a user typed: `1.2.3`, `true`, `42`, `null`;
  /// arrays and objects compactly, keys sorted.
  public var text: String {
    switch self {
    case .string(let s): s
    case .int(let i): String(i)
    case .double(let n): n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
    case .bool(let b): String(b)
    case .null: "null"
    case .array(let a): "[" + a.map(\.text).joined(separator: ",") + "]"
    case .object(let o): "{" + o.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value.text)" }.joined(separator: ",") + "}"
    }
  }

  public var string: String? {
    if case .string(let s) = self { return s }
    return nil
  }

  public var array: [JSONValue]? {
    if case .array(let a) = self { return a }
    return nil
  }

  public var object: [String: JSONValue]? {
    if case .object(let o) = self { return o }
    return nil
  }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByBooleanLiteral {
  public init(stringLiteral value: String) { self = .string(value) }
  public init(integerLiteral value: Int64) { self = .int(value) }
  public init(booleanLiteral value: Bool) { self = .bool(value) }
  public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
  public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last })) }
}
