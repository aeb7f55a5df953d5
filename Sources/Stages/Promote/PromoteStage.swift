import ActionsCore
import Foundation
import HTTP
import OCI

/// `promote`: copy the tested image by digest — every platform, no rebuild — to the target,
/// tag it, and read the tags back. Order as in the reference pipelines' promotion flowchart:
/// resolve → validate → copy → tag → verify. Nothing before the last step moves a tag.
public struct PromoteStage: Stage {
  public static let name = "promote"
  public static let abstract = "Validate the staging image, copy it by digest (all platforms) to the target, tag it, verify"

  public static let inputs: [InputDeclaration] =
    [
      RegistryInputs.source,
      RegistryInputs.target,
      RegistryInputs.tags,
    ] + RegistryInputs.credentials("source") + RegistryInputs.credentials("target") + [
      InputDeclaration("platforms", "Platforms that must be present (os/arch[/variant]); all platforms are copied so the digest stays the same. Default: no requirement", kind: .list),
      InputDeclaration("max-size", "Largest allowed image per platform (compressed layers + config), e.g. 500MB, 2GiB", default: "1GB"),
      InputDeclaration("required-labels", "Config labels that must be present, e.g. org.opencontainers.image.revision", kind: .list),
      InputDeclaration("no-clobber", "Fail when a target tag exists and points at another digest", kind: .boolean, default: "false"),
      RegistryInputs.dryRun,
      RegistryInputs.environment,
      InputDeclaration("version", "Version X.Y.Z (a leading v is accepted). Default: from a tag ref (refs/tags/v1.2.3) when there is one"),
      InputDeclaration("force", "Promote even an image that was rolled back from this environment", kind: .boolean, default: "false"),
      InputDeclaration("require-signature", "Refuse the image unless a cosign signature of its digest verifies with cosign-public-key", kind: .boolean, default: "false"),
      InputDeclaration("cosign-public-key", "Cosign public keys (ECDSA P-256 PEM, as cosign generate-key-pair writes), inline or as file paths, one per line"),
      InputDeclaration("copy-artifacts", "Also copy the image's cosign signatures, attestations and SBOMs (sha256-<hex>.sig/.att/.sbom) and OCI referrers", kind: .boolean, default: "true"),
      InputDeclaration("concurrency", "Parallel work: blobs copied at once (promote), measured probes in flight (health-check)", kind: .integer, default: "4"),
    ] + RegistryInputs.connection

  public static let outputs: [OutputDeclaration] = [
    RegistryInputs.digestOutput,
    RegistryInputs.imageOutput,
    OutputDeclaration("tags", "promote: the target tags applied, one per line"),
    OutputDeclaration("platforms", "promote: the platforms copied, one per line"),
    OutputDeclaration("bytes-copied", "promote: bytes uploaded to the target"),
    OutputDeclaration("bytes-mounted", "promote: bytes mounted from another repository of the same registry"),
    OutputDeclaration("blobs-skipped", "promote: blobs already present at the target"),
    OutputDeclaration("duration-ms", "promote: wall time of the stage"),
    OutputDeclaration("status", "promote: promoted, dry-run"),
    OutputDeclaration("signature", "promote: verified, unverified (signatures found, none verified), unsigned, or unchecked (no key given)"),
    OutputDeclaration("artifacts-copied", "promote: signatures, attestations, SBOMs and referrers carried to the target"),
  ]

  public init() {}

