import Basics
import FoundationEssentials
import HTTP

/// Promotion history of one environment, kept in the target repository itself (see
/// ``HistoryStore`` for the storage, ``HistoryRules`` for the rules, ``RecordTag`` for names).
///
/// promote and rollback change an environment under a lease:
/// 1. ``begin(_:)`` writes an intent (`in-progress`, with a lease end), reads the environment's
///    recent records, records dead runs' intents (lease ended) as `abandoned`, and compares
///    the open intents. An older open intent wins: this run closes its intent as `failed` and
///    throws ``LeaseLost``. A younger open intent is waited for: it either saw ours and
///    yields, or did not (its intent landed after our read) and goes on — then its
///    `completed` record makes us lose. Every pair of runs has at least one that sees the
///    other (each reads after its own write), so at most one moves the tag.
/// 2. The caller moves the tag and reads it back, then ``complete(_:_:)`` or ``fail(_:reason:)``.
public struct History: Sendable {
  public let store: HistoryStore
  public let environment: String
  public let run: HistoryRun
  public let clock: any HistoryClock
  /// How long an intent holds the environment; after that its run is taken for dead.
  public let leaseTimeout: TimeInterval
  /// How often a run waiting for a younger intent looks again.
  public var pollInterval: Duration = .milliseconds(200)
  /// Reads only: nothing is written to the registry (dry runs). Only the one-time indexing of
  /// earlier records is gated here; the writing calls are simply not made in a dry run.
  public var readOnly = false
  /// What cancels a run ("the stage's timeout", "SIGINT"), for the record of an intent closed
  /// because its run was stopped while taking the lease; nil: "a cancellation".
  public var stopCause: @Sendable () -> String? = { nil }

  public init(
    client: RegistryClient, repository: String, environment: String, run: HistoryRun = HistoryRun(runURL: nil, actor: nil, sha: nil), clock: any HistoryClock = SystemHistoryClock(),
    leaseTimeout: TimeInterval = 600
  ) {
    self.store = HistoryStore(client: client, repository: repository)
    self.environment = environment
    self.run = run
    self.clock = clock
    self.leaseTimeout = leaseTimeout
  }

  /// Records of this environment read so far, newest first, and those skipped as damaged.
  public struct Page: Sendable {
    public var entries: [HistoryEntry] = []
    public var skipped: [SkippedRecord] = []
    /// Whether older records exist beyond these.
    public var more = false
    /// Every tag of the repository as listed for these records (``entries(limit:states:)``),
    /// so that a question asked right after (``quarantine(of:recent:listing:)``) needs no
    /// listing of its own.
    public var listing: [String]?
  }

  // MARK: Reading

  /// The names of the environment's record tags (taken newest first; parsed when read).
  func tags() async throws -> RecordNames { try await store.recordTags(key: EnvironmentName.key(environment)) }

  /// Reads `names` (several at once; names that are not record tags of this environment are
  /// passed over), keeping the records of this environment: the JSON says which environment a
  /// record is of, whatever its tag looks like.
  /// `known`: records this run wrote itself, taken as they are instead of read again.
  func read(_ names: some Collection<String>, known: [HistoryEntry] = []) async throws -> Page {
    let key = EnvironmentName.key(environment)
    let tags = names.compactMap { RecordTag($0) }.filter { $0.key == key }
    let store = self.store
    let results = try await boundedMap(Array(tags), concurrency: 8) { tag in
      if let mine = known.first(where: { $0.tag == tag.tag }) { return Result<PromotionRecord, SkippedRecord>.success(mine.record) }
      return try await store.read(tag.tag)
    }
    var page = Page()
    for (tag, result) in zip(tags, results) {
      switch result {
      case .success(let record) where record.environment == environment: page.entries.append(HistoryEntry(tag: tag.tag, record: record))
      case .success: continue
      case .failure(let skipped): page.skipped.append(skipped)
      }
    }
    return page
  }

  /// The newest `limit` records (after `states`, when given), newest first. Reads pages of
  /// records until it has enough, so a filter over a long history reads further back.
  public func entries(limit: Int = 100, states: Set<PromotionState>? = nil) async throws -> Page {
    let listing = try await store.listing()
    var names = HistoryStore.recordTags(in: listing, key: EnvironmentName.key(environment))
    var out = Page()
    out.listing = listing
    while out.entries.count < limit {
      let batch = names.next(max(16, limit - out.entries.count))
      if batch.isEmpty { break }
      let page = try await read(batch)
      out.entries += page.entries.filter { states?.contains($0.record.state) ?? true }
      out.skipped += page.skipped
    }
    out.more = names.hasMore || out.entries.count > limit
    out.entries = Array(out.entries.prefix(limit))
    return out
  }

