import ActionsCore
import Basics
import FoundationEssentials
import GitHub
import HTTP
import OCI

/// `promote` of a set: every image of a release moves, or none does.
///
/// settings (``ReleaseSettings``) → plan: an ``ImagePlan`` per image, every gate run on every
/// image, and nothing copied unless all pass → execute: every copy (one ``CopyBudget`` per
/// registry across images), then every environment's lease, then the tags — the other tags
/// first, the environment tags last, each moved tag put back if a later one fails
/// (``TagMoves``) → report: one record per image linked by the release id, a JSON map
/// of digests, a summary table of the whole release.
struct Release {
  let settings: ReleaseSettings
  let context: StageContext
  /// What the sources may make Gantry hold for a whole release (manifests, attachments, the
  /// configs kept for the copy): 2,000 images of 30 manifests take a tenth of it.
  static let heldBytes = 512 << 20
  /// Failing images the error names; the summary lists all.
  static let failuresShown = 10

  /// The failure of a release, with every image that failed and why.
  struct ImageFailure {
    var index: Int
    var label: String
    var why: String
  }

  func run() async throws -> StageResult {
    let clock = ContinuousClock()
    let started = clock.now
    let log = context.log
    // A copy job plans and copies its shard only; every other phase takes every image.
    // `positions` keep each image's place in the manifest: messages say `[i]` as the file does.
    let positions = Array(settings.images.indices).filter { settings.phase != .copy || $0 % settings.shard.count == settings.shard.index - 1 }
    let images = positions.map { settings.images[$0] }
    log.info("release \(settings.releaseID): \(images.count) image\(images.count == 1 ? "" : "s") from `\(settings.origin)`")

    // Plan: one client per registry and side (their connections and tokens are shared), then
    // every image resolved and validated; an image that cannot even be read is a failure of
    // the plan like a failed check, reported with the others.
    var clients: [String: RegistryClient] = [:]
    for image in images {
      for (registry, side) in [(image.source.registry, "source"), (image.target.registry, "target")] where clients["\(side) \(registry)"] == nil {
        clients["\(side) \(registry)"] = try RegistryInputs.client(for: registry, side: side, context: context)
      }
    }
    let pairs = images.map { ($0, clients["source \($0.source.registry)"], clients["target \($0.target.registry)"]) }
    let context = self.context
    // Only a phase that copies asks the targets which blobs they have.
    let copying = settings.phase == .all || settings.phase == .copy
    context.doing("validating \(images.count) images; nothing was copied and no tag moved")
    // What the sources may make Gantry hold, for the whole release: every image's manifests,
    // attachments and the configs kept for the copy, counted together.
    let limits = {
      var l = ImageGraph.Limits()
      l.bytes = Self.heldBytes
      l.tally = ByteTally()
      return l
    }()
    let results: [Result<ImagePlan, ReleaseError>] = try await log.group("Validate \(Format.count(images.count, "image"))") {
      try await boundedMap(pairs, concurrency: min(8, settings.concurrency * 2)) { settings, src, dst in
        guard let src, let dst else { return .failure(ReleaseError("no client")) }
        do { return .success(try await ImagePlan.make(settings, src: src, dst: dst, context: context, copies: copying, limits: limits)) } catch let e as CancellationError {
          throw e
        } catch {
          if Task.isCancelled { throw error }
          return .failure(ReleaseError("\(error)"))
        }
      }
    }
    var plans: [ImagePlan] = []
    var failures: [ImageFailure] = []
    for (index, result) in results.enumerated() {
      let label = images[index].target.with(tag: nil).description
      switch result {
      case .success(let plan):
        plans.append(plan)
        let failed = plan.failures
        if !failed.isEmpty { failures.append(ImageFailure(index: positions[index], label: label, why: failed.map { "\($0.name): \($0.detail)" }.joined(separator: "; "))) }
      case .failure(let e): failures.append(ImageFailure(index: positions[index], label: label, why: e.description))
      }
    }
    var report = ReleaseReport(releaseID: settings.releaseID, environment: settings.environment, images: images, positions: positions, plans: results.map { try? $0.get() })
    report.failures = failures
    if !failures.isEmpty {
      report.status = "validation failed"
      // The first ten in the error (a release of 1,000 failing images made one line of
      // 200 KB); the summary's table has every one.
      let list = failures.map { "[\($0.index)] \($0.label): \($0.why)" }.joinedFirst(Self.failuresShown, separator: " | ", more: " (the step summary lists every image and why)")
      return RateLimitReport.result(
        outputs: report.failureOutputs(), summary: report.render(),
        failure: "validation failed for \(failures.count) of \(images.count) images: \(list); nothing was copied and no tag moved", context)
    }
    if settings.dryRun || settings.phase == .validate {
      report.status = settings.dryRun ? "dry-run" : "validated"
      return RateLimitReport.result(outputs: report.outputs(status: report.status, started: started, clock: clock), summary: report.render(), context)
    }
    if settings.phase == .finish {
      // The copy jobs put every image at its target by digest; one that is not there stops
      // the release before any lease or tag.
      let absent = plans.enumerated().filter { !$0.element.alreadyThere }.map { "[\($0.offset)] \($0.element.target)@\($0.element.root.digest.short)" }
      if !absent.isEmpty {
        report.status = "not copied"
        return RateLimitReport.result(
          outputs: report.failureOutputs(), summary: report.render(),
          failure: "\(absent.count) of \(plans.count) images are not at their target: \(absent.joined(separator: ", ")); did every copy job succeed? No tag moved", context)
      }
    }

    // Execute 1: copy every image, blobs before manifests, sharing one budget per registry.
    let budget = CopyBudget(limit: settings.concurrency)
    let totalBlobs = plans.reduce(0) { $0 + ($1.alreadyThere ? 0 : $1.graph.blobs.count) }
    context.doing("copying \(totalBlobs) blobs of \(plans.count) images; no tag moved")
    let copies: [(CopyReport, [CarriedAttachment])] = try await log.group("Copy \(Format.count(plans.count, "image")) (\(Format.count(totalBlobs, "blob")))") {
      try await boundedMap(plans, concurrency: max(settings.concurrency, 8)) { plan in
        var options = plan.settings.copy
        options.budget = budget
        options.concurrency = settings.concurrency
        let copier = plan.copier(options)
        // Every blob and platform manifest is at the target before any tag moves. The root
        // itself goes up with its first tag (a PUT by tag stores the manifest), one request
        // per image less; a refused one is put back like any failed tag move. A copy job
        // puts it by digest: the finishing job finds each image by it.
        let copied = try await copier.copy(plan.graph, rootPresent: plan.alreadyThere, pushRoot: settings.phase == .copy, present: plan.blobsAtTarget)
        // finish: the copy jobs carried them.
        let carried = settings.phase != .finish && plan.settings.copyArtifacts && !plan.attachments.isEmpty ? try await AttachmentCopier(copier: copier).carry(plan.attachments) : []
        log.info("\(plan.target)@\(plan.root.digest.short): \(copied.line)")
        return (copied, carried)
      }
    }
    report.copies = copies.map(\.0)
    if settings.phase == .copy {
      report.status = "copied"
      log.notice("release \(settings.releaseID): shard \(settings.shard.index)/\(settings.shard.count) copied \(plans.count) images; no tag moved", title: "Copied")
      return RateLimitReport.result(outputs: report.outputs(status: "copied", started: started, clock: clock), summary: report.render(), context)
    }

    // Execute 2: the leases of every environment that changes (an intent record per image).
    let details = plans.map { $0.details(release: settings.releaseID) }
    context.doing("taking the leases of \(plans.count) images (writing intent records); no tag moved")
    let leases = try await takeLeases(plans, details)

    // The release's one GitHub deployment (deployment: true), in progress while the tags move.
    let recorder = settings.deployment.map { DeploymentRecorder(settings: $0, log: log) }
    var deploymentID: Int64?
    if let recorder, let environment = settings.environment {
      context.doing("recording the GitHub deployment of release \(settings.releaseID); no tag moved")
      deploymentID = await recorder.beginRelease(
        environment: environment, releaseID: settings.releaseID,
        images: plans.map { DeploymentPayload.Image(image: $0.target.description, digest: $0.root.digest.description, tags: $0.settings.tags) })
    }

    // Execute 3: move the tags, environment tags last; on failure put back what moved.
    context.doing("moving the tags of \(plans.count) images")
    do {
      // Small requests, as many at once as validation's and the history's: a registry's tag
      // write waits on its disk more than on its CPU, and the release is half-moved meanwhile.
      let moves = TagMoves(plans: plans, concurrency: max(settings.concurrency, 8))
      report.unchanged = try await moves.run(log: log)
    } catch {
      let why = context.activity.reason(error)
      let open = await closeLeases(plans, details, leases, failure: why)
      let failed = error as? TagMoves.Failed
      if let recorder, let deploymentID { await recorder.markFailed(deploymentID, "release \(settings.releaseID) failed: \(tagMoveOutcome(error))") }
      throw withOpenIntents(failed?.failure ?? error, open)
    }
    context.doing("recording the release in the history of \(plans.count) images (the tags moved)")
    let work = Array(zip(plans, zip(details, leases)))
    // Every image's record is tried, each failure named: past the point of no return.
    let unrecorded: [StageFailure] = try await uncancelled {
      try await boundedMap(work, concurrency: 8) { plan, pair -> StageFailure? in
        guard let history = plan.history, let lease = pair.1 else { return nil }
        do {
          _ = try await history.complete(lease, plan.root.descriptor, pair.0)
          return nil
        } catch {
          return unrecordedChange(error, moved: "\(plan.target) points at \(plan.root.digest.short)", lease: lease, history: history, stage: "promote")
        }
      }
    }.compactMap { $0 }
    if !unrecorded.isEmpty {
      if let recorder, let deploymentID {
        await recorder.mark(deploymentID, .success, description: "release \(settings.releaseID): \(Format.count(plans.count, "image")) promoted (history incomplete)")
      }
      throw StageFailure(
        "release \(settings.releaseID): every image was promoted, \(unrecorded.count) of \(plans.count) not recorded: \(unrecorded.map(\.message).joinedFirst(3, separator: " | "))",
        title: "promote: history not recorded")
    }
    if let recorder, let deploymentID {
      await recorder.mark(deploymentID, .success, description: "release \(settings.releaseID): \(Format.count(plans.count, "image")) promoted")
    }
    if let environment = settings.environment, recorder != nil {
      report.deploymentID = deploymentID.map(String.init) ?? ""
      report.deploymentNote =
        deploymentID.map { "GitHub deployment \($0) of the whole release to \(environment): success (its payload lists every image)" }
        ?? "GitHub deployment: not recorded (GitHub refused or could not be reached; see the warnings)"
    }
    report.status = "promoted"
    log.notice("release \(settings.releaseID): \(Format.count(plans.count, "image"))\(settings.environment.map { " to \($0)" } ?? "")", title: "Promoted")
    return RateLimitReport.result(outputs: report.outputs(status: "promoted", started: started, clock: clock), summary: report.render(), context)
  }

