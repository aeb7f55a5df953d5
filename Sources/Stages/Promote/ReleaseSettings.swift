import ActionsCore
import Basics
import FoundationEssentials
import OCI

/// What `promote` of a set reads from its inputs: the images (from `manifest` or
/// `promote-images`), each turned into the ``PromoteSettings`` a single promotion of it would
/// use — the step's inputs, then the image's overrides — and the release's own settings.
struct ReleaseSettings: Sendable {
  var images: [PromoteSettings]
  /// Which input named the images (for messages).
  var origin: String
  var environment: String?
  var dryRun: Bool
  /// Links the history records of every image of the release (and names it for rollback).
  var releaseID: String
  /// Blob copies in flight per registry, shared by every image.
  var concurrency: Int
  /// Which part of the release this run does (a job matrix splits it; see ``Phase``).
  var phase: Phase
  /// The images this run copies (`shard: i/N`: every image whose index is i-1 modulo N).
  var shard: (index: Int, count: Int)
  /// The release's one GitHub deployment (`deployment: true`), recorded by the run that moves
  /// the tags (`all`, `finish`); the other phases only check the inputs.
  var deployment: DeploymentSettings?

  /// A release run in one job (`all`), or over a job matrix: `validate` once (its `digests`
  /// output pins every image), `copy` in N jobs (each its shard, by the pinned digests, no tag
  /// moves), `finish` once (every pinned digest verified at its target, then every lease, tag
  /// and record, as `all` does).
  enum Phase: String, Sendable {
    case all, validate, copy, finish
  }

  /// What names a set: promote's and rollback's.
  static let setInputs: [InputDeclaration] = [
    InputDeclaration(
      "manifest",
      "promote: a YAML or JSON file in the workspace listing a release, `images: [{source, target, tags, <promote inputs>}]` (docs/promote-manifest.md); every image is validated before any is copied, and tags move only when all copied; rollback: the targets of the release to roll back"
    ),
    InputDeclaration("promote-images", "promote: a small release inline, one image per line: `SOURCE -> TARGET [TAG …]`; rollback: the same lines, or only the targets, one per line", kind: .list),
    InputDeclaration("release-id", "promote: the release's id, recorded with every image (default: generated); rollback: restore every image of this release"),
  ]

  /// promote's: the set, and how a job matrix splits it (rollback restores a set in one job).
  static let inputs: [InputDeclaration] =
    setInputs + [
      InputDeclaration(
        "release-phase",
        "promote of a set over a job matrix: all (one job), validate (check every image, output `digests`), copy (copy `shard`, no tag moves), finish (verify every digest at its target, move every tag)",
        kind: .choice(["all", "validate", "copy", "finish"]), default: "all"),
      InputDeclaration("shard", "promote, release-phase copy: this job's part, i/N (images whose index is i-1 modulo N)", default: "1/1"),
      InputDeclaration("release-digests", "promote, release-phase copy and finish: the validate job's `digests` output; pins every image's source to the digest validated"),
    ]

  static let outputs: [OutputDeclaration] = [
    OutputDeclaration("digests", "promote and rollback of a set: JSON object, target repository → digest promoted (restored); not set when the release stopped"),
    OutputDeclaration("release-id", "promote and rollback of a set: the id recorded with every image of the release"),
  ]

  /// Nil when neither `manifest` nor `promote-images` is set (a single promotion).
  static func from(_ context: StageContext) throws -> ReleaseSettings? {
    let inputs = context.inputs
    let manifest: ReleaseManifest
    let origin: String
    switch (inputs.string("manifest"), inputs.list("promote-images", commas: false)) {
    case (nil, let lines) where lines.isEmpty: return nil
    case (let path?, let lines):
      guard lines.isEmpty else { throw InputError("promote-images", "set `manifest` or `promote-images`, not both") }
      manifest = try ReleaseManifest.load(path, workspace: context.environment.workspace)
      origin = "manifest"
    case (nil, let lines):
      manifest = try ReleaseManifest.parseList(lines)
      origin = "promote-images"
    }
    for name in ["source", "target"] where inputs.string(name) != nil {
      throw InputError(name, "give each image's \(name) in `\(origin)`, not as an input, when promoting a set")
    }
    return try ReleaseSettings(manifest, origin: origin, context: context)
  }

