import FoundationEssentials

/// Why bytes are not the JSON ``JSONValue/parse(bytes:)`` accepts, with the byte offset.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
  public let offset: Int
  public let why: String
  public var description: String { "\(why) at byte \(offset)" }
}

extension JSONValue {
  /// Nesting deeper than this is refused: no document Gantry reads nests past a dozen levels,
  /// and each level is a stack frame of the parser.
  public static let maxDepth = 100

  /// Parses `bytes` as one JSON text ([RFC 8259](https://www.rfc-editor.org/rfc/rfc8259)),
  /// strictly: UTF-8 only, no duplicate keys in an object (a second `"digest"` could make
  /// Gantry check one value while a registry or runtime uses the other), no trailing bytes,
  /// nesting at most ``maxDepth``. Integers that fit stay `Int64`; other numbers are `Double`.
  ///
  /// Gantry's own reader rather than `JSONDecoder`: the documents on a promotion's path
  /// (manifests, configs, tag lists) are decoded by hand from the value, which skips the
  /// Swift runtime's first-use type lookups of `Codable` (a tenth of a warm re-promote's CPU,
  /// docs/benchmarks.md).
  public static func parse(bytes: some Collection<UInt8>) throws(JSONParseError) -> JSONValue {
    let array = Array(bytes)
    var parser = JSONParser(array)
    return try parser.document()
  }
}

/// Recursive descent over the bytes; every index is checked, nothing traps.
struct JSONParser {
  let bytes: [UInt8]
  var i = 0
  var depth = 0

  init(_ bytes: [UInt8]) { self.bytes = bytes }

  mutating func document() throws(JSONParseError) -> JSONValue {
    // A byte order mark is refused as an unexpected character, as Go's decoders do.
    let value = try self.value()
    skipSpace()
    guard i == bytes.count else { throw fail("unexpected bytes after the document") }
    return value
  }

  func fail(_ why: String) -> JSONParseError { JSONParseError(offset: i, why: why) }

  var current: UInt8? { i < bytes.count ? bytes[i] : nil }

  mutating func skipSpace() {
    while i < bytes.count {
      switch bytes[i] {
      case 0x20, 0x09, 0x0A, 0x0D: i += 1
      default: return
      }
    }
  }

  mutating func value() throws(JSONParseError) -> JSONValue {
    skipSpace()
    guard let c = current else { throw fail("unexpected end of the document") }
    switch c {
    case UInt8(ascii: "{"): return try object()
    case UInt8(ascii: "["): return try array()
    case UInt8(ascii: "\""): return .string(try string())
    case UInt8(ascii: "t"): return try literal("true", .bool(true))
    case UInt8(ascii: "f"): return try literal("false", .bool(false))
    case UInt8(ascii: "n"): return try literal("null", .null)
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
    default: throw fail("unexpected character")
    }
  }

  mutating func literal(_ word: StaticString, _ value: JSONValue) throws(JSONParseError) -> JSONValue {
    let n = word.utf8CodeUnitCount
    guard bytes.count - i >= n else { throw fail("unexpected end of the document") }
    let matches = word.withUTF8Buffer { w in w.indices.allSatisfy { bytes[i + $0] == w[$0] } }
    guard matches else { throw fail("unexpected character") }
    i += n
    return value
  }

  mutating func enter() throws(JSONParseError) {
    depth += 1
    guard depth <= JSONValue.maxDepth else { throw fail("nested deeper than \(JSONValue.maxDepth) levels") }
  }

  mutating func object() throws(JSONParseError) -> JSONValue {
    try enter()
    i += 1
    var members: [String: JSONValue] = [:]
    skipSpace()
    if current == UInt8(ascii: "}") {
      i += 1
      depth -= 1
      return .object(members)
    }
    while true {
      skipSpace()
      guard current == UInt8(ascii: "\"") else { throw fail("expected a member name") }
      let keyOffset = i
      let key = try string()
      skipSpace()
      guard current == UInt8(ascii: ":") else { throw fail("expected ':'") }
      i += 1
      let v = try value()
      guard members.updateValue(v, forKey: key) == nil else { throw JSONParseError(offset: keyOffset, why: "duplicate member \"\(key.prefix(64))\"") }
      skipSpace()
      switch current {
      case UInt8(ascii: ","): i += 1
      case UInt8(ascii: "}"):
        i += 1
        depth -= 1
        return .object(members)
      default: throw fail("expected ',' or '}'")
      }
    }
  }

