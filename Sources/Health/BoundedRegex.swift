import Basics

/// An `expected-body` regex, compiled once and shared by concurrent probes, matched within a
/// deadline.
///
/// Swift's `Regex` backtracks and cannot be cancelled: `/.*ready/` on one line of 20 000
/// characters without "ready" takes about 20 s (quadratic: a megabyte takes hours), and a
/// nested quantifier explodes on a few dozen characters. The body is the service's to choose:
/// a compromised one held the probe past `timeout-ms` and `wait-timeout` and, with no stage
/// `timeout`, to the job's limit (so no rollback step ran). So a match runs on a thread of its
/// own and the probe waits for it only until its deadline; the match given up on runs on to
/// its end, and until then later probes start no other (one thread of CPU at most, not one
/// per probe).
///
/// `Regex` is not `Sendable` (its output type need not be), but matching never changes it:
/// its program is compiled once, behind an atomic.
final class BoundedRegex: @unchecked Sendable {
  let pattern: String
  private let regex: Regex<AnyRegexOutput>
  private let lock = Lock()
  /// A match given up on is still running.
  private var abandonedRunning = false

  init(pattern: String, regex: Regex<AnyRegexOutput>) {
    self.pattern = pattern
    self.regex = regex
  }

  enum Outcome: Equatable {
    case matched(Bool)
    /// The deadline came first (or the probe was cancelled).
    case tooSlow
    /// A match given up on earlier is still running: none was started.
    case busy
  }

  /// One match's race against its deadline; settled once, under the regex's lock.
  private final class Run: @unchecked Sendable {
    var continuation: CheckedContinuation<Outcome, Never>?
    var timer: Task<Void, Never>?
    var settled = false
  }

  /// Whether `text` contains a match, if that is known within `budget`.
  func contains(_ text: String, within budget: Duration) async -> Outcome {
    if lock.withLock({ abandonedRunning }) { return .busy }
    let run = Run()
    return await withTaskCancellationHandler {
      await withCheckedContinuation { (c: CheckedContinuation<Outcome, Never>) in
        lock.withLock { run.continuation = c }
        let started = Threads.detach(name: "gantry-regex") { [self] in
          let hit = text.contains(self.regex)
          let (c, timer): (CheckedContinuation<Outcome, Never>?, Task<Void, Never>?) = lock.withLock {
            guard !run.settled else {
              abandonedRunning = false
              return (nil, nil)
            }
            run.settled = true
            defer { run.continuation = nil }
            return (run.continuation, run.timer)
          }
          timer?.cancel()
          c?.resume(returning: .matched(hit))
        }
        guard started else {
          // No thread to be had: the probe fails rather than matching unbounded here.
          settle(run, .tooSlow, abandoned: false)
          return
        }
        let timer = Task { [self] in
          try? await Task.sleep(for: budget)
          if !Task.isCancelled { settle(run, .tooSlow, abandoned: true) }
        }
        lock.withLock { if !run.settled { run.timer = timer } else { timer.cancel() } }
      }
    } onCancel: {
      settle(run, .tooSlow, abandoned: true)
    }
  }

  /// Answers the probe with `outcome` unless the match answered first; `abandoned`: the
  /// match is still running.
  private func settle(_ run: Run, _ outcome: Outcome, abandoned: Bool) {
    let c: CheckedContinuation<Outcome, Never>? = lock.withLock {
      guard !run.settled, let c = run.continuation else { return nil }
      run.settled = true
      run.continuation = nil
      if abandoned { abandonedRunning = true }
      return c
    }
    c?.resume(returning: outcome)
  }
}
