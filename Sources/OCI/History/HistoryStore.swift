import Basics
import FoundationEssentials
import HTTP

/// A record as stored: the tag it lives under and what it says.
public struct HistoryEntry: Sendable, Equatable {
  public var tag: String
  public var record: PromotionRecord

  public init(tag: String, record: PromotionRecord) {
    self.tag = tag
    self.record = record
  }
}

/// A record that could not be used, and why (one warning each; never fatal).
public struct SkippedRecord: Error, Sendable, Equatable, CustomStringConvertible {
  public var tag: String
  public var why: String
  public var description: String { "history record \(tag) skipped: \(why)" }
}

/// The registry side of history: record artifacts written and read in one repository.
///
/// A record is an OCI image manifest with `artifactType` = ``PromotionRecord/artifactType``,
/// the empty config, one layer (the record's JSON), `subject` = the image, and annotations
/// `dev.gantry.environment` / `dev.gantry.state`. On registries without the referrers API the
/// store also adds each rolled-back record to the image's `sha256-<hex>` fallback index, so
/// "was this image rolled back" (quarantine) is one request on every registry.
public struct HistoryStore: Sendable {
  public let client: RegistryClient
  public let repository: String
  private let referrersAPI = Flag()
  /// Earlier records found unindexed, waiting for this run's first write (``indexPending()``).
  private let pending = PendingIndex()
  /// The empty config blob is in the repository (pushed or found once per store).
  private let emptyBlobThere = Flag()

  public init(client: RegistryClient, repository: String) {
    self.client = client
    self.repository = repository
  }

  static let environmentAnnotation = "dev.gantry.environment"
  static let stateAnnotation = "dev.gantry.state"
  static let tagAnnotation = "dev.gantry.tag"

  /// The names of the record tags whose key is `key` (one tag listing).
  ///
  /// A listing can hold 10,000 record tags, so each is only checked for its prefix and length
  /// here (no parsing, no sorting); callers take them newest first from ``RecordNames`` and
  /// parse (``RecordTag``) just the ones they read.
  func recordTags(key: String) async throws -> RecordNames { Self.recordTags(in: try await client.tags(repository), key: key) }

  /// The record tags whose key is `key` among `listing` (every tag of the repository).
  static func recordTags(in listing: [String], key: String) -> RecordNames {
    let prefix = "gantry-\(key)-"
    let length = prefix.utf8.count + RecordTag.tailLength - 1
    return RecordNames(listing.filter { $0.utf8.count == length && $0.hasPrefix(prefix) })
  }

  /// Every tag of the repository (one listing, whose record tags ``recordTags(in:key:)`` picks).
  func listing() async throws -> [String] { try await client.tags(repository) }

  /// Reads one record; a damaged one (manifest or blob gone, too large, not JSON, a future
  /// format) is returned as skipped. Only transient registry trouble throws.
  func read(_ tag: String) async throws -> Result<PromotionRecord, SkippedRecord> {
    let skip = { (why: String) in Result<PromotionRecord, SkippedRecord>.failure(SkippedRecord(tag: tag, why: why)) }
    let manifest: RawManifest
    do {
      guard let m = try await client.manifestIfPresent(repository, tag) else { return skip("its manifest is gone") }
      manifest = m
    } catch let e as RegistryError where !e.isTransient {
      return skip("its manifest cannot be read (\(e))")
    } catch is ManifestError {
      return skip("its manifest is not an OCI manifest")
    }
    guard case .image(_, let layers, _, _) = manifest.content, let layer = layers.first(where: { $0.mediaType == PromotionRecord.artifactType }) else {
      return skip("it has no \(PromotionRecord.artifactType) layer")
    }
    guard layer.size <= Int64(PromotionRecord.sizeLimit) else { return skip("its record is \(layer.size) bytes, over the \(PromotionRecord.sizeLimit)-byte limit") }
    let data: Data
    do {
      data = try await client.blob(repository, layer.digest, limit: PromotionRecord.sizeLimit)
    } catch let e as RegistryError where !e.isTransient {
      if case .notFound = e { return skip("its record blob \(layer.digest.short) is gone") }
      return skip("its record blob cannot be read (\(e))")
    } catch let e as RegistryError {
      throw e
    } catch let e as CancellationError {
      // The stage ran out of time: the record is not damaged.
      throw e
    } catch {
      return skip("its record blob cannot be read (\(error))")
    }
    do throws(PromotionRecord.DecodeError) { return .success(try PromotionRecord.decode(data)) } catch { return skip(error.description) }
  }

