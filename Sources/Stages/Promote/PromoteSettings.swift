import ActionsCore
import Basics
import FoundationEssentials
import OCI
import Versioning

/// What `promote` reads from its inputs, checked up front so a bad input stops the stage
/// before any request. Defaults are the inputs' (see ``PromoteStage/inputs``).
struct PromoteSettings {
  var source: Reference
  /// The target repository's reference, as given (a tag in it is the default tag).
  var target: Reference
  /// Every tag to apply, the environment tag last when there is one.
  var tags: [String]
  var environment: String?
  var platforms: [Platform]
  var maxSize: Int64
  var requiredLabels: [String]
  var noClobber: Bool
  var dryRun: Bool
  var force: Bool
  var requireSignature: Bool
  var keys: [CosignPublicKey]
  var copyArtifacts: Bool
  /// Keyless signatures, attestations and provenance (Sigstore).
  var supplyChain: SupplyChainSettings
  var copy: CopyOptions
  var version: String?

  /// Whether the image's signatures and attachments must be looked up.
  var wantsAttachments: Bool { copyArtifacts || !keys.isEmpty || requireSignature || supplyChain.isActive }

  /// `files` reads the files inputs name (a release manifest's confined to the checkout).
  init(_ inputs: Inputs, files: InputFiles = InputFiles()) throws {
    source = try RegistryInputs.reference("source", try inputs.require("source"))
    target = try RegistryInputs.reference("target", try inputs.require("target"))
    guard target.digest == nil else { throw InputError("target", "give a repository or a tag, not a digest: the digest comes from the source") }
    // Each once, in the order given: a tag written twice (the reusable workflow's version, and
    // the caller's tags naming it too) would be moved twice.
    var given = Set<String>()
    tags = inputs.list("tags").filter { given.insert($0).inserted }
    if tags.isEmpty, let t = target.tag ?? source.tag { tags = [t] }
    guard !tags.isEmpty else {
      // Said as it is: a source without tag or digest is read as :latest, not "by digest".
      guard source.digest == nil else { throw InputError("tags", "the source is given by digest and the target has no tag: set `tags`") }
      throw InputError("tags", "neither the source nor the target names a tag (the source would be read as :latest): give the source its tag, e.g. \(source.name):1.2.0, or set `tags`")
    }
    // As a release manifest's: a step's 128 KiB of tags was ~10,000 tag writes.
    guard tags.count <= ReleaseManifest.maxTags else { throw InputError("tags", "\(tags.count) tags; at most \(ReleaseManifest.maxTags) are accepted") }
    for t in tags where !Reference.isValidTag(t) { throw InputError("tags", "'\(t.clipped(to: 100))' is not a valid tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})") }
    // A release manifest is a file a pull request can change: its tags must not overwrite the
    // history's records or the referrers index the quarantine check reads.
    for t in tags { if let why = EnvironmentName.reserved(t) { throw InputError("tags", "'\(t.clipped(to: 100))': \(why)") } }
    platforms = try inputs.list("platforms").map { p in
      guard let platform = Platform(parsing: p) else { throw InputError("platforms", "'\(p.clipped(to: 100))' is not os/arch[/variant], e.g. linux/amd64") }
      return platform
    }
    maxSize = try ByteSize.parse(inputs.string("max-size", default: "1GB"), input: "max-size")
    requiredLabels = inputs.list("required-labels")
    noClobber = try inputs.bool("no-clobber")
    dryRun = try inputs.bool("dry-run")
    copy = CopyOptions()
    copy.concurrency = try inputs.integer("concurrency", in: 1...64) ?? 4
    copy.retries = try inputs.integer("retries", in: 0...10) ?? 3
    environment = try inputs.string("environment").map(environmentTag)
    if let environment, !tags.contains(environment) { tags.append(environment) }
    force = try inputs.bool("force")
    requireSignature = try inputs.bool("require-signature")
    var unreadable: InputError?
    do {
      keys =
        try inputs.string("cosign-public-key").map { text in
          try CosignPublicKey.parse(text) { path in
            do { return String(decoding: try files.read(path, input: "cosign-public-key", limit: CosignPublicKey.maxFileBytes), as: UTF8.self) } catch let e as InputError {
              unreadable = e
              throw e
            }
          }
        } ?? []
    } catch let e as SignatureError {
      // A key that is not a key is the input's fault: exit 2, not a failed promotion.
      throw unreadable ?? InputError("cosign-public-key", e.description)
    }
    supplyChain = try SupplyChainSettings(inputs, files: files)
    if requireSignature && keys.isEmpty && !supplyChain.isActive {
      throw InputError(
        "cosign-public-key",
        "required when require-signature is true: the PEM public key (cosign.pub) or its path; for keyless signatures set certificate-identity and certificate-oidc-issuer (or signer-repository)")
    }
    copyArtifacts = try inputs.bool("copy-artifacts")
    // Recorded in the history, then read back as rollback's `version` output: one line.
    version = try inputs.line("version") ?? Self.version(among: tags)
  }

  /// The version the target tags name when `version` is not given: the one full semantic
  /// version among them (`1.2.3`, `v1.2.3-rc.1`; `1.2` and `latest` name none). Tags naming
  /// two versions name none: which one the image is, only the workflow knows.
  static func version(among tags: [String]) -> String? {
    let versions = Set(tags.compactMap { SemVer.parse($0, prefix: "v") ?? SemVer.parse($0) })
    return versions.count == 1 ? versions.first?.description : nil
  }
}
