import ActionsCore
import Basics
import FoundationEssentials
import GitHub
import OCI

/// `rollback`: put the environment tag back on the newest earlier recorded image that is still
/// whole and not quarantined (or on `to`), under the environment's lease, read it back, and
/// record the bad image as rolled back so `promote` refuses it later (unless forced).
public struct RollbackStage: Stage {
  public static let name = "rollback"
  public static let abstract = "Re-point the environment tag to the previous recorded image and quarantine the bad one"

  public static let inputs: [InputDeclaration] =
    [
      // Not required with `release-id` and a set (`manifest`, `promote-images`).
      RegistryInputs.target.optional(),
      RegistryInputs.environment.asRequired(),
      InputDeclaration("to", "rollback: version tag or digest to restore (default: the newest earlier recorded image that still exists)"),
      InputDeclaration("reason", "rollback: why, recorded in the history and the summary", default: "health check failed"),
      RegistryInputs.tags,
      RegistryInputs.dryRun,
    ] + ReleaseSettings.setInputs + RegistryInputs.credentials("target") + RegistryInputs.connection + DeploymentInputs.all

  public static let outputs: [OutputDeclaration] =
    [
      RegistryInputs.digestOutput,
      RegistryInputs.imageOutput,
      OutputDeclaration("previous-digest", "rollback: what was live before"),
      OutputDeclaration("rolled-back-digest", "rollback: the digest now quarantined for this environment"),
      RegistryInputs.versionOutput,
      DeploymentInputs.idOutput,
    ] + ReleaseSettings.outputs

  public init() {}

