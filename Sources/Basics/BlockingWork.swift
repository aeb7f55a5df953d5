/// Runs blocking work — a child process to its end, a pipe read, a poll with pauses — on a
/// thread of its own and awaits it.
///
/// Swift concurrency runs every task of the process on a cooperative pool of one thread per
/// core: two on a 2-core runner, and it never adds threads when they block. A blocking call
/// made from async code holds one of them for its whole duration; two at once stop every task
/// of the process — an HTTP answer that curl delivered in milliseconds then waits seconds to be
/// resumed. Blocking work goes here instead.
public enum BlockingWork {
  /// Runs `work` on a new thread; the calling task suspends (freeing its thread) until it ends.
  public static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
      let started = Threads.detach(name: "gantry-blocking") { continuation.resume(with: Result { try work() }) }
      // No thread to be had: do the work here rather than never.
      if !started { continuation.resume(with: Result { try work() }) }
    }
  }
}
