import Basics
import FoundationEssentials

/// The rules history is read by: pure functions of records already read, so they are the
/// same for promote, rollback and history, and testable without a registry.
public enum HistoryRules {
  /// States that close an intent.
  static let closing: Set<PromotionState> = [.completed, .failed, .abandoned]

  /// Whether the intent `intent` is closed by one of `entries`: a format 2 record names it; a
  /// format 1 intent (no lease fields) is closed by a later completed or failed record of the
  /// same run and image, as that format wrote them.
  public static func isClosed(_ intent: HistoryEntry, by entries: [HistoryEntry]) -> Bool {
    entries.contains { e in
      guard closing.contains(e.record.state) else { return false }
      if e.record.intent == intent.tag { return true }
      return intent.record.format == nil && e.record.intent == nil && e.tag > intent.tag && e.record.digest == intent.record.digest && e.record.runURL == intent.record.runURL
    }
  }

  /// The longest lease a run may take (`GANTRY_LEASE_SECONDS` is at most this): a record's
  /// `leaseExpires` later than this after its time is not believed.
  public static let longestLease: TimeInterval = 86_400

  /// When an intent's lease ends: as written, or `timeout` after it began (format 1); at most
  /// ``longestLease`` after it began (a record's `leaseExpires` of 9999 held every later run
  /// waiting for it for ever).
  public static func leaseEnd(_ intent: HistoryEntry, timeout: TimeInterval) -> Date {
    min(intent.record.leaseExpires ?? intent.record.time.addingTimeInterval(timeout), intent.record.time.addingTimeInterval(longestLease))
  }

  /// Whether `intent` is dated later than any live run could date it at `now` (the registry's
  /// clock, which every run shares): more than `timeout` ahead. Such an intent is no run's: a
  /// record tagged and dated 2099 sorted as the youngest run, and every run waited for it.
  public static func isFromTheFuture(_ intent: HistoryEntry, now: Date, timeout: TimeInterval) -> Bool {
    intent.record.time > now.addingTimeInterval(timeout)
  }

  /// In-progress records not closed by any of `entries`, oldest first.
  public static func unclosedIntents(_ entries: [HistoryEntry]) -> [HistoryEntry] {
    entries.filter { $0.record.state == .inProgress && !isClosed($0, by: entries) }.sorted { $0.tag < $1.tag }
  }

  /// Unclosed intents whose lease still runs at `now` (live runs), oldest first. An intent
  /// older than the newest completed change is decided whatever its records say (its run
  /// saw that change and lost, or will): its closing record may be damaged or on its way.
  public static func openIntents(_ entries: [HistoryEntry], now: Date, timeout: TimeInterval) -> [HistoryEntry] {
    let newestChange = entries.filter { $0.record.state == .completed }.map { $0.record.intent ?? $0.tag }.max() ?? ""
    return unclosedIntents(entries).filter { leaseEnd($0, timeout: timeout) > now && $0.tag > newestChange && !isFromTheFuture($0, now: now, timeout: timeout) }
  }

  /// Unclosed intents whose lease has ended at `now`: their runs died.
  public static func staleIntents(_ entries: [HistoryEntry], now: Date, timeout: TimeInterval) -> [HistoryEntry] {
    unclosedIntents(entries).filter { leaseEnd($0, timeout: timeout) <= now || isFromTheFuture($0, now: now, timeout: timeout) }
  }

  /// The record that made `digest` live: the newest completed record of it.
  public static func liveRecord(_ entries: [HistoryEntry], digest: Digest?) -> HistoryEntry? {
    entries.first { $0.record.state == .completed && $0.record.digest == digest }
  }

  /// A rolled-back record of `digest` among `entries`, if any.
  public static func rolledBack(_ entries: [HistoryEntry], digest: Digest) -> HistoryEntry? {
    entries.first { $0.record.state == .rolledBack && $0.record.digest == digest }
  }

  /// Completed records of images other than `current`, newest first, each image once: the
  /// order rollback considers them in.
  public static func candidates(_ entries: [HistoryEntry], current: Digest?, seen: inout Set<Digest>) -> [HistoryEntry] {
    var out: [HistoryEntry] = []
    for e in entries where e.record.state == .completed && e.record.digest != current && !seen.contains(e.record.digest) {
      seen.insert(e.record.digest)
      out.append(e)
    }
    return out
  }
}
