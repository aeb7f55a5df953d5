import ActionsCore
import Basics
import FoundationEssentials
import GitHub
import HTTP
import OCI

/// `rollback` of a release (`release-id`): every image the release promoted goes back to what
/// its environment tag pointed at before the release, or none does.
///
/// plan: for each target, the release's `completed` record (the history rules are
/// ``History``'s: records selected by the environment written in them), the environment tag
/// still at the release's image, and the earlier image whole → execute: every lease, the tags
/// (``TagMoves``: a failure puts back what moved), then per image a `rolled-back`
/// record of the release's image (promote refuses it later unless forced) and a `completed`
/// one, all carrying the release id → report.
struct ReleaseRollback {
  let context: StageContext
  let targets: [Reference]
  let environment: String
  let releaseID: String
  let reason: String
  let extraTags: [String]
  let dryRun: Bool
  /// The GitHub deployments (`deployment: true`): the release's marked failure, one of every
  /// image restored.
  let recorder: DeploymentRecorder?

  /// One image of the release, planned.
  struct Item: Sendable {
    var target: Reference
    var client: RegistryClient
    var history: History
    /// What the environment tag points at (the release's image).
    var live: Descriptor
    var restore: RawManifest
    var record: HistoryEntry
    var current: [String: Digest]
    /// The commit that promoted the image restored, when its record says.
    var restoredSHA: String?
    /// The record that rolled the image restored back from this environment before, if one
    /// did: it was live before the release all the same (promoted again with `force`), so it
    /// is restored, but not in silence (as with single rollback's `to:`).
    var rolledBackBefore: HistoryEntry?
  }

  /// A target with no record of the release: the release found its image live already (no
  /// lease, no record), or never named it. Left where it is when its records show it has
  /// pointed at `live` since before the release (``unchanged(_:since:)``).
  struct Untouched: Sendable {
    var target: Reference
    var live: Digest
    /// Its records read, newest first.
    var entries: [HistoryEntry]
    /// Whether older records exist beyond them.
    var more: Bool
  }

  /// Why `u` cannot be left as it is when the release began at `start` (nil: it can).
  static func unchanged(_ u: Untouched, since start: Date) -> String? {
    let changes = u.entries.filter { $0.record.state == .completed }
    if let later = changes.first(where: { $0.record.time >= start }) {
      return "the release has no record here, and \(later.record.digest.short) was put live at \(RecordTime.iso(later.record.time)), after the release began: it changed since"
    }
    guard let before = changes.first else {
      return
        "no completed promotion of the release here, and no record from before it \(u.more ? "among its newest \(u.entries.count) records" : "at all"): cannot tell what it pointed at before the release"
    }
    guard before.record.digest == u.live else {
      return "the release has no record here, and it is at \(u.live.short), not \(before.record.digest.short) recorded live before the release: it changed since"
    }
    return nil
  }

  /// The targets of `manifest`, `promote-images`, or the `target` input: at most
  /// ``ReleaseManifest/maxImages``, one per repository (as promote takes them: two items of one
  /// repository would take two leases of its environment in one run).
  static func targets(_ context: StageContext) throws -> [Reference] {
    let inputs = context.inputs
    if let path = inputs.string("manifest") {
      return try unique(
        ReleaseManifest.load(path, workspace: context.environment.workspace).images.enumerated().map { i, image in
          do { return try Reference(parsing: image.target).with(tag: nil) } catch { throw InputError("manifest", "images[\(i)].target: \(error)") }
        }, input: "manifest", where: { "images[\($0)] and images[\($1)]" })
    }
    let lines = inputs.list("promote-images", commas: false)
    // Bare targets, one per line: all a rollback reads of the promote step's lines.
    if !lines.isEmpty, !lines.contains(where: { $0.contains("->") }) {
      guard lines.count <= ReleaseManifest.maxImages else { throw InputError("promote-images", "more than \(ReleaseManifest.maxImages) images") }
      return try unique(
        lines.enumerated().map { i, line in
          do { return try Reference(parsing: line).with(tag: nil) } catch { throw InputError("promote-images", "line \(i + 1): \(error)") }
        }, input: "promote-images", where: { "lines \($0 + 1) and \($1 + 1)" })
    }
    if !lines.isEmpty {
      return try unique(
        ReleaseManifest.parseList(lines).images.enumerated().map { i, image in
          do { return try Reference(parsing: image.target).with(tag: nil) } catch { throw InputError("promote-images", "line \(i + 1): \(error)") }
        }, input: "promote-images", where: { "lines \($0 + 1) and \($1 + 1)" })
    }
    return [try RegistryInputs.reference("target", try inputs.require("target")).with(tag: nil)]
  }