  /// The records a lease decision needs: every record of the last lease period (and a bit,
  /// for clock skew), and at least the newest 10. `known` (this run's intent) is not read again.
  func window(known: [HistoryEntry] = []) async throws -> Page {
    let since = clock.now().addingTimeInterval(-leaseTimeout - 120)
    let key = EnvironmentName.key(environment)
    var names = try await tags()
    var picked: [String] = []
    // Newest first: parse only until a record older than the window, once 10 are picked.
    pages: while true {
      let page = names.next(16)
      if page.isEmpty { break }
      for name in page {
        guard let tag = RecordTag(name), tag.key == key else { continue }
        if picked.count >= 10, tag.time < since { break pages }
        picked.append(name)
      }
    }
    return try await read(picked, known: known)
  }

  /// The record that says `digest` was rolled back from this environment, if one does. Asks
  /// the registry about the digest (its records, through referrers or the fallback index), so
  /// the answer does not depend on how long the history is. Records written by earlier Gantry
  /// versions on registries without the referrers API are found by reading the environment's
  /// records once, and indexed when this run takes the lease (``begin``), unless the history
  /// is ``readOnly`` (a dry run changes nothing); `recent` covers what changes meanwhile.
  /// `listing`: the repository's tags as ``entries(limit:states:)`` listed them for `recent`
  /// (nil: listed again if needed).
  public func quarantine(of digest: Digest, recent: [HistoryEntry] = [], listing: [String]? = nil) async throws -> (record: HistoryEntry?, skipped: [SkippedRecord]) {
    let key = EnvironmentName.key(environment)
    if let earlier = try await store.earlierRolledBack(key: key, environment: environment, listing: listing) {
      // Indexed by this run's first write (``begin``), not now: a promotion that fails its
      // checks writes nothing.
      if !readOnly { store.deferIndexing(earlier, key: key, environment: environment) }
      if let hit = earlier.first(where: { $0.record.digest == digest }) { return (HistoryEntry(tag: hit.tag, record: hit.record), []) }
    }
    let listed = try await store.recordsAbout(digest).filter { d in
      let a = d.annotations ?? [:]
      let rolledBack = PromotionState.rolledBack.rawValue
      return (a[HistoryStore.environmentAnnotation] ?? environment) == environment && (a[HistoryStore.stateAnnotation] ?? rolledBack) == rolledBack
    }
    var skipped: [SkippedRecord] = []
    for d in listed {
      switch try await store.read(manifest: d.digest) {
      case .success(let r) where r.environment == environment && r.state == .rolledBack && r.digest == digest:
        return (HistoryEntry(tag: d.annotations?[HistoryStore.tagAnnotation] ?? d.digest.description, record: r), skipped)
      case .success: continue
      case .failure(let s): skipped.append(s)
      }
    }
    return (HistoryRules.rolledBack(recent, digest: digest), skipped)
  }

  /// What rollback may restore: the newest completed image other than `current` that is not
  /// quarantined and is whole. Reads records page by page, newest first, until it finds one.
  public func rollbackCandidate(current: Digest) async throws -> Candidates {
    var names = try await tags()
    var out = Candidates()
    var seen = Set<Digest>()
    while true {
      let batch = names.next(16)
      if batch.isEmpty { break }
      let page = try await read(batch)
      out.skipped += page.skipped
      out.entries += page.entries
      for candidate in HistoryRules.candidates(page.entries, current: current, seen: &seen) {
        let q = try await quarantine(of: candidate.record.digest, recent: out.entries)
        out.skipped += q.skipped
        if let bad = q.record {
          out.passedOver.append((candidate, "it was rolled back from \(environment) (\(RecordTime.iso(bad.record.time)))"))
          continue
        }
        if let missing = try await store.missingPart(of: candidate.record.digest) {
          out.passedOver.append((candidate, missing))
          continue
        }
        out.chosen = candidate
        return out
      }
    }
    return out
  }

  /// What ``rollbackCandidate(current:)`` found.
  public struct Candidates: Sendable {
    public var chosen: HistoryEntry?
    /// Completed images not chosen, and why.
    public var passedOver: [(entry: HistoryEntry, why: String)] = []
    public var skipped: [SkippedRecord] = []
    /// The records of this environment read, newest first.
    public var entries: [HistoryEntry] = []
  }

  // MARK: Writing under the lease