  /// Stores `record` under `tag` (default: a fresh one, made from its environment and time)
  /// and indexes it under its subject. Returns the tag. Writing the same record under the
  /// same tag again changes nothing: a write whose answer was lost can be repeated.
  func write(_ record: PromotionRecord, subject: Descriptor, tag chosen: String? = nil) async throws -> String {
    let blob = try record.encoded()
    // A record's JSON names its run and time to the millisecond: no registry has it yet, so
    // it goes up without asking first.
    let layer = try await client.pushBlob(repository, blob, mediaType: PromotionRecord.artifactType, askFirst: false)
    let empty = try await emptyBlob()
    let tag = chosen ?? RecordTag.make(environment: record.environment, time: record.time)
    let annotations = [
      "org.opencontainers.image.created": RecordTime.iso(record.time), Self.environmentAnnotation: record.environment, Self.stateAnnotation: record.state.rawValue,
      Self.tagAnnotation: tag,
    ]
    let document: JSONValue = [
      "schemaVersion": 2, "mediaType": .string(MediaType.ociManifest), "artifactType": .string(PromotionRecord.artifactType),
      "config": ["mediaType": .string(MediaType.ociEmpty), "digest": .string(empty.digest.description), "size": .int(empty.size)],
      "layers": [["mediaType": .string(PromotionRecord.artifactType), "digest": .string(layer.digest.description), "size": .int(layer.size)]],
      "subject": ["mediaType": .string(subject.mediaType), "digest": .string(subject.digest.description), "size": .int(subject.size)],
      "annotations": .object(annotations.mapValues { .string($0) }),
    ]
    let bytes = try document.serialized()
    let manifest = try RawManifest(bytes: bytes, mediaType: MediaType.ociManifest)
    try await client.putManifest(repository, tag, manifest)
    // Quarantine asks the index for rolled-back records only; indexing the others too would
    // cost three requests per record (read, write, read back) for nobody.
    if record.state == .rolledBack, try await hasReferrersAPI(subject.digest) == false {
      let entry = Descriptor(mediaType: MediaType.ociManifest, digest: manifest.digest, size: Int64(bytes.count), annotations: annotations, artifactType: PromotionRecord.artifactType)
      try await addToFallbackIndex(entry, subject: subject.digest)
    }
    return tag
  }

  /// The tag that says ``indexEarlierRecords(key:environment:)`` ran for an environment key
  /// (outside the record tags' `gantry-` prefix, within the tag grammar for every key).
  public static func indexedMarker(_ key: String) -> String { "gantry_indexed-\(key)" }

  /// A rolled-back record written by Gantry before the fallback index was kept, and the index
  /// entry it should have.
  struct EarlierRecord: Sendable {
    var tag: String
    var record: PromotionRecord
    var entry: Descriptor
  }

