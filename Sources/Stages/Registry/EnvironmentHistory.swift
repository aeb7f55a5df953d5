import ActionsCore
import Basics
import FoundationEssentials
import HTTP
import OCI

/// The environment's history as this run sees it: the GitHub run stamped into its records, the
/// lease timeout from `GANTRY_LEASE_SECONDS` (default 600).
func environmentHistory(client: RegistryClient, repository: String, environment: String, context: StageContext, readOnly: Bool) -> History {
  let env = context.environment
  let timeout = env["GANTRY_LEASE_SECONDS"].flatMap { TimeInterval($0) }.flatMap { $0 > 0 && $0 <= HistoryRules.longestLease ? $0 : nil } ?? 600
  // The registry's clock, which every run changing the environment shares.
  let log = context.log
  let clock = RegistryHistoryClock(server: client.serverClock) { offset in
    guard client.serverClock.claimReport() else { return }
    log.warning(
      "this runner's clock and \(client.registry)'s differ by \(Int(abs(offset).rounded())) s (the runner's is \(offset > 0 ? "behind" : "ahead")): history's lease and record times follow the registry's clock, which every run shares",
      title: "Clock skew")
  }
  var history = History(
    client: client, repository: repository, environment: environment, run: HistoryRun(runURL: env.runURL, actor: env.actor, sha: env.sha), clock: clock, leaseTimeout: timeout)
  history.readOnly = readOnly
  history.stopCause = { [activity = context.activity] in activity.stopCause }
  return history
}

/// Logs each damaged record once, as a warning (record text goes through the log's escaping).
func warnSkipped(_ skipped: [SkippedRecord], log: Log) {
  var seen = Set<String>()
  for s in skipped where seen.insert(s.tag).inserted { log.warning(s.description) }
}

/// Logs the dead runs' intents this run recorded as abandoned.
func reportAbandoned(_ abandoned: [HistoryEntry], environment: String, log: Log) {
  for a in abandoned {
    log.warning(
      "history: a run (\(a.record.runURL ?? "unknown")) began changing \(environment) to \(a.record.digest.short) at \(RecordTime.iso(a.record.time)) and never finished; its lease ended, recorded it as abandoned"
    )
  }
}

/// Logs a younger run this one waits for (it yields, or finishes first and wins).
func waitingNote(_ environment: String, log: Log) -> @Sendable (HistoryEntry) -> Void {
  { other in
    log.info(
      "history: waiting for \(other.record.runURL ?? "another run"), which began changing \(environment) to \(other.record.digest.short) just after this run (its lease ends \(RecordTime.iso(other.record.leaseExpires ?? other.record.time)))"
    )
  }
}

/// The failure of a run that lost the environment's lease to another run.
func leaseFailure(_ lost: History.LeaseLost, stage: String) -> StageFailure {
  StageFailure("race: \(lost.description); this \(stage) moved no tag", title: "\(stage) failed")
}

/// Points `tags` at `manifest`, the last step of promote and rollback (under the
/// environment's lease): first re-reads the environment tag and stops, moving nothing, if it
/// is no longer `expected` (a run that finished before this one took the lease moved it:
/// `mover` names it); then puts the other tags, then the environment tag, and reads every
/// tag back. When a put or a read-back fails, the tags go back where they were
/// (``TagMoves``): a failed promotion or rollback moves no tag, or says which it could
/// not put back.
///
/// `current` holds what tags were read to point at during this run (nil: read them now, the
/// environment tag excepted: it is at `expected`): a tag already at `manifest` is neither put
/// again nor re-read (that read is its read-back), as crane skips a manifest the registry
/// already has under the tag. Returns the tags that were put.
@discardableResult
func moveTags(
  _ tags: [String], to manifest: RawManifest, of target: Reference, client: RegistryClient, environment: String?, expected: Digest?, stage: String,
  current known: [String: Digest]? = nil, log: Log, mover: (Digest?) -> String = { _ in "" }
) async throws -> [String] {
  let repository = target.repository
  var current: [String: Digest]
  if let known {
    current = known
  } else {
    current = [:]
    let others = tags.filter { $0 != environment }
    for (tag, digest) in zip(others, try await boundedMap(others, concurrency: 8) { try await client.resolve(repository, $0)?.digest }) { current[tag] = digest }
  }
  if let environment { current[environment] = expected }
  let moving = tags.filter { current[$0] != manifest.digest }
  if let environment, moving.contains(environment) {
    let now = try await client.resolve(repository, environment)?.digest
    guard now == expected else {
      throw StageFailure(
        "race: \(target):\(environment) moved from \(expected?.description ?? "nothing") to \(now?.description ?? "nothing") while this \(stage) ran\(mover(now)); no tag was moved",
        title: "\(stage) failed")
    }
  }
  // The other tags first, the environment tag last, each read back; when a put or a
  // read-back fails, every tag this run moved (and the failed one, which the registry may
  // have applied before failing) goes back where it was, and the failure says which did.
  var moves = TagMoves(
    [TagMoves.TagSet(dst: client, target: target, manifest: manifest, tags: moving, current: current, environment: environment)], concurrency: 8)
  moves.stage = stage
  moves.isRelease = false
  moves.checksEnvironments = false
  _ = try await moves.run(log: log)
  return moving
}

