import Basics
import HTTP

/// Everything one image (or index) references, fetched and ready to validate or copy:
/// child manifests before the root, blobs deduplicated.
public struct ImageGraph: Sendable {
  public let root: RawManifest
  /// Child manifests of an index, in index order (empty for a single image).
  public let children: [RawManifest]
  /// The platform of each child (from the index), when given.
  public let platforms: [Digest: Platform]

  public init(root: RawManifest, children: [RawManifest], platforms: [Digest: Platform]) {
    self.root = root
    self.children = children
    self.platforms = platforms
  }

  /// The image manifests (the root for a single image, else the children that are images).
  public var images: [RawManifest] {
    root.isIndex ? children.filter { !$0.isIndex } : [root]
  }

  /// The digests of the image configs (read whole by validation, put from memory by the copy).
  public var configDigests: Set<Digest> {
    Set(images.compactMap { image -> Digest? in if case .image(let config, _, _, _) = image.content { config.digest } else { nil } })
  }

  /// Every blob (configs and layers), each once, in first-seen order.
  public var blobs: [Descriptor] {
    var seen = Set<Digest>()
    var out: [Descriptor] = []
    for m in [root] + children {
      if case .image(let config, let layers, _, _) = m.content {
        for d in [config] + layers where seen.insert(d.digest).inserted { out.append(d) }
      }
    }
    return out
  }

  /// What a registry can make Gantry hold for one image. Real images have tens of manifests
  /// (a platform's image and its attestation manifest each) and indexes nest once or twice;
  /// a hostile registry could otherwise list digests of manifests it makes up on the fly,
  /// 4 MiB each, until memory runs out.
  public struct Limits: Sendable {
    /// Child manifests, over every level.
    public var manifests = 1000
    /// Indexes within indexes below the root.
    public var depth = 4
    /// The child manifests' bytes, together.
    public var bytes = 64 << 20
    /// A total shared by several loads (a release's images, and their attachments): they
    /// count together against `bytes`. Nil: each load counts on its own.
    public var tally: ByteTally?

    public init() {}

    /// `bytes` for a message: "64 MiB".
    var bytesText: String { bytes >= 1 << 20 ? "\(bytes >> 20) MiB" : "\(bytes) bytes" }
  }

  /// Loads the graph from a registry. Nested indexes are followed, within ``Limits``.
  /// - Throws: `RegistryError.invalidResponse` naming the registry and the limit when the
  ///   index lists more than ``Limits`` allow (checked before the manifests are fetched).
  public static func load(from client: RegistryClient, repository: String, root: RawManifest, limits: Limits = Limits()) async throws -> ImageGraph {
    var children: [RawManifest] = []
    var platforms: [Digest: Platform] = [:]
    var level: [Descriptor] = []
    if case .index(let manifests, _) = root.content { level = manifests }
    var seen = Set<Digest>()
    var depth = 0
    let tally = limits.tally ?? ByteTally()
    @Sendable func refuse(_ why: String) -> RegistryError {
      .invalidResponse(registry: client.registry, why: "the index \(root.digest.short) in \(repository) \(why); Gantry refuses images this large")
    }
    // Level by level, each level's manifests fetched several at once (a far registry: round trips).
    while !level.isEmpty {
      depth += 1
      guard depth <= limits.depth + 1 else { throw refuse("nests indexes more than \(limits.depth) deep") }
      let fresh = level.filter { seen.insert($0.digest).inserted }
      guard children.count + fresh.count <= limits.manifests else { throw refuse("lists more than \(limits.manifests) manifests") }
      // Counted as they arrive: at most 8 manifests past the limit are ever held.
      let fetched = try await boundedMap(fresh, concurrency: 8) { d in
        let m = try await client.manifest(repository, d.digest.description)
        guard tally.add(m.bytes.count) <= limits.bytes else { throw refuse("holds more than \(limits.bytesText) of manifests") }
        return m
      }
      level = []
      for (d, child) in zip(fresh, fetched) {
        if let p = d.platform { platforms[d.digest] = p }
        children.append(child)
        if case .index(let more, _) = child.content { level += more }
      }
    }
    return ImageGraph(root: root, children: children, platforms: platforms)
  }
}