  init(_ manifest: ReleaseManifest, origin: String, context: StageContext) throws {
    self.origin = origin
    let inputs = context.inputs
    images = try manifest.images.enumerated().map { index, image in
      var flags = image.overrides
      flags["source"] = image.source
      flags["target"] = image.target
      if !image.tags.isEmpty { flags["tags"] = image.tags.joined(separator: "\n") }
      do {
        let own = inputs.overriding(flags)
        try ManifestOverrides.check(step: inputs, image: own, overrides: Set(image.overrides.keys))
        // Files a manifest names are the checkout's, as the manifest is; one that repeats the
        // step's own value names the step's file.
        let named = image.overrides.filter { inputs.string($0.key) != $0.value }.keys
        let files = InputFiles(confined: origin == "manifest" ? Set(named) : [], workspace: context.environment.workspace)
        return try PromoteSettings(own, files: files)
      } catch let e as InputError {
        // The image's own fields are named by index; a step input that is wrong for every image keeps its name.
        let own = e.input == "source" || e.input == "target" || e.input == "tags" || image.overrides[e.input] != nil
        throw own ? InputError(origin, "images[\(index)].\(e.input): \(e.message)") : e
      }
    }
    // One image per target repository: the environment tag, the history, the `digests` output
    // and the job matrix's digest pins are all keyed by it (two images there would also claim
    // the same environment tag).
    var claimed: [String: Int] = [:]
    for (index, image) in images.enumerated() {
      let key = image.target.repositoryKey
      if let other = claimed[key] {
        throw InputError(
          origin, "images[\(other)] and images[\(index)] both promote to \(image.target.with(tag: nil)): a release takes one image per target repository")
      }
      claimed[key] = index
    }
    environment = images.first?.environment
    phase = Phase(rawValue: try inputs.choice("release-phase") ?? "all") ?? .all
    if phase == .validate {
      // The jobs after this one take the `digests` output as their `release-digests` input:
      // one environment string, which Linux refuses to exec above 128 KiB ("Argument list too
      // long": the copy and finish jobs' containers would not start, after this job passed).
      let size = images.reduce(1) { $0 + $1.target.with(tag: nil).description.utf8.count + Self.pinOverhead }
      guard size <= Self.maxPinsBytes else {
        throw InputError(
          origin,
          "the release's pins (the `digests` output the later jobs take as `release-digests`) would be \(size >> 10) KiB, more than one step input can hold (128 KiB with its name, Linux's limit): split the \(images.count) images into smaller releases"
        )
      }
    }
    shard = try Self.shard(inputs.string("shard", default: "1/1"))
    if let pins = inputs.string("release-digests") {
      let pinned = try Self.pins(pins)
      images = try images.map { image in
        var pinnedImage = image
        let key = image.target.with(tag: nil).description
        guard let digest = pinned[key] else { throw InputError("release-digests", "no digest for \(key): pass the validate job's `digests` output for the same manifest") }
        pinnedImage.source = image.source.with(digest: digest)
        return pinnedImage
      }
    } else if phase == .copy || phase == .finish {
      throw InputError("release-digests", "required for release-phase \(phase.rawValue): the validate job's `digests` output, so every job promotes the digests validated")
    }
    dryRun = try inputs.bool("dry-run")
    deployment = try DeploymentSettings.from(context, environment: environment)
    concurrency = try inputs.integer("concurrency", in: 1...64) ?? 4
    if let id = try inputs.line("release-id") {
      guard Self.isValidID(id) else { throw InputError("release-id", "'\(id.clipped(to: 100))' is not an id: 1 to 64 of A-Z a-z 0-9 . _ -") }
      releaseID = id
    } else {
      releaseID = Self.newID()
    }
  }

  /// The largest `release-digests` value a step can be given: Linux execs no environment
  /// string longer than 128 KiB (MAX_ARG_STRLEN, with its NUL), `INPUT_RELEASE-DIGESTS=` included.
  static let maxPinsBytes = 131_072 - "INPUT_RELEASE-DIGESTS=".utf8.count - 1
  /// A pin's bytes in the compact JSON besides its key: `"` `"` `:` `"sha256:<64 hex>"` `,`.
  static let pinOverhead = 2 + 1 + 73 + 1

  /// `i/N` with 1 ≤ i ≤ N ≤ 256.
  static func shard(_ text: String) throws -> (index: Int, count: Int) {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), (1...256).contains(n), (1...n).contains(i) else {
      throw InputError("shard", "expected i/N with 1 ≤ i ≤ N ≤ 256 (e.g. ${{ matrix.shard }}/4), got '\(ReleaseManifest.clip(text))'")
    }
    return (i, n)
  }

  /// The validate job's `digests` output: a JSON object of target repository → sha256 digest.
  static func pins(_ text: String) throws -> [String: Digest] {
    guard text.utf8.count <= ReleaseManifest.maxBytes, case .object(let map)? = JSONValue.parse(Data(text.utf8)) else {
      throw InputError("release-digests", "expected the `digests` output of the validate job: a JSON object of target repository → digest")
    }
    var out: [String: Digest] = [:]
    for (key, value) in map {
      guard case .string(let s) = value, let d = try? Digest(parsing: s) else { throw InputError("release-digests", "\(ReleaseManifest.clip(key)): not a sha256 digest") }
      out[key] = d
    }
    return out
  }

  static func isValidID(_ id: String) -> Bool {
    (1...64).contains(id.utf8.count) && id.utf8.allSatisfy { c in (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E || c == 0x5F || c == 0x2D }
  }

  /// `20261130T064500.123Z-1a2b3c4d`: sorts by time, unique enough among a repository's runs.
  static func newID() -> String {
    RecordTime.compact(Date()) + "-" + String(UInt32.random(in: 0...UInt32.max), radix: 16).leftPadded(to: 8)
  }
}

extension String {
  fileprivate func leftPadded(to n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
