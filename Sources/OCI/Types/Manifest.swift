import Basics
import FoundationEssentials

/// A manifest as the registry served it: the exact bytes (so a re-PUT is byte-identical and
/// the digest stays), its media type and digest, and the parsed structure.
public struct RawManifest: Sendable, Equatable {
  public let bytes: Data
  public let mediaType: String
  public let digest: Digest
  public let content: ManifestContent

  /// - Throws: ``ManifestError`` for schema 1, unknown types, or bytes that do not decode.
  public init(bytes: Data, mediaType headerType: String?) throws(ManifestError) {
    let document: ManifestDocument
    let json: JSONValue
    do throws(JSONParseError) { json = try JSONValue.parse(bytes: bytes) } catch { throw ManifestError.undecodable(error.description) }
    do throws(JSONShapeError) { document = try ManifestDocument(json: json) } catch { throw ManifestError.undecodable(error.description) }
    let type = document.mediaType ?? headerType?.split(separator: ";").first.map(String.init) ?? ""
    // The type goes back out as the Content-Type of the manifest's PUT: text, one line.
    guard type.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F }) else { throw ManifestError.undecodable("mediaType holds control characters") }
    if MediaType.isSchema1(type) || document.schemaVersion == 1 {
      throw ManifestError.schema1
    }
    self.bytes = bytes
    self.mediaType = type
    self.digest = Digest.sha256(bytes)
    if MediaType.isIndex(type) || (type.isEmpty && document.manifests != nil) {
      content = .index(manifests: document.manifests ?? [], subject: document.subject)
    } else if MediaType.isImage(type) || (type.isEmpty && document.config != nil) || document.config != nil {
      guard let config = document.config else { throw ManifestError.undecodable("image manifest without config") }
      content = .image(config: config, layers: document.layers ?? [], subject: document.subject, artifactType: document.artifactType)
    } else {
      throw ManifestError.unsupported(type)
    }
  }

  public var descriptor: Descriptor { Descriptor(mediaType: mediaType, digest: digest, size: Int64(bytes.count)) }
  public var isIndex: Bool { if case .index = content { true } else { false } }
}

/// What a manifest points at.
public enum ManifestContent: Sendable, Equatable {
  case image(config: Descriptor, layers: [Descriptor], subject: Descriptor?, artifactType: String?)
  case index(manifests: [Descriptor], subject: Descriptor?)
}

/// The union of image manifest and index fields (OCI 1.1 `artifactType`, `subject` included).
struct ManifestDocument {
  var schemaVersion: Int64?
  var mediaType: String?
  var artifactType: String?
  var config: Descriptor?
  var layers: [Descriptor]?
  var manifests: [Descriptor]?
  var subject: Descriptor?
  var annotations: [String: String]?

  /// Read by hand from the parsed value (see ``JSONValue/parse(bytes:)`` for why).
  init(json: JSONValue) throws(JSONShapeError) {
    let o = try JSONObject(json)
    schemaVersion = try o.int64("schemaVersion")
    mediaType = try o.string("mediaType")
    artifactType = try o.string("artifactType")
    config = try o.object("config").map { (c) throws(JSONShapeError) in try Descriptor(c) }
    layers = try o.array("layers", Descriptor.init(json:path:))
    manifests = try o.array("manifests", Descriptor.init(json:path:))
    subject = try o.object("subject").map { (c) throws(JSONShapeError) in try Descriptor(c) }
    annotations = try o.stringMap("annotations")
  }
}

public enum ManifestError: Error, Sendable, Equatable, CustomStringConvertible {
  case schema1
  case unsupported(String)
  case undecodable(String)

  public var description: String {
    switch self {
    case .schema1: "Docker schema 1 manifests are not supported (deprecated since 2017); push the image again with a current Docker or buildx"
    case .unsupported(let t): "unsupported manifest media type '\(t.clipped(to: 200))'"
    case .undecodable(let why): "manifest does not decode: \(why)"
    }
  }
}

/// The parts of an image config Gantry validates.
public struct ImageConfig: Sendable {
  public var architecture: String?
  public var os: String?
  public var labels: [String: String]

  /// Decodes a config blob ([image-spec config.md](https://github.com/opencontainers/image-spec/blob/main/config.md)):
  /// `architecture`, `os` and `config.Labels`; the rest is not read.
  public init(bytes: some Collection<UInt8>) throws(JSONShapeError) {
    let json: JSONValue
    do throws(JSONParseError) { json = try JSONValue.parse(bytes: bytes) } catch { throw JSONShapeError("", error.description) }
    let o = try JSONObject(json)
    architecture = try o.string("architecture")
    os = try o.string("os")
    labels = try o.object("config")?.stringMap("Labels") ?? [:]
  }
}
