import Basics

/// A content descriptor ([image-spec descriptor.md](https://github.com/opencontainers/image-spec/blob/main/descriptor.md)).
public struct Descriptor: Sendable, Hashable, Codable {
  public var mediaType: String
  public var digest: Digest
  public var size: Int64
  public var platform: Platform?
  public var annotations: [String: String]?
  public var artifactType: String?

  public init(mediaType: String, digest: Digest, size: Int64, platform: Platform? = nil, annotations: [String: String]? = nil, artifactType: String? = nil) {
    self.mediaType = mediaType
    self.digest = digest
    self.size = size
    self.platform = platform
    self.annotations = annotations
    self.artifactType = artifactType
  }
}

extension Descriptor {
  /// Read by hand from a parsed manifest (see ``JSONValue/parse(bytes:)`` for why).
  init(_ o: JSONObject) throws(JSONShapeError) {
    let digestText = try o.requiredString("digest")
    let digest: Digest
    do { digest = try Digest(parsing: digestText) } catch { throw JSONShapeError(o.path.isEmpty ? "digest" : "\(o.path).digest", error.description) }
    guard let size = try o.int64("size") else { throw JSONShapeError(o.path.isEmpty ? "size" : "\(o.path).size", "missing") }
    self.init(
      mediaType: try o.requiredString("mediaType"), digest: digest, size: size, platform: try o.object("platform").map { (p) throws(JSONShapeError) in try Platform(p) },
      annotations: try o.stringMap("annotations"), artifactType: try o.string("artifactType"))
  }

  init(json: JSONValue, path: String) throws(JSONShapeError) {
    try self.init(JSONObject(json, path: path))
  }
}

/// ([image-spec image-index.md#platform](https://github.com/opencontainers/image-spec/blob/main/image-index.md)).
public struct Platform: Sendable, Hashable, Codable, CustomStringConvertible {
  public var architecture: String
  public var os: String
  public var variant: String?
  public var osVersion: String?

  enum CodingKeys: String, CodingKey {
    case architecture, os, variant
    case osVersion = "os.version"
  }

  init(_ o: JSONObject) throws(JSONShapeError) {
    self.init(os: try o.requiredString("os"), architecture: try o.requiredString("architecture"), variant: try o.string("variant"))
    osVersion = try o.string("os.version")
  }

  public init(os: String, architecture: String, variant: String? = nil) {
    self.os = os
    self.architecture = architecture
    self.variant = variant
  }

  /// `os/arch[/variant]`, as docker's `--platform`.
  public var description: String { [os, architecture, variant].compactMap { $0 }.joined(separator: "/") }

  public init?(parsing text: String) {
    let p = text.split(separator: "/").map(String.init)
    guard p.count == 2 || p.count == 3, p.allSatisfy({ !$0.isEmpty }) else { return nil }
    self.init(os: p[0], architecture: p[1], variant: p.count == 3 ? p[2] : nil)
  }

  /// Whether `other` (from an index) satisfies this requested platform; a missing variant matches any.
  public func matches(_ other: Platform) -> Bool {
    os == other.os && architecture == other.architecture && (variant == nil || variant == other.variant)
  }
}

extension Descriptor {
  /// The sum of the descriptors' sizes, or nil when one is negative or the sum passes
  /// `Int64.max`: sizes are the registry's numbers, and two near 2^63 must not trap.
  public static func totalSize(_ descriptors: some Sequence<Descriptor>) -> Int64? {
    var total: Int64 = 0
    for d in descriptors {
      guard d.size >= 0 else { return nil }
      let (sum, overflow) = total.addingReportingOverflow(d.size)
      guard !overflow else { return nil }
      total = sum
    }
    return total
  }
}

extension Int64 {
  /// `self + other`, held at `Int64.max`/`.min` instead of trapping (byte counts built from
  /// a registry's sizes).
  public func addingSaturating(_ other: Int64) -> Int64 {
    let (sum, overflow) = addingReportingOverflow(other)
    return overflow ? (other > 0 ? .max : .min) : sum
  }
}
