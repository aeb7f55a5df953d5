import ActionsCore
import Basics
import FoundationEssentials
import OCI

/// The release's readers of text a pull request or another job writes, reachable from the fuzz
/// targets (Sources/FuzzTargets) while the readers stay internal: a manifest's bytes (YAML or
/// JSON) through to every image's settings, the `promote-images` lines, and the job matrix's
/// `release-digests` and `shard`.
public enum ReleaseInputsProbe {
  /// One image as the manifest or the list gave it.
  public struct Image: Equatable, Sendable {
    public var source: String
    public var target: String
    public var tags: [String]
    public var overrides: [String: String]
  }

  /// The manifest's caps (``ReleaseManifest``).
  public static let maxImages = ReleaseManifest.maxImages
  public static let maxTags = ReleaseManifest.maxTags
  public static let maxString = ReleaseManifest.maxString

  /// A manifest file's bytes, read as `promote` reads them.
  public static func manifest(_ bytes: [UInt8]) throws -> [Image] { images(try ReleaseManifest.parse(bytes)) }

  /// The `promote-images` input's lines.
  public static func list(_ lines: [String]) throws -> [Image] { images(try ReleaseManifest.parseList(lines)) }

  /// Every image of a manifest through the step's inputs (`variables`: `INPUT_*` and the
  /// like) and the image's overrides, as a release run settles them; the targets, in order.
  public static func settings(_ bytes: [UInt8], variables: [String: String]) throws -> [String] {
    let environment = ActionEnvironment(variables)
    let inputs = try Inputs(declarations: PromoteStage.inputs, environment: environment)
    let context = StageContext(inputs: inputs, environment: environment, log: Log(sink: MemoryLogSink()), connections: .offline)
    let release = try ReleaseSettings(try ReleaseManifest.parse(bytes), origin: "manifest", context: context)
    return release.images.map(\.target.description)
  }

  /// `release-digests`: target repository → digest.
  public static func pins(_ text: String) throws -> [String: Digest] { try ReleaseSettings.pins(text) }

  /// `shard`: i/N.
  public static func shard(_ text: String) throws -> (index: Int, count: Int) { try ReleaseSettings.shard(text) }

  private static func images(_ m: ReleaseManifest) -> [Image] {
    m.images.map { Image(source: $0.source, target: $0.target, tags: $0.tags, overrides: $0.overrides) }
  }
}