  mutating func array() throws(JSONParseError) -> JSONValue {
    try enter()
    i += 1
    var items: [JSONValue] = []
    skipSpace()
    if current == UInt8(ascii: "]") {
      i += 1
      depth -= 1
      return .array(items)
    }
    while true {
      items.append(try value())
      skipSpace()
      switch current {
      case UInt8(ascii: ","): i += 1
      case UInt8(ascii: "]"):
        i += 1
        depth -= 1
        return .array(items)
      default: throw fail("expected ',' or ']'")
      }
    }
  }

  /// A string at `i` (which holds the opening quote), unescaped.
  mutating func string() throws(JSONParseError) -> String {
    i += 1
    let start = i
    // Fast path: no escapes, all checked as UTF-8 at once.
    while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\"), bytes[i] >= 0x20 { i += 1 }
    guard i < bytes.count else { throw fail("unterminated string") }
    if bytes[i] == UInt8(ascii: "\"") {
      defer { i += 1 }
      return try utf8(bytes[start..<i], at: start)
    }
    var out = Array(bytes[start..<i])
    while true {
      guard let c = current else { throw fail("unterminated string") }
      switch c {
      case UInt8(ascii: "\""):
        i += 1
        return try utf8(out[...], at: start)
      case UInt8(ascii: "\\"):
        i += 1
        guard let e = current else { throw fail("unterminated string") }
        i += 1
        switch e {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"): appendScalar(try escapedScalar(), to: &out)
        default: throw fail("unknown escape")
        }
      case 0..<0x20: throw fail("control character in a string")
      default:
        out.append(c)
        i += 1
      }
    }
  }

  /// The scalar of `\uXXXX` (`i` after the `u`), joining a surrogate pair.
  mutating func escapedScalar() throws(JSONParseError) -> Unicode.Scalar {
    let high = try hex4()
    if (0xD800...0xDBFF).contains(high) {
      guard bytes.count - i >= 2, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else { throw fail("lone surrogate") }
      i += 2
      let low = try hex4()
      guard (0xDC00...0xDFFF).contains(low) else { throw fail("lone surrogate") }
      let value = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
      guard let s = Unicode.Scalar(value) else { throw fail("invalid escape") }
      return s
    }
    guard let s = Unicode.Scalar(high) else { throw fail("lone surrogate") }
    return s
  }

  mutating func hex4() throws(JSONParseError) -> UInt32 {
    guard bytes.count - i >= 4 else { throw fail("short \\u escape") }
    var v: UInt32 = 0
    for _ in 0..<4 {
      let c = bytes[i]
      let d: UInt32
      switch c {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
      case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a")) + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A")) + 10
      default: throw fail("bad \\u escape")
      }
      v = v << 4 | d
      i += 1
    }
    return v
  }

  func appendScalar(_ s: Unicode.Scalar, to out: inout [UInt8]) {
    UTF8.encode(s) { out.append($0) }
  }

  func utf8(_ slice: ArraySlice<UInt8>, at offset: Int) throws(JSONParseError) -> String {
    guard let s = String(validating: slice, as: UTF8.self) else { throw JSONParseError(offset: offset, why: "string is not UTF-8") }
    return s
  }

  /// A number per RFC 8259's grammar; `Int64` when it is an integer that fits.
  mutating func number() throws(JSONParseError) -> JSONValue {
    let start = i
    if current == UInt8(ascii: "-") { i += 1 }
    guard let first = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { throw fail("bad number") }
    if first == UInt8(ascii: "0") {
      i += 1
    } else {
      skipDigits()
    }
    var integral = true
    if current == UInt8(ascii: ".") {
      integral = false
      i += 1
      guard skipDigits() > 0 else { throw fail("bad number") }
    }
    if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
      integral = false
      i += 1
      if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { i += 1 }
      guard skipDigits() > 0 else { throw fail("bad number") }
    }
    let text = String(decoding: bytes[start..<i], as: UTF8.self)
    if integral, let n = Int64(text) { return .int(n) }
    guard let d = Double(text), d.isFinite else { throw JSONParseError(offset: start, why: "number out of range") }
    return .double(d)
  }

  @discardableResult
  mutating func skipDigits() -> Int {
    let start = i
    while let c = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) { i += 1 }
    return i - start
  }
}

