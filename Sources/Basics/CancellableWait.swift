/// The value of `task`, a task several callers share (one token fetch for every request of a
/// scope): a caller that is cancelled stops waiting with `CancellationError`, while the task
/// goes on for the others. `task.value` alone ignores the caller's cancellation, so a
/// cancelled caller waited for as long as the shared task took (a stalled token service held
/// a stage's bounded cleanup for the token request's whole timeout).
public func waitCancellably<T: Sendable>(for task: Task<T, any Error>) async throws -> T {
  let once = ResumeOnce<T>()
  return try await withTaskCancellationHandler {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
      once.set(continuation)
      Task { once.resume(with: await task.result) }
    }
  } onCancel: {
    once.resume(with: .failure(CancellationError()))
  }
}

/// Resumes a continuation once, with the first result given, whichever comes first: the
/// result or the continuation.
private final class ResumeOnce<T: Sendable>: @unchecked Sendable {
  private let lock = Lock()
  private var continuation: CheckedContinuation<T, any Error>?
  private var result: Result<T, any Error>?
  private var resumed = false

  func set(_ continuation: CheckedContinuation<T, any Error>) {
    let ready: Result<T, any Error>? = lock.withLock {
      if let result, !resumed {
        resumed = true
        return result
      }
      self.continuation = continuation
      return nil
    }
    if let ready { continuation.resume(with: ready) }
  }

  func resume(with result: Result<T, any Error>) {
    let waiting: CheckedContinuation<T, any Error>? = lock.withLock {
      guard !resumed else { return nil }
      guard let c = continuation else {
        if self.result == nil { self.result = result }
        return nil
      }
      resumed = true
      continuation = nil
      return c
    }
    waiting?.resume(with: result)
  }
}