  /// An intent this run holds.
  public struct Lease: Sendable {
    public let intent: HistoryEntry
    /// Dead runs' intents this run recorded as abandoned.
    public var abandoned: [HistoryEntry] = []
    /// Damaged records met on the way.
    public var skipped: [SkippedRecord] = []
    /// The records read last (newest first): enough to name the run that moved the tag.
    public var recent: [HistoryEntry] = []
  }

  /// What the run that lost the lease is told.
  public struct LeaseLost: Error, Sendable, CustomStringConvertible {
    /// The other run's intent, or the record it closed it with.
    public let other: HistoryEntry
    public let environment: String
    public var abandoned: [HistoryEntry] = []
    public var description: String {
      let r = other.record
      let what = r.state == .completed ? "made \(r.digest) live" : "is \(r.operation == "rollback" ? "rolling back to" : "promoting") \(r.digest)"
      return "another run \(what) in \(environment) (\(r.runURL ?? "run unknown"), record \(other.tag))"
    }
  }

  /// The fields a record of this run carries beyond its state and image.
  public struct Details: Sendable {
    public var operation: String
    public var previous: Digest?
    public var version: String?
    public var tags: [String]
    public var source: String?
    public var reason: String?
    /// The release this change is part of (several images promoted as one), if any.
    public var release: String?

    public init(operation: String, previous: Digest?, version: String?, tags: [String], source: String?, reason: String? = nil, release: String? = nil) {
      self.operation = operation
      self.previous = previous
      self.version = version
      self.tags = tags
      self.source = source
      self.reason = reason
      self.release = release
    }
  }

  private func record(_ state: PromotionState, _ subject: Descriptor, _ details: Details, intent: String?, leaseExpires: Date? = nil, reason: String? = nil) -> PromotionRecord {
    PromotionRecord(
      environment: environment, state: state, digest: subject.digest, previousDigest: details.previous, version: details.version, tags: details.tags, source: details.source,
      time: clock.now(), reason: reason ?? details.reason, runURL: run.runURL, actor: run.actor, sha: run.sha, operation: details.operation, leaseExpires: leaseExpires, intent: intent,
      release: details.release)
  }

  /// Writes a record of this run and returns it with its tag. A record that closes an intent
  /// is tried twice, under the same tag (so a write that landed but whose answer was lost is
  /// not recorded twice), whatever the first failure was and whatever `retries` says: an
  /// intent left open holds the environment until its lease ends, and the next run with it.
  @discardableResult
  public func append(_ state: PromotionState, _ subject: Descriptor, _ details: Details, intent: String?, reason: String? = nil) async throws -> HistoryEntry {
    let r = record(state, subject, details, intent: intent, reason: reason)
    let tag = RecordTag.make(environment: r.environment, time: r.time)
    do {
      return HistoryEntry(tag: try await store.write(r, subject: subject, tag: tag), record: r)
    } catch {
      guard intent != nil, !Task.isCancelled else { throw error }
      return HistoryEntry(tag: try await store.write(r, subject: subject, tag: tag), record: r)
    }
  }

  /// Takes the environment's lease for changing it to `subject` (see the type's overview).
  /// Throws ``LeaseLost`` (after closing this run's intent as failed) when another run has it.
  /// `waiting` is told once about each younger run this one waits for.
  public func begin(_ subject: Descriptor, _ details: Details, waiting: @Sendable (HistoryEntry) -> Void = { _ in }) async throws -> Lease {
    let start = clock.now()
    var intent = record(.inProgress, subject, details, intent: nil, leaseExpires: start.addingTimeInterval(leaseTimeout))
    intent.time = start
    try await store.indexPending()
    let tag = RecordTag.make(environment: intent.environment, time: intent.time)
    var written = false
    do {
      _ = try await store.write(intent, subject: subject, tag: tag)
      written = true
      return try await decide(Lease(intent: HistoryEntry(tag: tag, record: intent)), subject, details, waiting: waiting)
    } catch let lost as LeaseLost {
      throw lost
    } catch let refused as RegistryError where refused.refusesCredentials && !written {
      // The intent's own write refused the credentials (no push): its tag, the write's last
      // request, was not stored, and the same credentials could not close it. The refusal is
      // the answer.
      throw refused
    } catch {
      // The intent may be written (also when its own write failed: the registry may have
      // stored it and the answer was lost) and nothing moved: it is closed as failed, to the
      // end despite a cancellation (a stage's timeout, a cancelled run), so the next run need
      // not wait for the lease to expire. A closing record of an intent that never landed says the same.
      let why = Task.isCancelled ? "stopped by \(stopCause() ?? "a cancellation")" : "the lease could not be taken: \(error)"
      let history = self
      let closed = await Task { () -> (any Error)? in
        do {
          _ = try await history.append(.failed, subject, details, intent: tag, reason: "nothing moved: \(why)")
          return nil
        } catch { return error }
      }.value
      if let closed {
        throw IntentLeftOpen(cause: error, intent: tag, environment: environment, leaseEnd: start.addingTimeInterval(leaseTimeout), closing: closed)
      }
      throw error
    }
  }

