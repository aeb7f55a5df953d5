import Basics

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// The signals that stop a run from outside: SIGINT, SIGTERM and SIGHUP, delivered to whoever
/// watches (a running stage, through ``Deadline``) instead of ending the process where it stands.
///
/// GitHub's runner cancels a step with SIGINT, then SIGTERM 7.5 s later, then SIGKILL 2.5 s
/// after that ([Canceling a workflow](https://docs.github.com/en/actions/managing-workflow-runs-and-deployments/managing-workflow-runs/canceling-a-workflow#steps-github-takes-to-cancel-a-workflow-run));
/// `timeout-minutes` ends a step the same way, `docker stop` sends SIGTERM then SIGKILL 10 s
/// later, and some runner versions sent SIGHUP
/// ([actions/runner#1309](https://github.com/actions/runner/issues/1309)). Ended at once, a
/// promotion could leave some tags of a release moved and its intent open; watched, the stage
/// unwinds as it does at its own `timeout`: tags already moved are put back, the intent is
/// closed as failed.
///
/// In its container the binary is PID 1, which the kernel sends no signal it has no handler
/// for, unless the signal is blocked: ``install()`` blocks them and takes them with `sigwait`,
/// so the runner's SIGINT reaches it at all (the default action would have ignored it, and the
/// step would have run on until the SIGKILL).
public final class Interruptions: @unchecked Sendable {
  /// The process's signals, once ``install()`` ran.
  public static let process = Interruptions()

  private let lock = Lock()
  private var watchers: [Int: @Sendable (Int32) -> Void] = [:]
  private var nextID = 0

  /// A source of its own (tests deliver to it).
  public init() {}

  /// Calls `watcher` with every signal delivered until ``unwatch(_:)`` with the returned id.
  func watch(_ watcher: @escaping @Sendable (Int32) -> Void) -> Int {
    lock.withLock {
      nextID += 1
      watchers[nextID] = watcher
      return nextID
    }
  }

  func unwatch(_ id: Int) { _ = lock.withLock { watchers.removeValue(forKey: id) } }

  /// Whether anyone watches now.
  var isWatched: Bool { lock.withLock { !watchers.isEmpty } }

  /// Delivers `signal` to every watcher. Returns false when none watches: the caller then ends
  /// the process as the signal asks.
  @discardableResult
  public func deliver(_ signal: Int32) -> Bool {
    let current = lock.withLock { Array(watchers.values) }
    current.forEach { $0(signal) }
    return !current.isEmpty
  }

  /// The signals ``install()`` takes.
  static let taken: [Int32] = [SIGINT, SIGTERM, SIGHUP]

  /// "SIGINT", "SIGTERM", "signal 10".
  static func name(_ signal: Int32) -> String {
    switch signal {
    case SIGINT: "SIGINT"
    case SIGTERM: "SIGTERM"
    case SIGHUP: "SIGHUP"
    default: "signal \(signal)"
    }
  }

  /// Takes SIGINT, SIGTERM and SIGHUP for ``process``: blocks them in the calling thread (every thread
  /// started later inherits the mask; a blocked signal is queued even for PID 1, and even when
  /// it was inherited ignored) and starts a thread that waits for them with `sigwait` and
  /// delivers each. With no watcher (no stage running) a signal ends the process with status
  /// 128 + its number, as the default action would. Call it first, from the main thread, before
  /// any other thread starts. Children (``IsolatedRun``) are spawned with every signal at its
  /// default, unblocked.
  public static func install() {
    // A reader that goes away (`gantry promote … | head -n 3`) made the next log line's write
    // end the process with SIGPIPE, where it stood: after the tags moved, before the closing
    // record, the intent left open. Ignored, the write fails (the sinks drop it) and the stage
    // runs to its end. Children get every signal back at its default (``IsolatedRun``).
    signal(SIGPIPE, SIG_IGN)
    var set = sigset_t()
    sigemptyset(&set)
    for s in taken { sigaddset(&set, s) }
    pthread_sigmask(SIG_BLOCK, &set, nil)
    let waited = set
    // The default stack: cancelling the stage runs its cancellation handlers on this thread.
    let started = Threads.detach(name: "signals") {
      var set = waited
      while true {
        var signal: Int32 = 0
        guard sigwait(&set, &signal) == 0 else { continue }
        if !process.deliver(signal) { exit(128 + signal) }
      }
    }
    // No thread to take them: the signals act as they did, rather than never.
    if !started { pthread_sigmask(SIG_UNBLOCK, &set, nil) }
  }
}
