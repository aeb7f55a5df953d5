import ActionsCore
import Basics
import FoundationEssentials
import HTTP
import Stages

/// A stage's run under its `timeout` input: when the limit expires the stage's task is
/// cancelled (transfers in flight abort, sleeps end) and, after a bounded grace in which it
/// unwinds and writes its records, the run fails with the step it was at.
enum Deadline {
  /// Time a cancelled stage gets to unwind (a `failed` history record is a few small requests).
  static let grace: Duration = .seconds(20)

  /// The stage ran out of time (exit 1).
  struct Expired: Error, CustomStringConvertible {
    var stage: String
    var limit: Duration
    var activity: String
    /// What the stage's own unwinding reported, if it ended within the grace.
    var unwound: String?

    var description: String {
      let end = unwound.map { $0.isEmpty ? "" : " (then: \($0))" } ?? "; it did not stop within \(DeadlineText.format(Deadline.grace))"
      return "\(stage) timed out after \(DeadlineText.format(limit)) while \(activity); its work in flight was cancelled" + end
    }
  }

  /// Runs `work` with `limit` (none: unbounded). A result returned after the limit expired is
  /// still the result — the work finished, nothing was cut off; an error after it is ``Expired``.
  static func run(
    _ limit: Duration?, stage: String, activity: StageActivity, _ work: @escaping @Sendable () async throws -> StageResult
  ) async throws -> StageResult {
    guard let limit else { return try await work() }
    let outcome = Outcome()
    let task = Task { outcome.finish(await Result(catching: { try await work() })) }
    let timer = Task {
      try await Task.sleep(for: limit)
      outcome.expire()
      task.cancel()
      try await Task.sleep(for: grace)
      outcome.giveUp()
    }
    defer { timer.cancel() }
    switch await outcome.value {
    case .finished(.success(let result), _):
      return result
    case .finished(.failure(let error), let expired):
      guard expired else { throw error }
      // The cancellation itself says nothing new; any other error is what the unwinding hit.
      let cancelled = error is CancellationError || (error as? HTTPError).map { if case .cancelled = $0 { true } else { false } } == true
      throw Expired(stage: stage, limit: limit, activity: activity.current, unwound: cancelled ? "" : "\(error)")
    case .gaveUp:
      throw Expired(stage: stage, limit: limit, activity: activity.current, unwound: nil)
    }
  }

  enum End: Sendable {
    /// The work's end, and whether its limit had expired by then.
    case finished(Result<StageResult, any Error>, expired: Bool)
    case gaveUp
  }

  /// The first end wins: the work's, or the grace running out.
  final class Outcome: @unchecked Sendable {
    private let lock = Lock()
    private var end: End?
    private var waiter: CheckedContinuation<End, Never>?
    private var didExpire = false

    func expire() { lock.withLock { didExpire = true } }
    func finish(_ result: Result<StageResult, any Error>) { settle { .finished(result, expired: $0) } }
    func giveUp() { settle { _ in .gaveUp } }

    private func settle(_ make: (Bool) -> End) {
      let settled: (End, CheckedContinuation<End, Never>?)? = lock.withLock {
        guard end == nil else { return nil }
        let value = make(didExpire)
        end = value
        defer { waiter = nil }
        return (value, waiter)
      }
      if let (value, waiter) = settled { waiter?.resume(returning: value) }
    }

    var value: End {
      get async {
        await withCheckedContinuation { (c: CheckedContinuation<End, Never>) in
          let ready: End? = lock.withLock {
            if let end { return end }
            waiter = c
            return nil
          }
          if let ready { c.resume(returning: ready) }
        }
      }
    }
  }
}

enum DeadlineText {
  /// `90s` → `1m30s`, `250ms`, `2h`.
  static func format(_ d: Duration) -> String {
    let ms = d.milliseconds
    if ms < 1000 { return "\(ms)ms" }
    let s = ms / 1000
    let (h, m, sec) = (s / 3600, s % 3600 / 60, s % 60)
    return (h > 0 ? "\(h)h" : "") + (m > 0 ? "\(m)m" : "") + (sec > 0 || s == 0 ? "\(sec)s" : "")
  }
}

extension Result where Failure == any Error {
  init(catching body: () async throws -> Success) async {
    do { self = .success(try await body()) } catch { self = .failure(error) }
  }
}
