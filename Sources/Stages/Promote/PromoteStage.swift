import ActionsCore
import Basics
import FoundationEssentials
import GitHub
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
      // Not required: a set names them per image (`manifest`, `promote-images`).
      RegistryInputs.source.optional(),
      RegistryInputs.target.optional(),
      RegistryInputs.tags,
    ] + ReleaseSettings.inputs + RegistryInputs.credentials("source") + RegistryInputs.credentials("target") + [
      InputDeclaration("platforms", "Platforms that must be present (os/arch[/variant]); all platforms are copied so the digest stays the same. Default: no requirement", kind: .list),
      InputDeclaration("max-size", "Largest allowed image per platform (compressed layers + config), e.g. 500MB, 2GiB", default: "1GB"),
      InputDeclaration("required-labels", "Config labels that must be present, e.g. org.opencontainers.image.revision", kind: .list),
      InputDeclaration(
        "no-clobber", "Fail when a target tag exists and points at another digest (latest and the environment tag, which exist to move, excepted)", kind: .boolean,
        default: "false"),
      RegistryInputs.dryRun,
      RegistryInputs.environment,
      RegistryInputs.version,
      InputDeclaration("force", "Promote even an image that was rolled back from this environment", kind: .boolean, default: "false"),
      InputDeclaration(
        "require-signature", "Refuse the image unless a cosign signature of its digest verifies with cosign-public-key or, keyless, with the certificate-identity inputs", kind: .boolean,
        default: "false"),
      InputDeclaration("cosign-public-key", "Cosign public keys (ECDSA P-256 PEM, as cosign generate-key-pair writes), inline or as file paths, one per line"),
    ] + SupplyChainSettings.inputs + [
      InputDeclaration("copy-artifacts", "Also copy the image's cosign signatures, attestations and SBOMs (sha256-<hex>.sig/.att/.sbom) and OCI referrers", kind: .boolean, default: "true"),
      InputDeclaration("concurrency", "Parallel work: blobs copied at once (promote), measured probes in flight (health-check)", kind: .integer, default: "4"),
    ] + RegistryInputs.connection + DeploymentInputs.all

  public static let outputs: [OutputDeclaration] =
    [
      RegistryInputs.digestOutput,
      RegistryInputs.imageOutput,
      OutputDeclaration("tags", "promote: the target tags applied, one per line"),
      OutputDeclaration("platforms", "promote: the platforms copied, one per line"),
      OutputDeclaration("bytes-copied", "promote: bytes uploaded to the target"),
      OutputDeclaration("bytes-mounted", "promote: bytes mounted from another repository of the same registry"),
      OutputDeclaration("blobs-skipped", "promote: blobs already present at the target"),
      OutputDeclaration("duration-ms", "promote: wall time of the stage"),
      OutputDeclaration("status", "promote: promoted, dry-run"),
      SupplyChainSettings.signatureOutput,
      SupplyChainSettings.provenanceOutput,
      OutputDeclaration("artifacts-copied", "promote: signatures, attestations, SBOMs and referrers carried to the target"),
      DeploymentInputs.idOutput,
      RateLimitReport.output,
    ] + ReleaseSettings.outputs

  public init() {}

  public func run(_ context: StageContext) async throws -> StageResult {
    let clock = ContinuousClock()
    let started = clock.now
    let log = context.log
    // A set of images (`manifest`, `promote-images`): all or nothing.
    if let release = try ReleaseSettings.from(context) {
      return try await Release(settings: release, context: context).run()
    }
    let settings = try PromoteSettings(context.inputs)
    let (source, targetRef, tags, environment) = (settings.source, settings.target, settings.tags, settings.environment)
    let target = targetRef.with(tag: nil)
    // `target: app:1.2.0` with `tags: production` applies production only (the target's tag is
    // the default for an empty `tags`); crane and skopeo users expect 1.2.0 too, so say so.
    if let dropped = targetRef.tag, !tags.contains(dropped) {
      log.warning("the target's tag \(dropped) is not applied: \(target) gets only `tags` (\(tags.joined(separator: ", "))); add \(dropped) to tags to apply it", title: "Target tag ignored")
    }
    let recorder = try DeploymentSettings.from(context, environment: environment).map { DeploymentRecorder(settings: $0, log: log) }
    let src = try RegistryInputs.client(for: source.registry, side: "source", context: context)
    let dst = try RegistryInputs.client(for: targetRef.registry, side: "target", context: context)
    // 1. Resolve and 2. validate.
    let plan = try await ImagePlan.make(settings, src: src, dst: dst, context: context)
    let (root, graph, attachments, history, previous, alreadyThere) = (plan.root, plan.graph, plan.attachments, plan.history, plan.previous, plan.alreadyThere)
    var summary = plan.summary
    let (checks, platformInfo, signatureStatus, provenanceStatus) = (plan.checks, plan.summary.platforms, plan.signatureStatus, plan.provenanceStatus)
    let current = plan.current
    if let failed = checks.first(where: { !$0.passed }) {
      summary.status = "validation failed"
      return RateLimitReport.result(summary: summary.render(), failure: "validation failed: \(failed.name): \(failed.detail); nothing was copied and no tag moved", context)
    }
    if settings.dryRun {
      summary.status = "dry-run"
      // The run's conclusion in the log too, as a real promotion's: else it ends on the source line.
      log.notice("\(root.digest) validated; it would be promoted to \(target) as \(tags.joined(separator: ", ")); nothing was changed", title: "Dry run")
      summary.attachments = settings.copyArtifacts ? attachments.map { CarriedAttachment(attachment: $0, targetDigest: $0.manifest.digest, merged: false) } : []
      var o = outputs(root.digest, target, tags, platformInfo, CopyReport(), started, clock, status: "dry-run", signature: signatureStatus, artifactsCopied: 0, log: log)
      o["provenance"] = provenanceStatus
      return RateLimitReport.result(outputs: o, summary: summary.render(), context)
    }

    // 3. Copy, blobs before manifests, children before the index.
    context.doing("copying \(graph.blobs.count) blobs to \(target); no tag moved")
    let copier = plan.copier(settings.copy)
    let report = try await copy(graph, with: copier, to: target, rootPresent: alreadyThere, present: plan.blobsAtTarget, log: log, started: started)

    // Signatures and attestations travel before any tag moves, so `cosign verify` works against
    // the environment tag the moment it points here.
    let carried =
      settings.copyArtifacts && !attachments.isEmpty
      ? try await log.group("Carry \(attachments.count) signatures, attestations and referrers") {
        try await AttachmentCopier(copier: copier).carry(attachments)
      } : []

    // 4. Take the environment's lease (an intent record), tag, 5. read every tag back, and
    // record the outcome. An image already live in the environment changes nothing there:
    // nothing is recorded (its other tags are still put).
    let details = plan.details()
    let lease: History.Lease?
    context.doing("taking the lease of \(environment ?? "the environment") (writing the intent record); no tag moved")
    if let history, let environment, previous != root.digest {
      do {
        lease = try await history.begin(root.descriptor, details, waiting: waitingNote(environment, log: log))
      } catch let lost as History.LeaseLost {
        reportAbandoned(lost.abandoned, environment: environment, log: log)
        throw leaseFailure(lost, stage: "promote")
      }
    } else {
      lease = nil
      if let environment { log.info("\(root.digest.short) is live in \(environment) already: nothing recorded") }
    }
    if let lease, let environment {
      reportAbandoned(lease.abandoned, environment: environment, log: log)
      warnSkipped(lease.skipped, log: log)
    }
    // The GitHub deployment (deployment: true), in progress while the tags move.
    var deploymentID: Int64?
    if let recorder, let environment {
      deploymentID = await recorder.beginPromotion(
        environment: environment, image: target.with(digest: root.digest).description, digest: root.digest.description, tags: tags, version: settings.version)
    }
    context.doing("moving \(tags.joined(separator: ", ")) to \(root.digest.short)")
    do {
      let recent = lease?.recent ?? []
      let moved = try await moveTags(
        tags, to: root, of: target, client: dst, environment: environment, expected: previous, stage: "promote", current: current, log: log, mover: { moverNote($0, recent) })
      summary.unchanged = Set(tags.filter { !moved.contains($0) })
      if !summary.unchanged.isEmpty {
        log.info("already pointing at \(root.digest.short), left as they are: \(tags.filter(summary.unchanged.contains).joined(separator: ", "))")
      }
    } catch {
      var failure = (error as? TagMoves.Failed)?.failure ?? error
      if let history, let lease {
        // Recorded even when the stage ran out of time: the intent ends `failed`, not open.
        failure = await closeFailed(failure, lease: lease, subject: root.descriptor, details: details, history: history, stage: "promote", reason: context.activity.reason(error))
      }
      if let recorder, let deploymentID { await recorder.markFailed(deploymentID, "promotion failed: \(tagMoveOutcome(error))") }
      throw failure
    }
    if let history, let lease {
      // The tags moved: the record says so even if the stage's time runs out meanwhile.
      context.doing("recording the promotion in \(environment ?? "the environment")'s history (the tags moved)")
      do {
        _ = try await uncancelled { try await history.complete(lease, root.descriptor, details) }
      } catch {
        if let recorder, let deploymentID { await recorder.mark(deploymentID, .success, description: "promoted \(root.digest.short) (history not recorded)") }
        throw unrecordedChange(error, moved: "\(target):\(tags.joined(separator: ", ")) point at \(root.digest)", lease: lease, history: history, stage: "promote")
      }
    }
    if let recorder, let deploymentID { await recorder.mark(deploymentID, .success, description: "promoted \(root.digest.short)") }
    if recorder != nil, let environment {
      summary.deployment = deploymentID.map { "\($0) to \(environment): success" } ?? "not recorded (GitHub refused or could not be reached; see the warnings)"
    }
    summary.status = "promoted"
    summary.report = report
    summary.attachments = carried
    log.notice("\(root.digest) to \(target) as \(tags.joined(separator: ", "))", title: "Promoted")
    var o = outputs(root.digest, target, tags, platformInfo, report, started, clock, status: "promoted", signature: signatureStatus, artifactsCopied: carried.count, log: log)
    if recorder != nil { o["deployment-id"] = deploymentID.map(String.init) ?? "" }
    o["provenance"] = provenanceStatus
    return RateLimitReport.result(outputs: o, summary: summary.render(), context)
  }

  /// Copies the image, with a progress line every 3 s in a runner log (twice a second on a
  /// terminal); an image whose manifest the target has already is only counted.
  func copy(
    _ graph: ImageGraph, with copier: Copier, to target: Reference, rootPresent: Bool, present: Set<Digest>?, log: Log, started: ContinuousClock.Instant
  ) async throws -> CopyReport {
    if rootPresent {
      log.info("\(target) has \(graph.root.digest.short) already: nothing to copy")
      return try await copier.copy(graph, rootPresent: true)
    }
    let clock = ContinuousClock()
    let total = Descriptor.totalSize(graph.blobs) ?? .max
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
      let began = clock.now
      let report = try await copier.copy(graph, rootPresent: false, pushRoot: false, present: present)
      log.info("\(report.line) in \((clock.now - began).milliseconds) ms")
      return report
    }
  }

  func outputs(
    _ digest: Digest, _ target: Reference, _ tags: [String], _ platforms: [PlatformInfo], _ report: CopyReport, _ started: ContinuousClock.Instant, _ clock: ContinuousClock, status: String,
    signature: String, artifactsCopied: Int, log: Log
  ) -> Outputs {
    var o = Outputs()
    o["digest"] = digest.description
    o["image"] = target.with(digest: digest).description
    o["tags"] = tags.joined(separator: "\n")
    o["platforms"] = OutputValue.platforms(platforms.map(\.platform), log: log).joined(separator: "\n")
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
  private let lock = Lock()
  private var bytes: Int64 = 0
  func add(_ n: Int64) { lock.withLock { bytes = bytes.addingSaturating(n) } }
  var value: Int64 { lock.withLock { bytes } }

  func line(total: Int64, since start: ContinuousClock.Instant, clock: ContinuousClock) -> String {
    let done = value
    let seconds = max(0.001, (clock.now - start).totalMilliseconds / 1000)
    let rate = Double(done) / seconds
    // Clamped before converting: sizes are the registry's numbers.
    let eta = rate > 0 ? min(max(0, Double(total) - Double(done)) / rate, 1e9) : 0
    return "copied \(ByteSize.format(done)) of \(ByteSize.format(total)) at \(ByteSize.format(Int64(min(rate, 1e15))))/s, ETA \(Int(eta.rounded()))s"
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
  var attestations: [AttestationCheck] = []
  var status = ""
  var report: CopyReport?
  var attachments: [CarriedAttachment] = []
  /// Tags that already pointed at the image (not put again).
  var unchanged: Set<String> = []
  /// The GitHub deployment's line (with `deployment: true`).
  var deployment: String?
  /// The environment promoted into, and what its tag pointed at before.
  var environment: String?
  var previous: Digest?

  func render() -> StepSummary {
    var s = StepSummary()
    s.heading("Promote: \(status)")
    var rows: [[String]] = [
      ["Source", Markdown.code(source.description)],
      ["Target", Markdown.code(target.description)],
      ["Digest", Markdown.code(digest.description)],
      ["Tags", tags.map { Markdown.code($0) + (unchanged.contains($0) ? " (already here)" : "") }.joined(separator: " ")],
    ]
    // What a reader of the summary came for: the reference to deploy (the `image` output) and
    // what the environment held before (what a rollback would restore).
    if status == "promoted" { rows.append(["Image to deploy", Markdown.code(target.with(digest: digest).description)]) }
    if let environment {
      let before: String = previous.map { Markdown.code($0.short) } ?? "nothing"
      rows.append(["Environment", "\(Markdown.cell(environment)) (before: \(before))"])
    }
    if let deployment { rows.append(["GitHub deployment", Markdown.cell(deployment)]) }
    s.table(["", ""], rows)
    s.heading("Validation", level: 3)
    s.table(["Check", "", "Detail"], checks.map { [$0.name, $0.passed ? "✓" : "✗", Markdown.cell($0.detail)] })
    if !signatures.isEmpty {
      s.heading("Signatures", level: 3)
      s.table(["Signature", "Result", "Detail"], signatures.map { [Markdown.code($0.location), $0.status, Markdown.cell($0.detail)] })
    }
    if !attestations.isEmpty {
      s.heading("Attestations", level: 3)
      s.table(
        ["Attestation", "Predicate", "Result", "Detail"],
        attestations.map { a in
          [
            Markdown.code(a.location), Markdown.cell(a.predicateType ?? "unknown"), a.isVerified ? "✓ verified" : "✗ invalid",
            Markdown.cell(a.error ?? a.signer ?? ""),
          ]
        })
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
          [Markdown.cell(c.attachment.label), Markdown.code(c.attachment.subject.short), Markdown.code(c.attachment.tag ?? c.targetDigest.short) + (c.merged ? " (merged with the target's)" : "")]
        })
    }
    return s
  }
}
