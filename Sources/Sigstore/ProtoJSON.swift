import Basics
import FoundationEssentials

/// Helpers for protobuf-JSON as Sigstore writes it: 64-bit integers as strings (or numbers),
/// bytes as standard or URL-safe base64. All total: a hostile value is nil, never a trap.
enum ProtoJSON {
  /// Largest JSON document parsed (a bundle is a few KiB; an attestation bundle tens).
  static let maxDocument = 4 << 20

  static func decode<T: Decodable>(_ type: T.Type, _ data: Data, what: String) throws(SigstoreError) -> T {
    guard data.count <= maxDocument else { throw SigstoreError(.tooLarge, "\(what) is \(data.count) bytes (at most \(maxDocument))") }
    do { return try JSONDecoder().decode(T.self, from: data) } catch {
      throw SigstoreError(.malformed, "\(what) is not valid JSON of the expected shape (\(Self.short(error)))")
    }
  }

  /// A decoding error's gist (the coding path), without echoing the input.
  static func short(_ error: Error) -> String {
    switch error as? DecodingError {
    case .keyNotFound(let key, let c): return "missing \((c.codingPath + [key]).map(\.stringValue).joined(separator: "."))"
    case .typeMismatch(_, let c), .valueNotFound(_, let c): return "wrong type at \(c.codingPath.map(\.stringValue).joined(separator: "."))"
    case .dataCorrupted(let c): return c.codingPath.isEmpty ? "not JSON" : "bad value at \(c.codingPath.map(\.stringValue).joined(separator: "."))"
    default: return "not JSON"
    }
  }

  static func base64(_ s: String) -> Data? {
    if let d = Data(base64Encoded: s) { return d }
    // Line breaks are skipped, as Go's and Python's decoders do (`base64` wraps at 76 columns,
    // and sigstore-conformance has such a timestamp).
    let s = s.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) ? String(s.unicodeScalars.filter { $0 != "\n" && $0 != "\r" }) : s
    if let d = Data(base64Encoded: s) { return d }
    var t = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    let pad = (4 - t.utf8.count % 4) % 4
    if pad < 3 { t += String(repeating: "=", count: pad) }
    return Data(base64Encoded: t)
  }
}

/// An int64 written as a JSON string or number.
struct Int64String: Decodable, Sendable, Equatable {
  var value: Int64
  init(_ v: Int64) { value = v }
  init(from decoder: Decoder) throws {
    let c = try decoder.singleValueContainer()
    if let n = try? c.decode(Int64.self) {
      value = n
    } else {
      let s = try c.decode(String.self)
      guard let n = Int64(s) else { throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an integer") }
      value = n
    }
  }
}

/// Bytes written as base64 (standard or URL-safe).
struct Base64Bytes: Decodable, Sendable, Equatable {
  var data: Data
  init(_ d: Data) { data = d }
  init(from decoder: Decoder) throws {
    let c = try decoder.singleValueContainer()
    let s = try c.decode(String.self)
    guard let d = ProtoJSON.base64(s) else { throw DecodingError.dataCorruptedError(in: c, debugDescription: "not base64") }
    data = d
  }
}

extension Data {
  var hexString: String { Format.hex(self) }

  init?(hex: String) {
    let u = Array(hex.utf8)
    guard u.count % 2 == 0 else { return nil }
    var out = Data(capacity: u.count / 2)
    func v(_ c: UInt8) -> UInt8? {
      switch c {
      case 48...57: c &- 48
      case 97...102: c &- 87
      case 65...70: c &- 55
      default: nil
      }
    }
    var i = 0
    while i + 1 < u.count {
      guard let h = v(u[i]), let l = v(u[i + 1]) else { return nil }
      out.append(h << 4 | l)
      i += 2
    }
    self = out
  }
}
