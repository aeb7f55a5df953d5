import Foundation
import HTTP

/// Promotion history kept in the target repository itself: one small OCI artifact per event
/// (`subject` = the image, one JSON blob), under a tag that sorts by time. Any OCI tool can
/// read it (`skopeo inspect --raw docker://repo:gantry-production-…`).
public struct History: Sendable {
  public let client: RegistryClient
  public let repository: String
  public let environment: String

  public init(client: RegistryClient, repository: String, environment: String) {
    self.client = client
    self.repository = repository
    self.environment = environment
  }

  /// A stored record and the tag it lives under.
  public struct Entry: Sendable, Equatable {
    public var tag: String
    public var record: PromotionRecord
  }

  /// Appends a record. Returns its tag.
  @discardableResult
  public func append(_ record: PromotionRecord, subject: Descriptor) async throws -> String {
    let blob = try record.encoded()
    let layer = try await client.pushBlob(repository, blob, mediaType: PromotionRecord.artifactType)
    let empty = try await client.pushBlob(repository, Data("{}".utf8), mediaType: MediaType.ociEmpty)
    let tag = PromotionRecord.tag(environment: environment, time: record.time)
    let document: [String: Any] = [
      "schemaVersion": 2, "mediaType": MediaType.ociManifest, "artifactType": PromotionRecord.artifactType,
      "config": ["mediaType": MediaType.ociEmpty, "digest": empty.digest.description, "size": empty.size],
      "layers": [["mediaType": PromotionRecord.artifactType, "digest": layer.digest.description, "size": layer.size]],
      "subject": ["mediaType": subject.mediaType, "digest": subject.digest.description, "size": subject.size],
      "annotations": [
        "org.opencontainers.image.created": ISO8601DateFormatter().string(from: record.time),
        "dev.gantry.environment": environment, "dev.gantry.state": record.state.rawValue,
      ],
    ]
    let bytes = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])
    let manifest = try RawManifest(bytes: bytes, mediaType: MediaType.ociManifest)
    try await client.putManifest(repository, tag, manifest)
    return tag
  }

  /// The environment's records, newest first (at most `limit`).
  public func entries(limit: Int = 100) async throws -> [Entry] {
    let prefix = PromotionRecord.tagPrefix(environment)
    let tags = try await client.tags(repository).filter { $0.hasPrefix(prefix) }.sorted(by: >).prefix(limit)
    // Two small requests per record: read several records at once.
    let client = self.client
    let repository = self.repository
    let entries = try await boundedMap(Array(tags), concurrency: 8) { tag -> Entry? in
      let manifest = try await client.manifest(repository, tag)
      guard case .image(_, let layers, _, _) = manifest.content, let layer = layers.first(where: { $0.mediaType == PromotionRecord.artifactType }) else { return nil }
      let data = try await client.blob(repository, layer.digest, limit: 1 << 20)
      return (try? PromotionRecord.decode(data)).map { Entry(tag: tag, record: $0) }
    }
    return entries.compactMap { $0 }
  }

  /// Digests rolled back from this environment, with the record tag that says so.
  public static func quarantined(_ entries: [Entry]) -> [Digest: String] {
    var out: [Digest: String] = [:]
    for e in entries where e.record.state == .rolledBack { out[e.record.digest] = out[e.record.digest] ?? e.tag }
    return out
  }

  /// Rollback candidates, best first: completed promotions of images other than `current`,
  /// newest first, each digest once, quarantined ones left out.
  public static func candidates(_ entries: [Entry], current: Digest?) -> [Entry] {
    let bad = quarantined(entries)
    var seen = Set<Digest>()
    return entries.filter { e in
      e.record.state == .completed && e.record.digest != current && bad[e.record.digest] == nil && seen.insert(e.record.digest).inserted
    }
  }
}
