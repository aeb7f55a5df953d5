import ActionsCore
import Basics
import FoundationEssentials
import HTTP
import Stages

/// A stage's run under its `timeout` input and the process's signals (``Interruptions``):
/// when the limit expires or SIGINT/SIGTERM arrives, the stage's task is cancelled (transfers
/// in flight abort, sleeps end) and, after a bounded grace in which it unwinds and writes its
/// records, the run fails with the step it was at.
enum Deadline {
  /// Time a stage stopped by its timeout gets to unwind (a `failed` history record is a few
  /// small requests; a release's tags put back, a few more).
  static let grace: Duration = .seconds(20)
  /// Time a stage stopped by a signal gets to unwind: GitHub's runner sends SIGTERM 7.5 s after
  /// its SIGINT, and SIGKILL 2.5 s later.
  static let signalGrace: Duration = .seconds(7)

  /// What stopped a stage.
  enum Cause: Sendable, Equatable {
    case timeout(Duration)
    case signal(Int32)

    /// For records and messages: "the stage's timeout", "SIGINT".
    var text: String {
      switch self {
      case .timeout: "the stage's timeout"
      case .signal(let s): Interruptions.name(s)
      }
    }

    var grace: Duration {
      switch self {
      case .timeout: Deadline.grace
      case .signal: Deadline.signalGrace
      }
    }
  }

  /// The stage was stopped before it ended (exit 1).
  struct Stopped: Error, CustomStringConvertible {
    var stage: String
    var cause: Cause
    /// What the stage was doing when it was stopped.
    var activity: String
    /// What the stage's own unwinding reported, if it ended within the grace.
    var unwound: String?
    /// A second signal that ended the grace early.
    var secondSignal: Int32?

    var title: String {
      switch cause {
      case .timeout: "\(stage) timed out"
      case .signal: "\(stage) cancelled"
      }
    }

    var description: String {
      let what =
        switch cause {
        case .timeout(let limit): "\(stage) timed out after \(DeadlineText.format(limit))"
        case .signal(let s): "\(stage) was stopped by \(Interruptions.name(s))"
        }
      let end: String
      if let unwound {
        end = unwound.isEmpty ? "" : " (then: \(unwound))"
      } else if let secondSignal {
        end = "; \(Interruptions.name(secondSignal)) ended it before it had unwound: what it was doing may be left half done (an intent it left open is abandoned by the next run once its lease ends)"
      } else {
        end = "; it did not stop within \(DeadlineText.format(cause.grace)): what it was doing may be left half done"
      }
      return "\(what) while \(activity); its work in flight was cancelled" + end
    }
  }

  /// Runs `work` with `limit` (none: unbounded), stopped too by any signal `interruptions`
  /// delivers. A result returned after a stop is still the result — the work finished, nothing
  /// was cut off (a step that is not cut off halfway, such as a tag move, ran to its end) — and
  /// comes with the stop; an error after it is ``Stopped``.
  static func run(
    _ limit: Duration?, stage: String, activity: StageActivity, interruptions: Interruptions = .process,
    _ work: @escaping @Sendable () async throws -> StageResult
  ) async throws -> (result: StageResult, late: Stop?) {
    let outcome = Outcome()
    let task = Task { outcome.finish(await Result(catching: { try await work() })) }
    let stopper = Stopper(outcome: outcome, activity: activity, task: task)
    let timer = limit.map { limit in
      Task {
        try await Task.sleep(for: limit)
        stopper.stop(.timeout(limit))
      }
    }
    let watch = interruptions.watch { stopper.stop(.signal($0)) }
    defer {
      timer?.cancel()
      interruptions.unwatch(watch)
      stopper.endGrace()
    }
    switch await outcome.value {
    case .finished(.success(let result), let stop):
      return (result, stop)
    case .finished(.failure(let error), let stop):
      guard let stop else { throw error }
      // The cancellation itself says nothing new; any other error is what the unwinding hit.
      let cancelled = error is CancellationError || (error as? HTTPError).map { if case .cancelled = $0 { true } else { false } } == true
      throw Stopped(stage: stage, cause: stop.cause, activity: stop.activity, unwound: cancelled ? "" : "\(error)")
    case .gaveUp(let stop, let second):
      throw Stopped(stage: stage, cause: stop.cause, activity: stop.activity, unwound: nil, secondSignal: second)
    }
  }