  public func run(_ context: StageContext) async throws -> StageResult {
    let clock = ContinuousClock()
    let started = clock.now
    let inputs = context.inputs
    let log = context.log
    let source = try RegistryInputs.reference("source", try inputs.require("source"))
    let targetRef = try RegistryInputs.reference("target", try inputs.require("target"))
    guard targetRef.digest == nil else { throw InputError("target", "give a repository or a tag, not a digest: the digest comes from the source") }
    var tags = inputs.list("tags")
    if tags.isEmpty, let t = targetRef.tag ?? source.tag { tags = [t] }
    guard !tags.isEmpty else { throw InputError("tags", "the source is given by digest and the target has no tag: set `tags`") }
    for t in tags where !Reference.isValidTag(t) { throw InputError("tags", "'\(t)' is not a valid tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})") }
    let platforms = try inputs.list("platforms").map { p in
      guard let platform = Platform(parsing: p) else { throw InputError("platforms", "'\(p)' is not os/arch[/variant], e.g. linux/amd64") }
      return platform
    }
    let maxSize = try ByteSize.parse(inputs.string("max-size", default: "1GB"), input: "max-size")
    let noClobber = try inputs.bool("no-clobber")
    let dryRun = try inputs.bool("dry-run")
    var copyOptions = CopyOptions()
    copyOptions.concurrency = try inputs.integer("concurrency", in: 1...64) ?? 4
    copyOptions.retries = try inputs.integer("retries", in: 0...10) ?? 3
    let environment = try inputs.string("environment").map(environmentTag)
    if let environment, !tags.contains(environment) { tags.append(environment) }
    let force = try inputs.bool("force")
    let requireSignature = try inputs.bool("require-signature")
    let keys =
      try inputs.string("cosign-public-key").map { text in
        try CosignPublicKey.parse(text, readFile: { try String(contentsOfFile: $0, encoding: .utf8) })
      } ?? []
    if requireSignature && keys.isEmpty {
      throw InputError("cosign-public-key", "required when require-signature is true: the PEM public key (cosign.pub) or its path")
    }
    let copyArtifacts = try inputs.bool("copy-artifacts")
    let src = try RegistryInputs.client(for: source.registry, side: "source", context: context)
    let dst = try RegistryInputs.client(for: targetRef.registry, side: "target", context: context)
    let history = environment.map { History(client: dst, repository: targetRef.repository, environment: $0) }
    // What every target tag points at now, read while the source is: tags already at the
    // image are not put again, no-clobber reads them, and the environment tag's digest is
    // recorded as the previous one (and re-read just before it moves, to catch a concurrent
    // promotion).
    let targetTags = tags
    async let tagLookup: [Digest?] = boundedMap(targetTags, concurrency: 8) { try await dst.resolve(targetRef.repository, $0)?.digest }
    // The source's tags, listed while its manifest is read: the cosign and referrers tags of
    // the image are then looked up only if they exist (one request instead of four per manifest).
    let wantAttachments = copyArtifacts || !keys.isEmpty || requireSignature
    async let sourceTags: Set<String>? = wantAttachments ? src.allTagsInOnePage(source.repository) : nil
    async let historyLookup = history.asyncMap { try await $0.entries() }

    // 1. Resolve.
    let root = try await src.manifest(source.repository, source.identifier)
    log.info("source \(source) → \(root.digest)")
    async let graphLoad = ImageGraph.load(from: src, repository: source.repository, root: root)
    var current: [String: Digest] = [:]
    for (tag, digest) in zip(tags, try await tagLookup) { current[tag] = digest }
    let previous = environment.flatMap { current[$0] }
    // When the target has the image's manifest it has every blob the manifest names
    // (registries refuse a manifest whose blobs are missing): the source's blobs need no check,
    // and a source that lost some since can still be promoted to a new tag. A target tag at the
    // image already says so; else it is asked by digest, while the platform manifests load.
    var alreadyThere = current.values.contains(root.digest)
    if !alreadyThere { alreadyThere = try await dst.resolve(targetRef.repository, root.digest.description)?.digest == root.digest }
    let graph = try await graphLoad

    // 2. Validate. The checks, the attached artifacts and the target's history are independent
    // reads: on a far registry, doing them at once saves whole round trips.
    let validator = Validator(
      client: src, repository: source.repository, maxSize: maxSize, requiredLabels: inputs.list("required-labels"), platforms: platforms, blobsAtTarget: alreadyThere)
    async let validation = validator.validate(graph)
    // Signatures, attestations, SBOMs and referrers of the image and of each platform manifest.
    let listedTags = await sourceTags
    async let attachmentLookup =
      wantAttachments
      ? AttachmentFinder(client: src, repository: source.repository).find(for: [root.digest] + graph.children.map(\.digest), tags: listedTags) : []
    var (checks, platformInfo) = try await validation
    let attachments = try await attachmentLookup
    let gate = SignatureGate(client: src, repository: source.repository, verifier: SignatureVerifier(keys: keys), required: requireSignature)
    let (signatures, signatureCheck) = try await gate.evaluate(root.digest, attachments: attachments)
    if let signatureCheck { checks.append(signatureCheck) }
    if let history, let entries = try await historyLookup {
      if let record = History.quarantined(entries)[root.digest] {
        if force {
          log.warning("\(root.digest) was rolled back from \(history.environment) (\(record)); promoting it again because force is true")
        } else {
          checks.append(
            Check(name: "not quarantined", passed: false, detail: "\(root.digest.short) was rolled back from \(history.environment) (record \(record)); set force: true to promote it again"))
        }
      }
    }
    if noClobber {
      let clobbered = current.filter { $0.key != environment && $0.value != root.digest }.map { "\($0.key) → \($0.value.short)" }.sorted()
      checks.append(Check(name: "no clobber", passed: clobbered.isEmpty, detail: clobbered.isEmpty ? "no target tag points elsewhere" : "would move " + clobbered.joined(separator: ", ")))
    }
    let target = targetRef.with(tag: nil)
    var summary = PromoteSummary(source: source, target: target, digest: root.digest, tags: tags, checks: checks, platforms: platformInfo, signatures: signatures)
    let signatureStatus = signatures.contains(where: \.isVerified) ? "verified" : signatures.isEmpty ? "unsigned" : keys.isEmpty ? "unchecked" : "unverified"
    if let failed = checks.first(where: { !$0.passed }) {
      summary.status = "validation failed"
      return StageResult(summary: summary.render(), failure: "validation failed: \(failed.name): \(failed.detail); nothing was copied and no tag moved")
    }
    if dryRun {
      summary.status = "dry-run"
      summary.attachments = copyArtifacts ? attachments.map { CarriedAttachment(attachment: $0, targetDigest: $0.manifest.digest, merged: false) } : []
      let o = outputs(root.digest, target, tags, platformInfo, CopyReport(), started, clock, status: "dry-run", signature: signatureStatus, artifactsCopied: 0)
      return StageResult(outputs: o, summary: summary.render())
    }

    // 3. Copy, blobs before manifests, children before the index.
    let copier = Copier(source: src, sourceRepository: source.repository, target: dst, targetRepository: targetRef.repository, options: copyOptions)
    let report = try await copy(graph, with: copier, to: target, rootPresent: alreadyThere, log: log, started: started)

    // Signatures and attestations travel before any tag moves, so `cosign verify` works against
    // the environment tag the moment it points here.
    let carried =
      copyArtifacts && !attachments.isEmpty
      ? try await log.group("Carry \(attachments.count) signatures, attestations and referrers") {
        try await AttachmentCopier(copier: copier).carry(attachments)
      } : []

    // 4. Record, tag, then 5. read every tag back.
    let version = inputs.string("version")
    let writer = history.map { RecordWriter(history: $0, context: context) }
    _ = try await writer?.append(.inProgress, digest: root.descriptor, previous: previous, version: version, tags: tags, source: source.description)
    do {
      let moved = try await moveTags(tags, to: root, of: target, client: dst, environment: environment, expected: previous, stage: "promote", current: current)
      if moved.count < tags.count {
        log.info("already pointing at \(root.digest.short), left as they are: \(tags.filter { !moved.contains($0) }.joined(separator: ", "))")
      }
    } catch {
      _ = try? await writer?.append(.failed, digest: root.descriptor, previous: previous, version: version, tags: tags, source: source.description, reason: "\(error)")
      throw error
    }
    _ = try await writer?.append(.completed, digest: root.descriptor, previous: previous, version: version, tags: tags, source: source.description)
    summary.status = "promoted"
    summary.report = report
    summary.attachments = carried
    log.notice("promoted \(root.digest) to \(target) as \(tags.joined(separator: ", "))", title: "Promoted")
    let o = outputs(root.digest, target, tags, platformInfo, report, started, clock, status: "promoted", signature: signatureStatus, artifactsCopied: carried.count)
    return StageResult(outputs: o, summary: summary.render())
  }