  /// Takes the lease of every image whose environment tag changes. When one is lost, the
  /// leases taken are closed as failed and nothing moves.
  private func takeLeases(_ plans: [ImagePlan], _ details: [History.Details]) async throws -> [History.Lease?] {
    let log = context.log
    let results: [Result<History.Lease?, any Error>] = try await boundedMap(Array(zip(plans, details)), concurrency: 8) { plan, details in
      guard let history = plan.history, let environment = plan.settings.environment, plan.previous != plan.root.digest else { return .success(nil) }
      do {
        let lease = try await history.begin(plan.root.descriptor, details, waiting: waitingNote(environment, log: log))
        reportAbandoned(lease.abandoned, environment: environment, log: log)
        warnSkipped(lease.skipped, log: log)
        return .success(lease)
      } catch let lost as History.LeaseLost {
        reportAbandoned(lost.abandoned, environment: environment, log: log)
        return .failure(leaseFailure(lost, stage: "promote"))
      } catch {
        if Task.isCancelled { throw error }
        return .failure(error)
      }
    }
    let leases = results.map { try? $0.get() }
    if let index = results.firstIndex(where: { if case .failure = $0 { true } else { false } }), case .failure(let error) = results[index] {
      let open = await closeLeases(plans, details, leases.map { $0 ?? nil }, failure: "nothing moved: \(plans[index].target) could not take its lease")
      throw withOpenIntents(StageFailure("\(plans[index].target): \(error); no tag of the release moved", title: "promote failed"), open)
    }
    return leases.map { $0 ?? nil }
  }

