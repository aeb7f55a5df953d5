import Basics
import FoundationEssentials
import HTTP

/// A manifest attached to an image: a cosign tag (`sha256-<hex>.sig|.att|.sbom`) or an OCI 1.1
/// referrer (a manifest whose `subject` is the image).
public struct Attachment: Sendable, Equatable {
  public enum Kind: Sendable, Equatable {
    case tag(Cosign.Attachment)
    case referrer
  }
  public var kind: Kind
  /// The image (or platform manifest) it is attached to.
  public var subject: Digest
  public var manifest: RawManifest
  /// The referrer's descriptor as listed (artifactType, annotations), for the fallback index.
  public var descriptor: Descriptor

  /// `signature`, `attestation`, `sbom`, or `referrer <artifactType>`.
  public var label: String {
    switch kind {
    case .tag(.signature): "signature"
    case .tag(.attestation): "attestation"
    case .tag(.sbom): "sbom"
    case .referrer: "referrer \(descriptor.artifactType ?? "")".trimmingCharacters(in: .whitespaces)
    }
  }

  /// The tag it lives under (cosign kinds), nil for referrers.
  public var tag: String? {
    if case .tag(let a) = kind { Cosign.tag(subject, a) } else { nil }
  }
}

/// Finds what is attached to a set of digests in one repository: the cosign tags, and the
/// referrers through the referrers API or, where the registry has none (docker-registry 2.8,
/// Docker Hub), the `sha256-<hex>` fallback tag.
public struct AttachmentFinder: Sendable {
  public let client: RegistryClient
  public let repository: String
  /// Referrer artifact types that are not carried (Gantry's own history records stay per repository).
  public var excludedArtifactTypes: Set<String> = [PromotionRecord.artifactType]

  public init(client: RegistryClient, repository: String) {
    self.client = client
    self.repository = repository
  }

  /// What is attached to `subjects`. `tags`, when given, is every tag of the repository
  /// (``RegistryClient/allTagsInOnePage(_:pageSize:)``): only the cosign and fallback tags in it
  /// are fetched, instead of asking for each one.
  /// Bounded like an image graph (``ImageGraph/Limits``): at most `limits.manifests`
  /// attachments and `limits.bytes` of their manifests, counted as they arrive.
  public func find(for subjects: [Digest], tags: Set<String>? = nil, limits: ImageGraph.Limits = ImageGraph.Limits()) async throws -> [Attachment] {
    // Up to five lookups per subject, all at once (on a far registry these are round trips):
    // the three cosign tags, the referrers API and, in case the registry lacks it, the fallback tag.
    enum Lookup: Sendable { case tag(Digest, Cosign.Attachment), referrers(Digest), fallback(Digest) }
    enum Found: Sendable { case attachments([Attachment]), listed(Digest, [Descriptor]?), fallback(Digest, [Descriptor]?) }
    let exists = { (tag: String) in tags?.contains(tag) ?? true }
    let lookups = subjects.flatMap { s in
      Cosign.Attachment.allCases.filter { exists(Cosign.tag(s, $0)) }.map { Lookup.tag(s, $0) } + [.referrers(s)] + (exists(Cosign.referrersTag(s)) ? [.fallback(s)] : [])
    }
    let client = self.client
    let repository = self.repository
    let tally = limits.tally ?? ByteTally()
    @Sendable func refuse(_ why: String) -> RegistryError {
      .invalidResponse(registry: client.registry, why: "the attachments of \(subjects.first?.short ?? "the image") in \(repository) \(why); Gantry refuses images this large")
    }
    @Sendable func counted(_ m: RawManifest) throws -> RawManifest {
      guard tally.add(m.bytes.count) <= limits.bytes else { throw refuse("hold more than \(limits.bytesText) of manifests") }
      return m
    }
    let found = try await boundedMap(lookups, concurrency: 8) { lookup -> Found in
      switch lookup {
      case .tag(let subject, let kind):
        guard let m = try await client.manifestIfPresent(repository, Cosign.tag(subject, kind)).map(counted) else { return .attachments([]) }
        return .attachments([Attachment(kind: .tag(kind), subject: subject, manifest: m, descriptor: m.descriptor)])
      case .referrers(let subject):
        return .listed(subject, try await client.referrers(repository, subject))
      case .fallback(let subject):
        guard let index = try await client.manifestIfPresent(repository, Cosign.referrersTag(subject)).map(counted), case .index(let manifests, _) = index.content else {
          return .fallback(subject, nil)
        }
        return .fallback(subject, manifests)
      }
    }
    var attachments: [Attachment] = []
    var api: [Digest: [Descriptor]] = [:]
    var fallback: [Digest: [Descriptor]] = [:]
    for f in found {
      switch f {
      case .attachments(let a): attachments += a
      case .listed(let s, let d): if let d { api[s] = d }
      case .fallback(let s, let d): if let d { fallback[s] = d }
      }
    }
    // The API's answer where the registry has it; else the fallback index.
    let referrers = subjects.flatMap { s in (api[s] ?? fallback[s] ?? []).map { (s, $0) } }.filter { !excludedArtifactTypes.contains($0.1.artifactType ?? "") }
    guard attachments.count + referrers.count <= limits.manifests else { throw refuse("number more than \(limits.manifests)") }
    let manifests = try await boundedMap(referrers, concurrency: 8) { try counted(try await client.manifest(repository, $0.1.digest.description)) }
    for ((subject, d), m) in zip(referrers, manifests) {
      attachments.append(Attachment(kind: .referrer, subject: subject, manifest: m, descriptor: d))
    }
    return attachments
  }
}