  /// Copies the image, with a progress line every 3 s in a runner log (twice a second on a
  /// terminal); an image whose manifest the target has already is only counted.
  private func copy(_ graph: ImageGraph, with copier: Copier, to target: Reference, rootPresent: Bool, log: Log, started: ContinuousClock.Instant) async throws -> CopyReport {
    if rootPresent {
      log.info("\(target) has \(graph.root.digest.short) already: nothing to copy")
      return try await copier.copy(graph, rootPresent: true)
    }
    let clock = ContinuousClock()
    let total = graph.blobs.reduce(Int64(0)) { $0 + $1.size }
    let progress = ProgressCounter()
    var copier = copier
    copier.options.onProgress = { progress.add($0) }
    let live = log.isInteractive
    let reporter = Task {
      while !Task.isCancelled {
        try await Task.sleep(for: live ? .milliseconds(500) : .seconds(3))
        log.progress(progress.line(total: total, since: started, clock: clock))
      }
    }
    defer {
      reporter.cancel()
      if live { log.info("") }
    }
    return try await log.group("Copy \(graph.blobs.count) blobs (\(ByteSize.format(total))) to \(target)") {
      try await copier.copy(graph, rootPresent: false, pushRoot: false)
    }
  }

  private func outputs(
    _ digest: Digest, _ target: Reference, _ tags: [String], _ platforms: [PlatformInfo], _ report: CopyReport, _ started: ContinuousClock.Instant, _ clock: ContinuousClock, status: String,
    signature: String, artifactsCopied: Int
  ) -> Outputs {
    var o = Outputs()
    o["digest"] = digest.description
    o["image"] = target.with(digest: digest).description
    o["tags"] = tags.joined(separator: "\n")
    o["platforms"] = platforms.map(\.platform).joined(separator: "\n")
    o["bytes-copied"] = String(report.bytesCopied)
    o["bytes-mounted"] = String(report.bytesMounted)
    o["blobs-skipped"] = String(report.blobsSkipped)
    let elapsed = clock.now - started
    o["duration-ms"] = String(elapsed.milliseconds)
    o["status"] = status
    o["signature"] = signature
    o["artifacts-copied"] = String(artifactsCopied)
    return o
  }
}