  /// Closes every lease taken as failed (also when the stage's time ran out). Returns what
  /// could not be closed, one text per intent left open.
  private func closeLeases(_ plans: [ImagePlan], _ details: [History.Details], _ leases: [History.Lease?], failure: String) async -> [String] {
    let work = Array(zip(plans, zip(details, leases)))
    let open =
      (try? await uncancelled {
        try await boundedMap(work, concurrency: 8) { plan, pair -> String? in
          guard let history = plan.history, let lease = pair.1 else { return nil }
          do {
            _ = try await history.fail(lease, plan.root.descriptor, pair.0, reason: failure)
            return nil
          } catch {
            return "\(plan.target): \(intentLeftOpen(lease, history: history, closing: error))"
          }
        }
      }) ?? []
    return open.compactMap { $0 }
  }

  /// `error`, with what `closeLeases` could not close said after it.
  private func withOpenIntents(_ error: any Error, _ open: [String]) -> any Error {
    guard !open.isEmpty else { return error }
    let failure = error as? StageFailure
    return StageFailure("\(failure?.message ?? "\(error)"); \(open.joinedFirst(3, separator: "; "))", title: failure?.title ?? "promote failed")
  }
}

/// A failure of one image's plan (its text).
struct ReleaseError: Error, Sendable, CustomStringConvertible {
  var description: String
  /// Rollback: the target has no record of the release (it may be one the release found live).
  var untouched: ReleaseRollback.Untouched?
  init(_ description: String, untouched: ReleaseRollback.Untouched? = nil) {
    self.description = description
    self.untouched = untouched
  }
}
