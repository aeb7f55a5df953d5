import Basics
import Crypto
import FoundationEssentials

/// A content digest, `sha256:<64 lower-case hex>`
/// ([image-spec descriptor.md#digests](https://github.com/opencontainers/image-spec/blob/main/descriptor.md#digests)).
/// Only sha256 is accepted: it is what every registry Gantry targets uses.
public struct Digest: Sendable, Hashable, Codable, CustomStringConvertible {
  public let hex: String
  public var algorithm: String { "sha256" }
  public var description: String { "sha256:\(hex)" }

  public init(parsing text: String) throws(ReferenceError) {
    guard text.hasPrefix("sha256:") else {
      let algo = text.split(separator: ":").first.map(String.init) ?? text
      throw ReferenceError(text: text, reason: text.contains(":") ? "digest algorithm '\(algo.clipped(to: 40))' is not supported; only sha256" : "a digest looks like sha256:<64 hex digits>")
    }
    let hex = text.dropFirst(7)
    // Bytes, not Characters: `Character.isHexDigit` holds for the fullwidth digits and
    // letters too (U+FF10…), which no registry would find.
    guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
      throw ReferenceError(text: text, reason: "sha256 digests have 64 lower-case hex digits")
    }
    self.hex = String(hex)
  }

  /// The digest of exactly these bytes.
  public static func sha256(_ data: Data) -> Digest {
    Digest(hex: Format.hex(SHA256.hash(data: data)))
  }

  private init(hex: String) { self.hex = hex }

  public var short: String { "sha256:\(hex.prefix(12))" }

  public init(from decoder: any Decoder) throws {
    let text = try decoder.singleValueContainer().decode(String.self)
    do { self = try Digest(parsing: text) } catch {
      throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
    }
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(description)
  }
}

/// A reference or digest that cannot be parsed.
public struct ReferenceError: Error, Sendable, Equatable, CustomStringConvertible {
  public var text: String
  public var reason: String
  public var description: String { "'\(text.clipped(to: 200))' is not a valid image reference: \(reason)" }
}