/// Bytes moved so far, shared with the copy tasks.
final class ProgressCounter: @unchecked Sendable {
  private let lock = NSLock()
  private var bytes: Int64 = 0
  func add(_ n: Int64) { lock.withLock { bytes += n } }
  var value: Int64 { lock.withLock { bytes } }

  func line(total: Int64, since start: ContinuousClock.Instant, clock: ContinuousClock) -> String {
    let done = value
    let seconds = max(0.001, (clock.now - start).totalMilliseconds / 1000)
    let rate = Double(done) / seconds
    let eta = rate > 0 ? Double(total - done) / rate : 0
    return "copied \(ByteSize.format(done)) of \(ByteSize.format(total)) at \(ByteSize.format(Int64(rate)))/s, ETA \(Int(eta.rounded()))s"
  }
}

/// The promote job summary.
struct PromoteSummary {
  var source: Reference
  var target: Reference
  var digest: Digest
  var tags: [String]
  var checks: [Check]
  var platforms: [PlatformInfo]
  var signatures: [SignatureCheck] = []
  var status = ""
  var report: CopyReport?
  var attachments: [CarriedAttachment] = []

  func render() -> StepSummary {
    var s = StepSummary()
    s.heading("Promote: \(status)")
    s.table(
      ["", ""],
      [
        ["Source", Markdown.code(source.description)],
        ["Target", Markdown.code(target.description)],
        ["Digest", Markdown.code(digest.description)],
        ["Tags", tags.map { Markdown.code($0) }.joined(separator: " ")],
      ])
    s.heading("Validation", level: 3)
    s.table(["Check", "", "Detail"], checks.map { [$0.name, $0.passed ? "✓" : "✗", Markdown.cell($0.detail)] })
    if !signatures.isEmpty {
      s.heading("Signatures", level: 3)
      s.table(["Signature", "Result", "Detail"], signatures.map { [Markdown.code($0.location), $0.status, Markdown.cell($0.detail)] })
    }
    if !platforms.isEmpty {
      s.heading("Platforms", level: 3)
      s.table(["Platform", "Manifest", "Size", "Layers"], platforms.map { [Markdown.cell($0.platform), Markdown.code($0.digest.short), ByteSize.format($0.size), String($0.layers)] })
    }
    if let r = report {
      s.heading("Copy", level: 3)
      s.table(
        ["Copied", "Mounted", "Already present", "Manifests"],
        [
          [
            "\(r.blobsCopied) blobs, \(ByteSize.format(r.bytesCopied))", "\(r.blobsMounted) blobs, \(ByteSize.format(r.bytesMounted))", "\(r.blobsSkipped) blobs", String(r.manifestsPushed),
          ]
        ])
    }
    if !attachments.isEmpty {
      s.heading(report == nil ? "Artifacts that would be carried" : "Artifacts carried", level: 3)
      s.table(
        ["Artifact", "Of", "At the target"],
        attachments.map { c in
          [c.attachment.label, Markdown.code(c.attachment.subject.short), Markdown.code(c.attachment.tag ?? c.targetDigest.short) + (c.merged ? " (merged with the target's)" : "")]
        })
    }
    return s
  }
}