  /// `targets`, refused when one repository is named twice (`where` names the two, from their indices).
  private static func unique(_ targets: [Reference], input: String, where place: (Int, Int) -> String) throws -> [Reference] {
    var seen: [String: Int] = [:]
    for (i, t) in targets.enumerated() {
      if let first = seen[t.repositoryKey] {
        throw InputError(input, "\(place(first, i)) both name \(t): a release has one image per target repository")
      }
      seen[t.repositoryKey] = i
    }
    return targets
  }

  func run() async throws -> StageResult {
    let log = context.log
    let context = self.context
    var clients: [String: RegistryClient] = [:]
    for t in targets where clients[t.registry] == nil { clients[t.registry] = try RegistryInputs.client(for: t.registry, side: "target", context: context) }
    let (environment, releaseID, extraTags, dryRun) = (self.environment, self.releaseID, self.extraTags, self.dryRun)
    let pairs = targets.compactMap { t in clients[t.registry].map { (t, $0) } }

    // Plan: every image, and every reason one cannot be rolled back.
    context.doing("reading the records of release \(releaseID) in \(targets.count) repositories; nothing was changed")
    let planned: [Result<Item, ReleaseError>] = try await boundedMap(pairs, concurrency: 8) { target, client in
      do {
        let history = environmentHistory(client: client, repository: target.repository, environment: environment, context: context, readOnly: dryRun)
        let page = try await history.entries(limit: 200)
        warnSkipped(page.skipped, log: log)
        guard let record = page.entries.first(where: { $0.record.state == .completed && $0.record.release == releaseID && $0.record.operation != "rollback" }) else {
          // A release that began here (an intent, a failed promotion) but did not complete is
          // not "untouched": what it left is for a person to judge.
          if page.entries.contains(where: { $0.record.release == releaseID }) {
            return .failure(ReleaseError("no completed promotion of release \(releaseID) to \(environment) in its newest \(page.entries.count) records, only unfinished ones"))
          }
          guard let live = try await client.resolve(target.repository, environment) else { return .failure(ReleaseError("\(target):\(environment) does not exist")) }
          return .failure(
            ReleaseError(
              "no completed promotion of release \(releaseID) to \(environment) in its newest \(page.entries.count) records",
              untouched: Untouched(target: target, live: live.digest, entries: page.entries, more: page.more)))
        }
        guard let live = try await client.resolve(target.repository, environment) else { return .failure(ReleaseError("\(target):\(environment) does not exist")) }
        guard live.digest == record.record.digest else {
          return .failure(ReleaseError("\(environment) is at \(live.digest.short), not the release's \(record.record.digest.short): it changed since the release"))
        }
        guard let previous = record.record.previousDigest else {
          return .failure(ReleaseError("the release put the first image in \(environment); there is nothing earlier to restore"))
        }
        if let missing = try await history.store.missingPart(of: previous) { return .failure(ReleaseError("\(previous.short) cannot be restored: \(missing)")) }
        let restore = try await client.manifest(target.repository, previous.description)
        var current = [environment: live.digest]
        for tag in extraTags where tag != environment { current[tag] = try await client.resolve(target.repository, tag)?.digest }
        let restoredSHA = page.entries.first { $0.record.digest == previous && $0.record.state == .completed && $0.record.sha != nil }?.record.sha
        let quarantine = try await history.quarantine(of: previous, recent: page.entries)
        warnSkipped(quarantine.skipped, log: log)
        return .success(
          Item(
            target: target, client: client, history: history, live: live, restore: restore, record: record, current: current, restoredSHA: restoredSHA,
            rolledBackBefore: quarantine.record))
      } catch {
        if Task.isCancelled { throw error }
        return .failure(ReleaseError("\(error)"))
      }
    }
    var items: [Item] = []
    var failures: [String] = []
    var untouched: [Untouched] = []
    // When the release began: its earliest completed record among the targets.
    let start = planned.compactMap { try? $0.get().record.record.time }.min()
    for (i, r) in planned.enumerated() {
      switch r {
      case .success(let item): items.append(item)
      case .failure(let e):
        // A target the release did not change is left as it is, when its records show it.
        if let u = e.untouched, let start {
          if let why = Self.unchanged(u, since: start) { failures.append("[\(i)] \(targets[i]): \(why)") } else { untouched.append(u) }
        } else {
          failures.append("[\(i)] \(targets[i]): \(e.description)")
        }
      }
    }
    var s = StepSummary()
    s.heading("Rollback of release \(releaseID) in \(environment)\(dryRun ? " (dry run)" : "")")
    s.paragraph("Reason: \(reason)")
    if !failures.isEmpty {
      // The summary lists every image and why (the error line names the first three); before,
      // this was thrown away with the error.
      s.heading("Why nothing was rolled back", level: 3)
      s.list(failures.map { Markdown.text($0) })
      return StageResult(
        outputs: Outputs(), summary: s,
        failure:
          "rollback of release \(releaseID): \(failures.count) of \(Format.count(targets.count, "image")) cannot be rolled back: \(failures.joinedFirst(3, separator: " | ")); nothing was changed"
      )
    }
    for item in items {
      guard let q = item.rolledBackBefore else { continue }
      log.warning(
        "\(item.target): \(item.restore.digest.short), live before release \(releaseID), was rolled back from \(environment) (\(OCILabelsTime.format(q.record.time)), record \(q.tag)) and was live again when the release began; restoring it, as it was live then",
        title: "Restoring a rolled-back image")
    }
    s.table(
      ["Target", "Was live", dryRun ? "Would be live" : "Live now"],
      items.map {
        [
          Markdown.code($0.target.description), Markdown.code($0.live.digest.short),
          Markdown.code($0.restore.digest.short) + ($0.rolledBackBefore.map { Markdown.text(" (rolled back \(OCILabelsTime.format($0.record.time)), live again since)") } ?? ""),
        ]
      }
        + untouched.map { [Markdown.code($0.target.description), Markdown.code($0.live.short), Markdown.code($0.live.short) + Markdown.text(" (not changed by release \(releaseID))")] })
    for u in untouched {
      log.info("\(u.target): not changed by release \(releaseID) (it was live before it, no record of the release): left at \(u.live.short)")
    }
    var outputs = Outputs()
    var map: [String: JSONValue] = [:]
    for item in items { map[item.target.description] = .string(item.restore.digest.description) }
    for u in untouched { map[u.target.description] = .string(u.live.description) }
    outputs["digests"] = (try? JSONValue.object(map).serialized()).flatMap { String(validating: $0, as: UTF8.self) } ?? "{}"
    outputs["release-id"] = releaseID
    if dryRun { return StageResult(outputs: outputs, summary: s) }

    // Execute: the leases, the tags, the records.
    let tags = [environment] + extraTags.filter { $0 != environment }
    let reason = self.reason
    let details = items.map { item in
      History.Details(
        operation: "rollback", previous: item.live.digest, version: nil, tags: tags, source: nil, reason: "rollback of release \(releaseID): \(reason)", release: releaseID)
    }
    context.doing("taking the leases of \(items.count) images (writing intent records); no tag was moved")
    let leases: [Result<History.Lease, any Error>] = try await boundedMap(Array(zip(items, details)), concurrency: 8) { item, details in
      do { return .success(try await item.history.begin(item.restore.descriptor, details, waiting: waitingNote(environment, log: log))) } catch {
        if Task.isCancelled { throw error }
        return .failure(error)
      }
    }
    let taken = Array(zip(items, zip(details, leases)))
    // Closes every lease taken as failed; returns what it could not close, one text each.
    func closeAll(_ why: String) async -> String {
      let open =
        (try? await uncancelled {
          try await boundedMap(taken, concurrency: 8) { item, pair -> String? in
            guard case .success(let lease) = pair.1 else { return nil }
            do {
              _ = try await item.history.fail(lease, item.restore.descriptor, pair.0, reason: why)
              return nil
            } catch {
              return "\(item.target): \(intentLeftOpen(lease, history: item.history, closing: error))"
            }
          }
        }) ?? []
      let texts = open.compactMap { $0 }
      return texts.isEmpty ? "" : "; " + texts.joinedFirst(3, separator: "; ")
    }
    if let i = leases.firstIndex(where: { if case .failure = $0 { true } else { false } }), case .failure(let error) = leases[i] {
      let open = await closeAll("nothing moved: \(items[i].target) could not take its lease")
      let why = (error as? History.LeaseLost).map { leaseFailure($0, stage: "rollback").message } ?? "\(error)"
      throw StageFailure("\(items[i].target): \(why); no tag of the release moved\(open)", title: "rollback failed")
    }
    // One GitHub deployment of every image restored (deployment: true), in progress while the tags move.
    var deploymentID: Int64?
    if let recorder {
      // Its ref: the commit that promoted the images restored, when their records agree on one.
      let shas = Set(items.map { $0.restoredSHA })
      deploymentID = await recorder.beginReleaseRestore(
        environment: environment, releaseID: releaseID,
        images: items.map { DeploymentPayload.Image(image: $0.target.description, digest: $0.restore.digest.description, tags: tags) },
        recordedSHA: shas.count == 1 ? shas.first ?? nil : nil)
    }
    context.doing("moving \(environment) back in \(items.count) repositories")
    do {
      var moves = TagMoves(
        items.map { TagMoves.TagSet(dst: $0.client, target: $0.target, manifest: $0.restore, tags: tags, current: $0.current, environment: environment) }, concurrency: 4)
      moves.stage = "rollback"
      _ = try await moves.run(log: log)
    } catch {
      let open = await closeAll(context.activity.reason(error))
      let failed = error as? TagMoves.Failed
      if let recorder, let deploymentID { await recorder.markFailed(deploymentID, "rollback of release \(releaseID) failed: \(tagMoveOutcome(error))") }
      guard !open.isEmpty else { throw failed?.failure ?? error }
      let failure = failed?.failure ?? (error as? StageFailure)
      throw StageFailure("\(failure?.message ?? "\(error)")\(open)", title: failure?.title ?? "rollback failed")
    }
    context.doing("recording the rollback of release \(releaseID) (the tags moved)")
    // Every image's records are tried, each failure named: past the point of no return.
    let unrecorded: [StageFailure] = try await uncancelled {
      try await boundedMap(taken, concurrency: 8) { item, pair -> StageFailure? in
        guard case .success(let lease) = pair.1 else { return nil }
        var bad = pair.0
        bad.version = item.record.record.version
        bad.reason = reason
        do {
          _ = try await item.history.append(.rolledBack, item.live, bad, intent: lease.intent.tag)
          _ = try await item.history.complete(lease, item.restore.descriptor, pair.0)
          return nil
        } catch {
          return unrecordedChange(error, moved: "\(item.target) points at \(item.restore.digest.short)", lease: lease, history: item.history, stage: "rollback")
        }
      }
    }.compactMap { $0 }
    if !unrecorded.isEmpty {
      if let recorder, let deploymentID { await recorder.mark(deploymentID, .success, description: "release \(releaseID) rolled back (history incomplete)") }
      throw StageFailure(
        "rollback of release \(releaseID): every image was restored, \(unrecorded.count) of \(items.count) not recorded: \(unrecorded.map(\.message).joinedFirst(3, separator: " | "))",
        title: "rollback: history not recorded")
    }
    if let recorder {
      _ = await recorder.markReleaseRolledBack(
        releaseID: releaseID, live: items.map { DeploymentPayload.Image(image: $0.target.description, digest: $0.live.digest.description, tags: nil) },
        environment: environment, reason: reason)
      if let deploymentID { await recorder.mark(deploymentID, .success, description: "release \(releaseID) rolled back: \(Format.count(items.count, "image")) restored") }
      outputs["deployment-id"] = deploymentID.map(String.init) ?? ""
      s.paragraph(
        deploymentID.map { "GitHub deployment \($0) (deploy:rollback) lists every image restored; the release's deployment is marked failure" }
          ?? "GitHub deployment: not recorded (GitHub refused or could not be reached; see the warnings)")
    }
    log.notice("release \(releaseID) rolled back in \(environment): \(Format.count(items.count, "image")) restored", title: "Rolled back")
    return StageResult(outputs: outputs, summary: s)
  }
}