/// A JSON document's shape is not what a reader expected: `path` names the member.
public struct JSONShapeError: Error, Sendable, Equatable, CustomStringConvertible {
  public let path: String
  public let why: String
  public init(_ path: String, _ why: String) {
    self.path = path
    self.why = why
  }
  public var description: String { path.isEmpty ? why : "\(path): \(why)" }
}

/// Typed access to a JSON object's members, for decoding by hand: an absent or `null` member
/// is nil, a member of the wrong type an error naming its path (as `JSONDecoder` would).
public struct JSONObject: Sendable {
  public let members: [String: JSONValue]
  public let path: String

  public init(_ value: JSONValue, path: String = "") throws(JSONShapeError) {
    guard case .object(let o) = value else { throw JSONShapeError(path, "expected an object") }
    members = o
    self.path = path
  }

  func at(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

  /// The member, nil when absent or `null`.
  public subscript(_ key: String) -> JSONValue? {
    guard let v = members[key], v != .null else { return nil }
    return v
  }

  /// The member `key` names, as ``subscript(_:)``, but refused when another member's name
  /// differs from it in case only. Go's `encoding/json`, which the registry, containerd and
  /// docker decode with, matches names to fields without case (`ſ` and the Kelvin sign fold
  /// to `s` and `k` too), and the last match wins: `{"digest": A, "Digest": B}` is B to them,
  /// A to an exact reader. Only names read as fields are checked: a map's keys (labels,
  /// annotations) are Go map keys, read exactly there too.
  func member(_ key: String) throws(JSONShapeError) -> JSONValue? {
    let count = key.unicodeScalars.count
    let folded = Self.fold(key)
    var matches = 0
    for name in members.keys where name.unicodeScalars.count == count && Self.fold(name) == folded {
      matches += 1
      guard matches < 2 else { throw JSONShapeError(at(key), "given twice under names that differ in case only (a Go reader would take the last)") }
    }
    return self[key]
  }

  /// A name as Go compares field names: ASCII letters without case, `ſ` as `s`, `K` (U+212A) as `k`.
  static func fold(_ name: String) -> [UInt32] {
    name.unicodeScalars.map { s in
      switch s.value {
      case 0x41...0x5A: s.value + 0x20
      case 0x17F: 0x73
      case 0x212A: 0x6B
      default: s.value
      }
    }
  }

  public func string(_ key: String) throws(JSONShapeError) -> String? {
    guard let v = try member(key) else { return nil }
    guard case .string(let s) = v else { throw JSONShapeError(at(key), "expected a string") }
    return s
  }

  public func requiredString(_ key: String) throws(JSONShapeError) -> String {
    guard let s = try string(key) else { throw JSONShapeError(at(key), "missing") }
    return s
  }

  public func int64(_ key: String) throws(JSONShapeError) -> Int64? {
    guard let v = try member(key) else { return nil }
    guard case .int(let n) = v else { throw JSONShapeError(at(key), "expected an integer") }
    return n
  }

  public func object(_ key: String) throws(JSONShapeError) -> JSONObject? {
    guard let v = try member(key) else { return nil }
    return try JSONObject(v, path: at(key))
  }

  /// An array member, each element made by `element` (given its path).
  public func array<T>(_ key: String, _ element: (JSONValue, String) throws(JSONShapeError) -> T) throws(JSONShapeError) -> [T]? {
    guard let v = try member(key) else { return nil }
    guard case .array(let items) = v else { throw JSONShapeError(at(key), "expected an array") }
    var out: [T] = []
    out.reserveCapacity(items.count)
    for (n, item) in items.enumerated() { out.append(try element(item, "\(at(key))[\(n)]")) }
    return out
  }

  /// An object member whose values are all strings (annotations, labels).
  public func stringMap(_ key: String) throws(JSONShapeError) -> [String: String]? {
    guard let o = try object(key) else { return nil }
    var out: [String: String] = [:]
    for (k, v) in o.members {
      guard case .string(let s) = v else { throw JSONShapeError(o.at(k), "expected a string") }
      out[k] = s
    }
    return out
  }

  public func strings(_ key: String) throws(JSONShapeError) -> [String]? {
    try array(key) { (v, path) throws(JSONShapeError) -> String in
      guard case .string(let s) = v else { throw JSONShapeError(path, "expected a string") }
      return s
    }
  }
}