  /// Records written by Gantry before the fallback index was kept are not in it: on a
  /// registry without the referrers API a rolled-back one would drop out of the quarantine
  /// check once it is no longer among the newest records. Until a marker tag says they were
  /// indexed (``indexEarlier(_:key:environment:)``), every record of the environment is read
  /// and the rolled-back ones returned. Nil when there is nothing to look at: the registry
  /// has the referrers API, or the environment was indexed. Reads only. `listing`: every tag
  /// of the repository, listed moments ago (by validation's read of the newest records): it
  /// says whether the marker is there and which records exist, without asking again (a marker
  /// a listing missed only costs the one-time read again).
  func earlierRolledBack(key: String, environment: String, listing: [String]? = nil) async throws -> [EarlierRecord]? {
    guard try await hasReferrersAPI(Digest.sha256(Data("{}".utf8))) == false else { return nil }
    var names: RecordNames
    if let listing {
      if listing.contains(Self.indexedMarker(key)) { return nil }
      names = Self.recordTags(in: listing, key: key)
    } else {
      if try await client.resolve(repository, Self.indexedMarker(key)) != nil { return nil }
      names = try await recordTags(key: key)
    }
    var out: [EarlierRecord] = []
    let client = self.client
    let repository = self.repository
    while true {
      let batch = names.next(64)
      if batch.isEmpty { break }
      out += try await boundedMap(batch, concurrency: 8) { name -> EarlierRecord? in
        guard case .success(let r) = try await self.read(name), r.environment == environment, r.state == .rolledBack,
          let m = try await client.manifestIfPresent(repository, name)
        else { return nil }
        let annotations = [Self.environmentAnnotation: r.environment, Self.stateAnnotation: r.state.rawValue, Self.tagAnnotation: name]
        let entry = Descriptor(mediaType: MediaType.ociManifest, digest: m.digest, size: Int64(m.bytes.count), annotations: annotations, artifactType: PromotionRecord.artifactType)
        return EarlierRecord(tag: name, record: r, entry: entry)
      }.compactMap { $0 }
    }
    return out
  }

  /// Adds `earlier` to their images' fallback indexes and leaves the marker tag, once per
  /// environment, so that later runs ask the indexes alone.
  func indexEarlier(_ earlier: [EarlierRecord], key: String, environment: String) async throws {
    for e in earlier { try await addToFallbackIndex(e.entry, subject: e.record.digest) }
    let blob = try await emptyBlob()
    let emptyDescriptor: JSONValue = ["mediaType": .string(MediaType.ociEmpty), "digest": .string(blob.digest.description), "size": .int(blob.size)]
    let document: JSONValue = [
      "schemaVersion": 2, "mediaType": .string(MediaType.ociManifest), "artifactType": "application/vnd.gantry.history-indexed.v1+json",
      "config": emptyDescriptor, "layers": [emptyDescriptor], "annotations": .object([Self.environmentAnnotation: .string(environment)]),
    ]
    let bytes = try document.serialized()
    try await client.putManifest(repository, Self.indexedMarker(key), try RawManifest(bytes: bytes, mediaType: MediaType.ociManifest))
  }

  /// Keeps `earlier` to be indexed by ``indexPending()``: the indexing is a write, and a run
  /// writes nothing until its checks passed.
  func deferIndexing(_ earlier: [EarlierRecord], key: String, environment: String) {
    pending.set((earlier, key, environment))
  }

  /// Indexes what ``deferIndexing(_:key:environment:)`` kept, once.
  func indexPending() async throws {
    guard let (earlier, key, environment) = pending.take() else { return }
    try await indexEarlier(earlier, key: key, environment: environment)
  }

  /// The empty config (`{}`) every record manifest names, pushed unless there: asked once per
  /// store, so a release's intent and completed records of an image cost no request for it.
  private func emptyBlob() async throws -> Descriptor {
    let data = Data("{}".utf8)
    if emptyBlobThere.value == true { return Descriptor(mediaType: MediaType.ociEmpty, digest: Digest.sha256(data), size: Int64(data.count)) }
    let pushed = try await client.pushBlob(repository, data, mediaType: MediaType.ociEmpty)
    emptyBlobThere.value = true
    return pushed
  }

  /// Whether the registry answers the referrers API (asked once per store).
  private func hasReferrersAPI(_ digest: Digest) async throws -> Bool {
    if let known = referrersAPI.value { return known }
    let has = try await client.referrers(repository, digest) != nil
    referrersAPI.value = has
    return has
  }