/// What carrying one attachment did.
public struct CarriedAttachment: Sendable, Equatable {
  public var attachment: Attachment
  /// The digest now at the target (differs from the source when cosign layers were merged
  /// into signatures the target already had).
  public var targetDigest: Digest
  public var merged: Bool

  public init(attachment: Attachment, targetDigest: Digest, merged: Bool) {
    self.attachment = attachment
    self.targetDigest = targetDigest
    self.merged = merged
  }
}

/// Copies attachments next to a promoted image: blobs and manifests by digest, then the cosign
/// tag (merging layers into a tag the target already has, so no signature is lost) or, for a
/// referrer on a registry without the referrers API, an entry in the `sha256-<hex>` fallback index.
public struct AttachmentCopier: Sendable {
  /// Copies each attachment's blobs and manifests, between the same repositories as the image.
  public let copier: Copier
  var source: RegistryClient { copier.source }
  var sourceRepository: String { copier.sourceRepository }
  var target: RegistryClient { copier.target }
  var targetRepository: String { copier.targetRepository }

  public init(copier: Copier) { self.copier = copier }

  public func carry(_ attachments: [Attachment]) async throws -> [CarriedAttachment] {
    var carried: [CarriedAttachment] = []
    // Whether the target has the referrers API is one fact about the registry: asked once.
    var targetHasReferrersAPI: Bool?
    for a in attachments {
      let graph = try await ImageGraph.load(from: source, repository: sourceRepository, root: a.manifest)
      // A tagged attachment's manifest is stored by its tag PUT (or merged into the target's).
      _ = try await copier.copy(graph, pushRoot: a.tag == nil)
      if let tag = a.tag {
        carried.append(try await putTag(a, tag))
      } else {
        if targetHasReferrersAPI == nil { targetHasReferrersAPI = try await target.referrers(targetRepository, a.subject) != nil }
        if targetHasReferrersAPI == false { try await addToFallbackIndex(a) }
        carried.append(CarriedAttachment(attachment: a, targetDigest: a.manifest.digest, merged: false))
      }
    }
    return carried
  }

  private func putTag(_ a: Attachment, _ tag: String) async throws -> CarriedAttachment {
    let existing = try await target.manifestIfPresent(targetRepository, tag)
    guard let existing, existing.digest != a.manifest.digest else {
      if existing == nil { try await target.putManifest(targetRepository, tag, a.manifest) }
      return CarriedAttachment(attachment: a, targetDigest: a.manifest.digest, merged: false)
    }
    // The target has its own signatures under this tag: keep them and add ours, as `cosign sign` appends.
    let merged = try Self.mergeLayers(into: existing, from: a.manifest)
    if merged.digest != existing.digest { try await target.putManifest(targetRepository, tag, merged) }
    return CarriedAttachment(attachment: a, targetDigest: merged.digest, merged: true)
  }

  /// `base` with the layers of `extra` it lacks appended (other fields from `base`).
  static func mergeLayers(into base: RawManifest, from extra: RawManifest) throws -> RawManifest {
    guard var doc = JSONValue.parse(base.bytes)?.object, let extraDoc = JSONValue.parse(extra.bytes) else { return extra }
    let baseLayers = doc["layers"]?.array ?? []
    let have = Set(baseLayers.compactMap { $0["digest"]?.string })
    let added = (extraDoc["layers"]?.array ?? []).filter { !have.contains($0["digest"]?.string ?? "") }
    guard !added.isEmpty else { return base }
    doc["layers"] = .array(baseLayers + added)
    let bytes = try JSONValue.object(doc).serialized()
    return try RawManifest(bytes: bytes, mediaType: base.mediaType)
  }

  /// For a registry without the referrers API: the client keeps the `sha256-<hex>` index of
  /// referrers itself. (With the API, pushing the manifest with its `subject` is enough.)
  private func addToFallbackIndex(_ a: Attachment) async throws {
    let tag = Cosign.referrersTag(a.subject)
    var manifests: [JSONValue] = []
    if let existing = try await target.manifestIfPresent(targetRepository, tag) {
      manifests = JSONValue.parse(existing.bytes)?["manifests"]?.array ?? []
    }
    if manifests.contains(where: { $0["digest"]?.string == a.manifest.digest.description }) { return }
    var entry: [String: JSONValue] = ["mediaType": .string(a.manifest.mediaType), "digest": .string(a.manifest.digest.description), "size": .int(Int64(a.manifest.bytes.count))]
    if let t = a.descriptor.artifactType { entry["artifactType"] = .string(t) }
    if let ann = a.descriptor.annotations, !ann.isEmpty { entry["annotations"] = .object(ann.mapValues { .string($0) }) }
    manifests.append(.object(entry))
    let doc: JSONValue = ["schemaVersion": 2, "mediaType": .string(MediaType.ociIndex), "manifests": .array(manifests)]
    let bytes = try doc.serialized()
    try await target.putManifest(targetRepository, tag, try RawManifest(bytes: bytes, mediaType: MediaType.ociIndex))
  }
}
