import Basics
import FoundationEssentials

/// What Gantry puts in a deployment's `payload`, so the Environments page and the API say
/// which digests an environment runs. Two shapes:
/// - one image (a single promotion or rollback): `{digest, image (target@digest), tags, run, tool}`;
/// - a release (a set of images promoted together): `{release, images: [{image (target
///   repository), digest, tags}], images_total, run, tool}`; the deployment a release's rollback
///   makes names the release undone as `rolled_back_release` instead of `release`.
///
/// Read back leniently: deployments made by other tools carry other payloads (or a string),
/// which decode as "not Gantry's". A release payload counts as Gantry's only with
/// `"tool": "gantry"`, since other tools may well use a `release` key.
public struct DeploymentPayload: Sendable, Equatable, Decodable {
  /// One image of a release's payload.
  public struct Image: Sendable, Equatable, Decodable {
    /// The target repository.
    public var image: String
    /// The manifest digest deployed (`sha256:…`).
    public var digest: String
    /// The tags the stage put on it; nil when left out to keep the payload small.
    public var tags: [String]?

    public init(image: String, digest: String, tags: [String]?) {
      self.image = image
      self.digest = digest
      self.tags = tags
    }

    var json: JSONValue {
      var o: [String: JSONValue] = ["image": .string(image), "digest": .string(digest)]
      if let tags { o["tags"] = .array(tags.map { .string($0) }) }
      return .object(o)
    }
  }

  /// One image: the manifest digest deployed (`sha256:…`). Nil for a release.
  public var digest: String?
  /// One image: target@digest. Nil for a release.
  public var image: String?
  /// One image: the tags the stage put on it.
  public var tags: [String]
  /// A release: its id (promote's `release-id`).
  public var release: String?
  /// A release's rollback: the id of the release undone.
  public var rolledBackRelease: String?
  /// A release: its images (all of them, unless ``imagesTotal`` says more).
  public var images: [Image]
  /// A release: how many images it has (more than ``images`` when the list was cut to fit).
  public var imagesTotal: Int?
  /// The run that made the deployment (its URL), when known.
  public var run: String?

  enum CodingKeys: String, CodingKey {
    case digest, image, tags, release, images, run, tool
    case rolledBackRelease = "rolled_back_release"
    case imagesTotal = "images_total"
  }

  /// One image's payload.
  public init(digest: String, image: String, tags: [String], run: String?) {
    self.digest = digest
    self.image = image
    self.tags = tags
    self.images = []
    self.run = run
  }

  /// A release's payload (`rolledBack` false) or its rollback's (`rolledBack` true: `images`
  /// are the images restored).
  public init(release: String, rolledBack: Bool = false, images: [Image], run: String?) {
    self.release = rolledBack ? nil : release
    self.rolledBackRelease = rolledBack ? release : nil
    self.images = images
    self.imagesTotal = images.count
    self.tags = []
    self.run = run
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    run = try? c.decodeIfPresent(String.self, forKey: .run)
    // Gantry has written `"tool": "gantry"` in both shapes from the start; another tool's
    // `{digest, image, tags}` is not Gantry's (a rollback would mark it failure).
    guard (try? c.decode(String.self, forKey: .tool)) == "gantry" else {
      throw DecodingError.dataCorruptedError(forKey: .tool, in: c, debugDescription: "not Gantry's payload")
    }
    if let digest = try? c.decode(String.self, forKey: .digest) {
      // One image.
      self.digest = digest
      image = try c.decode(String.self, forKey: .image)
      tags = try c.decode([String].self, forKey: .tags)
      images = []
      return
    }
    release = try c.decodeIfPresent(String.self, forKey: .release)
    rolledBackRelease = try c.decodeIfPresent(String.self, forKey: .rolledBackRelease)
    guard release != nil || rolledBackRelease != nil else {
      throw DecodingError.dataCorruptedError(forKey: .release, in: c, debugDescription: "neither an image nor a release")
    }
    images = try c.decode([Image].self, forKey: .images)
    imagesTotal = try? c.decodeIfPresent(Int.self, forKey: .imagesTotal)
    tags = []
  }

  /// Whether `other` (a deployment's payload as listed) names the same images at the same
  /// digests as this one: a re-run reuses only the deployment of what it deploys, not another
  /// one that carries the same release id. Call it on the payload as sent
  /// (``bounded(maxBytes:)``), once for every deployment listed.
  public func deploysSameImages(as other: DeploymentPayload) -> Bool {
    func pairs(_ p: DeploymentPayload) -> [String] { p.images.map { "\($0.image)@\($0.digest)" }.sorted() }
    return other.digest == nil && other.imagesTotal == (imagesTotal ?? images.count) && pairs(other) == pairs(self)
  }

  /// The JSON object sent as `payload`.
  var json: JSONValue {
    var o: [String: JSONValue] = ["tool": "gantry"]
    if let digest {
      o["digest"] = .string(digest)
      o["image"] = .string(image ?? "")
      o["tags"] = .array(tags.map { .string($0) })
    } else {
      if let release { o["release"] = .string(release) }
      if let rolledBackRelease { o["rolled_back_release"] = .string(rolledBackRelease) }
      o["images"] = .array(images.map(\.json))
      o["images_total"] = .int(Int64(imagesTotal ?? images.count))
    }
    if let run { o["run"] = .string(run) }
    return .object(o)
  }

  /// The size of ``json`` as the client sends it (sorted keys, escaped slashes).
  var encodedSize: Int { Self.size(json) }

  /// GitHub stores a payload with its deployment and answers it in every listing; a release of
  /// hundreds of images would make a large one. A safe size well below what GitHub accepts.
  public static let maxBytes = 60_000

  /// This payload, fitted into `maxBytes` of JSON: when every image with its tags does not fit,
  /// the tags are left out (digests only); when the digests still do not fit, the list is cut
  /// (``imagesTotal`` keeps the count). A release is still found by its id either way.
  /// - Returns: the payload to send, and what was left out (nil when nothing was).
  public func bounded(maxBytes: Int = Self.maxBytes) -> (payload: DeploymentPayload, leftOut: String?) {
    guard digest == nil, encodedSize > maxBytes else { return (self, nil) }
    var fitted = self
    fitted.images = images.map { Image(image: $0.image, digest: $0.digest, tags: nil) }
    if fitted.encodedSize <= maxBytes {
      return (fitted, "the payload of \(images.count) images would be \(encodedSize) bytes, more than \(maxBytes): it lists digests without tags")
    }
    // Every image's entry and its comma, after the payload without any.
    var base = fitted
    base.images = []
    var used = base.encodedSize
    var kept: [Image] = []
    for image in fitted.images {
      let size = Self.size(image.json) + 1
      guard used + size <= maxBytes else { break }
      used += size
      kept.append(image)
    }
    fitted.images = kept
    return (fitted, "the payload of \(images.count) images would be more than \(maxBytes) bytes even without tags: it lists the digests of the first \(kept.count) (images_total: \(images.count))")
  }

  private static func size(_ value: JSONValue) -> Int {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys]
    return (try? e.encode(value).count) ?? (1 << 40)
  }
}