  /// A run failed while it held (or may have held) an intent, and the record closing it could
  /// not be written: the intent may hold the environment until its lease ends. Says so.
  public struct IntentLeftOpen: Error, Sendable, CustomStringConvertible {
    /// What failed first.
    public let cause: any Error
    public let intent: String
    public let environment: String
    public let leaseEnd: Date
    /// Why the closing record could not be written.
    public let closing: any Error
    public var description: String {
      "\(cause); closing the intent record \(intent) failed too (\(closing)): if the registry stored it, other promotions and rollbacks of \(environment) are refused until its lease ends at \(RecordTime.iso(leaseEnd))"
    }
  }

  /// The loop of ``begin(_:_:waiting:)`` once the intent is written: abandon dead runs'
  /// intents, yield to an older or finished run, wait for younger ones to decide.
  private func decide(_ taken: Lease, _ subject: Descriptor, _ details: Details, waiting: @Sendable (HistoryEntry) -> Void) async throws -> Lease {
    var lease = taken
    let tag = lease.intent.tag
    var abandonedTags = Set<String>()
    var waitedFor = Set<String>()
    while true {
      // The intent is ours: as written, not read back (the tag listing shows it landed).
      let page = try await window(known: [lease.intent])
      lease.recent = page.entries
      lease.skipped = page.skipped
      let now = clock.now()
      for dead in HistoryRules.staleIntents(page.entries, now: now, timeout: leaseTimeout) where dead.tag != tag && !abandonedTags.contains(dead.tag) {
        abandonedTags.insert(dead.tag)
        let d = dead.record
        let end = HistoryRules.leaseEnd(dead, timeout: leaseTimeout)
        let note =
          end > now
          ? "an intent of \(d.runURL ?? "(unknown)") to change \(environment) to \(d.digest.short) is dated \(RecordTime.iso(d.time)), later than any run could date it now (\(RecordTime.iso(now))): no run holds it"
          : "the run \(d.runURL ?? "(unknown)") began changing \(environment) to \(d.digest.short) at \(RecordTime.iso(d.time)) and never finished (lease ended \(RecordTime.iso(end)))"
        var closing = record(
          .abandoned, Descriptor(mediaType: MediaType.ociManifest, digest: d.digest, size: 0),
          Details(operation: d.operation ?? "promote", previous: d.previousDigest, version: d.version, tags: d.tags, source: d.source), intent: dead.tag, reason: note)
        closing.runURL = run.runURL
        let subjectDescriptor = try await store.client.resolve(store.repository, d.digest.description) ?? Descriptor(mediaType: MediaType.ociManifest, digest: d.digest, size: 0)
        _ = try await store.write(closing, subject: subjectDescriptor)
        lease.abandoned.append(dead)
      }
      // A younger run that did not see our intent and went on: it has changed the environment.
      if let done = page.entries.first(where: { $0.record.state == .completed && ($0.record.intent ?? "") > tag }) {
        throw try await yield(lease, subject, details, to: done)
      }
      let open = HistoryRules.openIntents(page.entries, now: now, timeout: leaseTimeout).filter { $0.tag != tag }
      if let older = open.first(where: { $0.tag < tag }) { throw try await yield(lease, subject, details, to: older) }
      if open.isEmpty { return lease }
      for younger in open where waitedFor.insert(younger.tag).inserted { waiting(younger) }
      try await clock.sleep(for: pollInterval)
    }
  }

  private func yield(_ lease: Lease, _ subject: Descriptor, _ details: Details, to other: HistoryEntry) async throws -> LeaseLost {
    let lost = LeaseLost(other: other, environment: environment, abandoned: lease.abandoned)
    _ = try await append(.failed, subject, details, intent: lease.intent.tag, reason: "nothing moved: \(lost.description)")
    return lost
  }

  /// Closes the lease: the change is done (the tag moved and was read back).
  @discardableResult
  public func complete(_ lease: Lease, _ subject: Descriptor, _ details: Details) async throws -> HistoryEntry {
    try await append(.completed, subject, details, intent: lease.intent.tag)
  }

  /// Closes the lease: the change failed.
  @discardableResult
  public func fail(_ lease: Lease, _ subject: Descriptor, _ details: Details, reason: String) async throws -> HistoryEntry {
    try await append(.failed, subject, details, intent: lease.intent.tag, reason: reason)
  }
}