/// The failure of a run whose tags moved but whose closing record could not be written (twice):
/// past the point of no return, nothing to undo, and the open intent holds the environment
/// until its lease ends. Says exactly that, with `moved` naming what is live now.
func unrecordedChange(_ error: any Error, moved: String, lease: History.Lease, history: History, stage: String) -> StageFailure {
  StageFailure(
    "the tags moved (\(moved)) but recording it in \(history.environment)'s history failed: \(error); \(stillOpen(lease, history: history)); the tags need no undoing",
    title: "\(stage): history not recorded")
}

/// Closes `lease` as failed after its change failed with `error`; when that record cannot be
/// written either, the failure says which intent stays open and until when. The record is
/// written to the end despite a cancellation (a stage's timeout, a cancelled run); `why` is its
/// reason (``StageActivity/reason(_:)``: it names what stopped the stage).
func closeFailed(_ error: any Error, lease: History.Lease, subject: Descriptor, details: History.Details, history: History, stage: String, reason why: String) async -> any Error {
  do {
    _ = try await uncancelled { try await history.fail(lease, subject, details, reason: why) }
    return error
  } catch let closing {
    let failure = error as? StageFailure
    return StageFailure("\(failure?.message ?? why); \(intentLeftOpen(lease, history: history, closing: closing))", title: failure?.title ?? "\(stage) failed")
  }
}

/// "recording the failure failed too (…): the intent record … stays open …".
func intentLeftOpen(_ lease: History.Lease, history: History, closing: any Error) -> String {
  "recording the failure failed too (\(closing)): \(stillOpen(lease, history: history))"
}

/// "the intent record … stays open, so … are refused until its lease ends at …".
private func stillOpen(_ lease: History.Lease, history: History) -> String {
  let end = HistoryRules.leaseEnd(lease.intent, timeout: history.leaseTimeout)
  return
    "the intent record \(lease.intent.tag) stays open, so other promotions and rollbacks of \(history.environment) are refused until its lease ends at \(RecordTime.iso(end))"
}

/// " (<run URL>, record <tag>)" for the newest completed record that made `digest` live.
func moverNote(_ digest: Digest?, _ recent: [HistoryEntry]) -> String {
  guard let e = HistoryRules.liveRecord(recent, digest: digest) else { return "" }
  return " (by \(e.record.runURL ?? "an unknown run"), record \(e.tag))"
}

/// The environment's recent history as a summary table.
func historyTable(_ entries: [HistoryEntry], into summary: inout StepSummary, limit: Int = 10) {
  guard !entries.isEmpty else { return }
  summary.table(
    ["Time (UTC)", "State", "Digest", "Version", "Actor", "Reason"],
    entries.prefix(limit).map { e in
      [
        OCILabelsTime.format(e.record.time), stateLabel(e, among: entries), Markdown.code(e.record.digest.short), Markdown.cell(e.record.version ?? ""),
        Markdown.cell(e.record.actor ?? ""), Markdown.cell(e.record.reason ?? ""),
      ]
    })
}

/// A record's state as a person reads it: an intent (`in-progress`) that a record of the list
/// closes reads "in-progress (closed)", so a finished run's lease is not taken for a live one.
func stateLabel(_ entry: HistoryEntry, among entries: [HistoryEntry]) -> String {
  let state = entry.record.state.rawValue
  guard entry.record.state == .inProgress, entries.contains(where: { $0.record.intent == entry.tag }) else { return state }
  return state + " (closed)"
}

enum OCILabelsTime {
  static func format(_ date: Date) -> String {
    UTCTime(date).dateTime
  }
}

/// Environment names become tags and name record tags (grammar: ``EnvironmentName``).
func environmentTag(_ name: String) throws -> String {
  if let problem = EnvironmentName.problem(name) {
    throw InputError("environment", "'\(name.clipped(to: 100))' cannot be an environment name: \(problem)")
  }
  return name
}

extension Optional {
  func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
    guard let self else { return nil }
    return try await transform(self)
  }
}