  /// The first stop: its cause and what the stage was doing then.
  struct Stop: Sendable {
    var cause: Cause
    var activity: String

    /// For a stage that finished all the same.
    func finishedNote(_ stage: String) -> String {
      let what =
        switch cause {
        case .timeout(let limit): "its timeout (\(DeadlineText.format(limit)))"
        case .signal(let s): Interruptions.name(s)
        }
      return "\(stage) was stopped by \(what) while \(activity), a step that is not cut off halfway: it ran to its end, and so did the stage"
    }
  }

  enum End: Sendable {
    /// The work's end, and the stop that came before it, if one did.
    case finished(Result<StageResult, any Error>, stop: Stop?)
    /// The grace ran out (or a second signal came) before the stopped work ended.
    case gaveUp(Stop, secondSignal: Int32?)
  }

  /// Stops the work once: notes the cause for its records, cancels it, and gives it its grace.
  /// A second signal during a signal's grace ends the wait at once (Ctrl-C twice by hand; the
  /// runner's SIGTERM comes after the grace), unless it comes within a second of the first (the
  /// same request delivered twice). A signal during a timeout's grace shortens it to a signal's:
  /// the runner's SIGTERM follows.
  final class Stopper: @unchecked Sendable {
    private let lock = Lock()
    private let outcome: Outcome
    private let activity: StageActivity
    private let task: Task<Void, Never>
    private var graceTimer: Task<Void, any Error>?
    private var stoppedAt: ContinuousClock.Instant?
    private var shortened = false

    init(outcome: Outcome, activity: StageActivity, task: Task<Void, Never>) {
      self.outcome = outcome
      self.activity = activity
      self.task = task
    }

    func stop(_ cause: Cause) {
      let stop = Stop(cause: cause, activity: activity.current)
      guard outcome.stop(stop) else {
        if case .signal(let s) = cause, let first = outcome.firstStop { again(s, after: first) }
        return
      }
      activity.stopping(because: cause.text)
      task.cancel()
      lock.withLock {
        stoppedAt = .now
        graceTimer = giveUp(first: stop, after: cause.grace, secondSignal: nil)
      }
    }

    /// A signal after the first stop.
    private func again(_ signal: Int32, after first: Stop) {
      let now = ContinuousClock.now
      let endNow: Bool = lock.withLock {
        guard let at = stoppedAt else { return false }
        switch first.cause {
        case .signal:
          return now - at >= .seconds(1)
        case .timeout:
          guard !shortened, at + Deadline.grace - now > Deadline.signalGrace else { return false }
          shortened = true
          graceTimer?.cancel()
          graceTimer = giveUp(first: first, after: Deadline.signalGrace, secondSignal: signal)
          return false
        }
      }
      if endNow { outcome.giveUp(first, secondSignal: signal) }
    }

    private func giveUp(first: Stop, after grace: Duration, secondSignal: Int32?) -> Task<Void, any Error> {
      let outcome = self.outcome
      return Task {
        try await Task.sleep(for: grace)
        outcome.giveUp(first, secondSignal: secondSignal)
      }
    }

    func endGrace() { lock.withLock { graceTimer?.cancel() } }
  }

  /// The first end wins: the work's, or the grace running out.
  final class Outcome: @unchecked Sendable {
    private let lock = Lock()
    private var end: End?
    private var waiter: CheckedContinuation<End, Never>?
    private var stopped: Stop?

    /// Records the first stop; false when one came before (or the work already ended).
    func stop(_ stop: Stop) -> Bool {
      lock.withLock {
        guard stopped == nil, end == nil else { return false }
        stopped = stop
        return true
      }
    }

    var firstStop: Stop? { lock.withLock { stopped } }

    func finish(_ result: Result<StageResult, any Error>) { settle { .finished(result, stop: $0) } }
    func giveUp(_ stop: Stop, secondSignal: Int32?) { settle { _ in .gaveUp(stop, secondSignal: secondSignal) } }

    private func settle(_ make: (Stop?) -> End) {
      let settled: (End, CheckedContinuation<End, Never>?)? = lock.withLock {
        guard end == nil else { return nil }
        let value = make(stopped)
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
