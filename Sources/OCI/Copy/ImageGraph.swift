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

  /// Loads the graph from a registry. Nested indexes are followed.
  public static func load(from client: RegistryClient, repository: String, root: RawManifest) async throws -> ImageGraph {
    var children: [RawManifest] = []
    var platforms: [Digest: Platform] = [:]
    var level: [Descriptor] = []
    if case .index(let manifests, _) = root.content { level = manifests }
    var seen = Set<Digest>()
    // Level by level, each level's manifests fetched several at once (a far registry: round trips).
    while !level.isEmpty {
      let fresh = level.filter { seen.insert($0.digest).inserted }
      let fetched = try await boundedMap(fresh, concurrency: 8) { try await client.manifest(repository, $0.digest.description) }
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