  /// Adds `entry` to `subject`'s `sha256-<hex>` index. The index is read-modify-written, so a
  /// concurrent writer can drop our entry: read back, and merge again until it is there.
  private func addToFallbackIndex(_ entry: Descriptor, subject: Digest) async throws {
    let tag = Cosign.referrersTag(subject)
    for attempt in 0..<6 {
      // Another writer replaced the index between our read and our PUT: wait a random
      // moment (so two writers fall out of step) and merge again.
      if attempt > 1 { try await Task.sleep(for: .milliseconds(Int.random(in: 20...120))) }
      var manifests: [JSONValue] = []
      if let existing = try await client.manifestIfPresent(repository, tag) {
        manifests = JSONValue.parse(existing.bytes)?["manifests"]?.array ?? []
      }
      if manifests.contains(where: { $0["digest"]?.string == entry.digest.description }) { return }
      var item: [String: JSONValue] = [
        "mediaType": .string(entry.mediaType), "digest": .string(entry.digest.description), "size": .int(entry.size), "artifactType": .string(PromotionRecord.artifactType),
      ]
      if let a = entry.annotations { item["annotations"] = .object(a.mapValues { .string($0) }) }
      manifests.append(.object(item))
      let doc: JSONValue = ["schemaVersion": 2, "mediaType": .string(MediaType.ociIndex), "manifests": .array(manifests)]
      let bytes = try doc.serialized()
      try await client.putManifest(repository, tag, try RawManifest(bytes: bytes, mediaType: MediaType.ociIndex))
    }
    throw RegistryError.invalidResponse(registry: client.registry, why: "the referrers index \(tag) kept losing the history record \(entry.digest.short) to concurrent writers")
  }

  /// Gantry records whose subject is `digest` (referrers API, else the fallback index), as
  /// listed: digest and annotations, without reading them.
  func recordsAbout(_ digest: Digest) async throws -> [Descriptor] {
    var listed = try await client.referrers(repository, digest)
    if listed == nil {
      if let index = try await client.manifestIfPresent(repository, Cosign.referrersTag(digest)), case .index(let manifests, _) = index.content {
        listed = manifests
      }
    }
    return (listed ?? []).filter { $0.artifactType == PromotionRecord.artifactType }
  }

  /// Reads the record stored under manifest `digest` (as ``read(_:)``).
  func read(manifest digest: Digest) async throws -> Result<PromotionRecord, SkippedRecord> {
    try await read(digest.description)
  }

  /// Why the image `digest` cannot be restored (manifest, a child or a blob gone), or nil when
  /// it is whole. Blobs are asked with HEADs, all at once.
  public func missingPart(of digest: Digest) async throws -> String? {
    guard let root = try await client.manifestIfPresent(repository, digest.description) else { return "its manifest no longer exists" }
    var images: [(label: String, manifest: RawManifest)] = []
    switch root.content {
    case .image: images = [("image", root)]
    case .index(let children, _):
      let client = self.client
      let repository = self.repository
      let loaded = try await boundedMap(children, concurrency: 8) { try await client.manifestIfPresent(repository, $0.digest.description) }
      for (child, manifest) in zip(children, loaded) {
        let label = child.platform.map { "\($0)" } ?? child.digest.short
        guard let manifest else { return "its \(label) manifest \(child.digest.short) no longer exists" }
        images.append((label, manifest))
      }
    }
    var blobs: [(label: String, blob: Descriptor)] = []
    for (label, m) in images {
      if case .image(let config, let layers, _, _) = m.content {
        blobs.append(("config of \(label)", config))
        blobs += layers.map { ("layer of \(label)", $0) }
      }
    }
    let client = self.client
    let repository = self.repository
    let sizes = try await boundedMap(blobs.map(\.blob.digest), concurrency: 8) { try await client.blobSize(repository, $0) }
    if let gone = zip(blobs, sizes).first(where: { $0.1 == nil }) { return "its \(gone.0.label) \(gone.0.blob.digest.short) no longer exists" }
    return nil
  }
}

/// A value learnt once and shared by copies of a struct.
final class PendingIndex: @unchecked Sendable {
  typealias Work = (earlier: [HistoryStore.EarlierRecord], key: String, environment: String)
  private let lock = Lock()
  private var work: Work?
  func set(_ w: Work) { lock.withLock { work = w } }
  func take() -> Work? {
    lock.withLock {
      defer { work = nil }
      return work
    }
  }
}

final class Flag: @unchecked Sendable {
  private let lock = Lock()
  private var stored: Bool?
  var value: Bool? {
    get { lock.withLock { stored } }
    set { lock.withLock { stored = newValue } }
  }
}