  public func run(_ context: StageContext) async throws -> StageResult {
    let inputs = context.inputs
    let log = context.log
    let environment = try environmentTag(try inputs.require("environment"))
    let reason = inputs.string("reason", default: "health check failed")
    let dryRun = try inputs.bool("dry-run")
    let extraTags = inputs.list("tags")
    for t in extraTags where !Reference.isValidTag(t) { throw InputError("tags", "'\(t.clipped(to: 100))' is not a valid tag") }
    for t in extraTags { if let why = EnvironmentName.reserved(t) { throw InputError("tags", "'\(t.clipped(to: 100))': \(why)") } }
    // A whole release: every image it promoted goes back, or none does.
    if let releaseID = try inputs.line("release-id") {
      guard ReleaseSettings.isValidID(releaseID) else { throw InputError("release-id", "'\(releaseID.clipped(to: 100))' is not an id: 1 to 64 of A-Z a-z 0-9 . _ -") }
      if inputs.string("to") != nil { throw InputError("to", "not with release-id: a release goes back to what each image replaced") }
      let targets = try ReleaseRollback.targets(context)
      let recorder = try DeploymentSettings.from(context, environment: environment).map { DeploymentRecorder(settings: $0, log: log) }
      return try await ReleaseRollback(
        context: context, targets: targets, environment: environment, releaseID: releaseID, reason: reason, extraTags: extraTags, dryRun: dryRun, recorder: recorder
      ).run()
    }
    if inputs.string("manifest") != nil || !inputs.list("promote-images").isEmpty {
      throw InputError("release-id", "required to roll back a set (`manifest`, `promote-images`): the release to undo (promote's `release-id` output)")
    }
    let target = try RegistryInputs.reference("target", try inputs.require("target")).with(tag: nil)
    let to = try inputs.string("to").map { to in
      if to.hasPrefix("sha256:") {
        do throws(ReferenceError) { _ = try Digest(parsing: to) } catch { throw InputError("to", "'\(to.clipped(to: 80))' is not a digest: \(error.reason)") }
      } else if !Reference.isValidTag(to) {
        throw InputError("to", "'\(to.clipped(to: 100))' is neither a tag nor a sha256 digest")
      } else if let why = EnvironmentName.reserved(to) {
        // A record's tag names a history record, not an image: it would become the live "image".
        throw InputError("to", "'\(to.clipped(to: 100))': \(why), not images")
      }
      return to
    }
    let recorder = try DeploymentSettings.from(context, environment: environment).map { DeploymentRecorder(settings: $0, log: log) }
    let client = try RegistryInputs.client(for: target.registry, side: "target", context: context)
    let history = environmentHistory(client: client, repository: target.repository, environment: environment, context: context, readOnly: dryRun)
    let repo = target.repository

    context.doing("reading \(target):\(environment) and its records")
    guard let live = try await client.resolve(repo, environment) else {
      throw StageFailure("\(target):\(environment) does not exist: nothing is live in \(environment) to roll back", title: "rollback failed")
    }

    // Plan: choose what to restore.
    var passedOver: [(entry: HistoryEntry, why: String)] = []
    var recent: [HistoryEntry]
    let chosen: (digest: Digest, version: String?)
    if let to {
      let page = try await history.entries(limit: 100)
      warnSkipped(page.skipped, log: log)
      recent = page.entries
      guard let d = try await client.resolve(repo, to) else {
        throw StageFailure("\(target):\(to) does not exist; nothing was changed", title: "rollback failed")
      }
      if let missing = try await history.store.missingPart(of: d.digest) {
        throw StageFailure("\(target):\(to) cannot be restored: \(missing); nothing was changed", title: "rollback failed")
      }
      chosen = (d.digest, recent.first { $0.record.digest == d.digest }?.record.version ?? (to.hasPrefix("sha256:") ? nil : to))
      // `to:` is the workflow's choice and may name an image rolled back from here before
      // (promote would refuse it without force): restored all the same, but not in silence.
      let quarantine = try await history.quarantine(of: d.digest, recent: recent)
      warnSkipped(quarantine.skipped, log: log)
      if let q = quarantine.record {
        log.warning(
          "\(target):\(to) (\(d.digest.short)) was rolled back from \(environment) (\(OCILabelsTime.format(q.record.time)), record \(q.tag)); restoring it because `to:` names it",
          title: "Restoring a rolled-back image")
      }
    } else {
      let found = try await history.rollbackCandidate(current: live.digest)
      warnSkipped(found.skipped, log: log)
      recent = found.entries
      passedOver = found.passedOver
      for p in passedOver {
        log.warning("skipped \(p.entry.record.digest.short) (\(p.entry.record.version ?? "no version"), promoted \(OCILabelsTime.format(p.entry.record.time))): \(p.why)")
      }
      guard let c = found.chosen else {
        // Said apart: nothing earlier was ever promoted, vs earlier images that cannot be restored.
        let onlyLive = passedOver.isEmpty && found.entries.allSatisfy { $0.record.digest == live.digest }
        let why =
          found.entries.isEmpty
          ? "no earlier promotion of \(environment) recorded in \(target)"
          : onlyLive
            ? "only the live image \(live.digest.short) was ever promoted to \(environment) in \(target): there is no earlier one to go back to"
            : "no earlier image of \(environment) recorded in \(target) is whole and not quarantined"
        // The summary says what is live and what was passed over and why (before, nothing was
        // written: the one error line had to do).
        var s = StepSummary()
        s.heading("Rollback of \(environment) in \(target): nothing to restore")
        s.raw("Live, left as it is: \(Markdown.code(live.digest.description))")
        passedOverTable(passedOver, into: &s)
        s.heading("Recent history of \(environment)", level: 3)
        historyTable(recent, into: &s)
        return StageResult(outputs: Outputs(), summary: s, failure: "\(why); nothing was changed (`to:` restores a tag or digest of your choice)")
      }
      chosen = (c.record.digest, c.record.version)
    }
    guard chosen.digest != live.digest else {
      throw StageFailure("\(chosen.digest) is already live in \(environment); nothing was changed", title: "rollback failed")
    }
    let manifest = try await client.manifest(repo, chosen.digest.description)
    let tags = [environment] + extraTags.filter { $0 != environment }
    let badVersion = HistoryRules.liveRecord(recent, digest: live.digest)?.record.version ?? recent.first { $0.record.digest == live.digest }?.record.version

    var outputs = Outputs()
    // What the summary says of the GitHub deployments (deployment: true), as promote's does.
    var deploymentNote: String?
    outputs["digest"] = chosen.digest.description
    outputs["image"] = target.with(digest: chosen.digest).description
    outputs["previous-digest"] = live.digest.description
    outputs["rolled-back-digest"] = live.digest.description
    outputs["version"] = OutputValue.version(chosen.version, log: log)

    // Execute under the environment's lease: a concurrent promotion or rollback wins or loses
    // as a whole, and the loser changes nothing.
    if !dryRun {
      let details = History.Details(operation: "rollback", previous: live.digest, version: chosen.version, tags: tags, source: nil, reason: "rollback: \(reason)")
      let lease: History.Lease
      context.doing("taking the lease of \(environment) (writing the intent record); no tag was moved")
      do {
        lease = try await history.begin(manifest.descriptor, details, waiting: waitingNote(environment, log: log))
      } catch let lost as History.LeaseLost {
        reportAbandoned(lost.abandoned, environment: environment, log: log)
        throw leaseFailure(lost, stage: "rollback")
      }
      reportAbandoned(lease.abandoned, environment: environment, log: log)
      // The GitHub deployment of the restored image (deployment: true), in progress while the tags move.
      var deploymentID: Int64?
      if let recorder {
        let recordedSHA = recent.first { $0.record.digest == chosen.digest && $0.record.sha != nil }?.record.sha
        deploymentID = await recorder.beginRestore(
          environment: environment, image: target.with(digest: chosen.digest).description, digest: chosen.digest.description, tags: tags, version: chosen.version, recordedSHA: recordedSHA)
      }
      context.doing("moving \(tags.joined(separator: ", ")) to \(chosen.digest.short)")
      do {
        let seen = lease.recent
        try await moveTags(tags, to: manifest, of: target, client: client, environment: environment, expected: live.digest, stage: "rollback", log: log, mover: { moverNote($0, seen) })
      } catch {
        let failure = await closeFailed(
          (error as? TagMoves.Failed)?.failure ?? error, lease: lease, subject: manifest.descriptor, details: details, history: history, stage: "rollback",
          reason: context.activity.reason(error))
        if let recorder, let deploymentID { await recorder.markFailed(deploymentID, "rollback failed: \(tagMoveOutcome(error))") }
        throw failure
      }
      // The tags moved: the records say so even if the stage's time runs out meanwhile.
      context.doing("recording the rollback of \(environment) (the tags moved)")
      var badDetails = details
      badDetails.version = badVersion
      badDetails.reason = reason
      let bad = badDetails
      let rolledBack: HistoryEntry
      let completed: HistoryEntry
      do {
        (rolledBack, completed) = try await uncancelled {
          let rolledBack = try await history.append(.rolledBack, live, bad, intent: lease.intent.tag)
          return (rolledBack, try await history.complete(lease, manifest.descriptor, details))
        }
      } catch {
        if let recorder, let deploymentID { await recorder.mark(deploymentID, .success, description: "restored \(chosen.digest.short) (history not recorded)") }
        throw unrecordedChange(error, moved: "\(target):\(tags.joined(separator: ", ")) point at \(chosen.digest)", lease: lease, history: history, stage: "rollback")
      }
      if let recorder {
        let marked = await recorder.markRolledBack(digest: live.digest.description, repository: target.with(tag: nil).description, environment: environment, reason: reason)
        if let deploymentID { await recorder.mark(deploymentID, .success, description: "restored \(chosen.digest.short)") }
        outputs["deployment-id"] = deploymentID.map(String.init) ?? ""
        deploymentNote =
          (deploymentID.map { "GitHub deployment \($0) (deploy:rollback) to \(environment): success" }
            ?? "GitHub deployment: not recorded (GitHub refused or could not be reached; see the warnings)")
          + (marked.map { "; deployment \($0) of the bad image marked failure" } ?? "")
      }
      // The summary's history: what the lease read, and what this run wrote (no new listing).
      recent = [completed, rolledBack] + lease.recent
      log.notice("\(environment) rolled back from \(live.digest.short) to \(chosen.digest.short) (\(chosen.version ?? "no version"))", title: "Rolled back")
    }

    // Report.
    var s = StepSummary()
    s.heading(dryRun ? "Rollback of \(environment) in \(target) (dry run)" : "Rolled back \(environment) in \(target)")
    s.table(
      ["", "Digest", "Version"],
      [
        ["Was live", Markdown.code(live.digest.description), Markdown.cell(badVersion ?? "")],
        [dryRun ? "Would be live" : "Live now", Markdown.code(chosen.digest.description), Markdown.cell(chosen.version ?? "")],
      ])
    s.paragraph("Reason: \(reason)")
    if let deploymentNote { s.paragraph(deploymentNote) }
    // What the rollback means for the next promote, where a reader of the summary looks.
    s.raw(
      "\(Markdown.code(live.digest.short)) \(dryRun ? "would be" : "is") quarantined in \(Markdown.cell(environment)): promote refuses it there unless `force: true`.")
    passedOverTable(passedOver, into: &s)
    s.heading("Recent history of \(environment)", level: 3)
    historyTable(recent, into: &s)
    return StageResult(outputs: outputs, summary: s)
  }

  /// The images rollback did not restore, and why (none: nothing).
  private func passedOverTable(_ passedOver: [(entry: HistoryEntry, why: String)], into s: inout StepSummary) {
    guard !passedOver.isEmpty else { return }
    s.heading("Candidates passed over", level: 3)
    s.table(
      ["Digest", "Version", "Promoted (UTC)", "Why"],
      passedOver.map { [Markdown.code($0.entry.record.digest.short), Markdown.cell($0.entry.record.version ?? ""), OCILabelsTime.format($0.entry.record.time), Markdown.cell($0.why)] })
  }
}
