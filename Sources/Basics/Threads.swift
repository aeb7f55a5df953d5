#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A mutex with a condition variable (what Foundation's `NSCondition` is), for threads that
/// live outside Swift concurrency (libcurl's).
public final class Condition: @unchecked Sendable {
  private let mutex = Lock()
  private let cond: UnsafeMutablePointer<pthread_cond_t>

  public init() {
    cond = .allocate(capacity: 1)
    cond.initialize(to: pthread_cond_t())
    pthread_cond_init(cond, nil)
  }

  deinit {
    pthread_cond_destroy(cond)
    cond.deallocate()
  }

  public func lock() { mutex.lock() }
  public func unlock() { mutex.unlock() }
  /// Waits for a signal; the lock must be held (and is again on return).
  public func wait() { pthread_cond_wait(cond, mutex.mutex) }
  public func signal() { pthread_cond_signal(cond) }
  public func broadcast() { pthread_cond_broadcast(cond) }
  public func withLock<T>(_ body: () throws -> T) rethrows -> T { try mutex.withLock(body) }
}

/// Threads started by hand (Foundation's `Thread` links all of Foundation).
public enum Threads {
  private final class Box {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
  }

  /// Starts a detached thread running `body`, with `stackSize` bytes of stack. (`name` is
  /// for readers of the code: Glibc's module does not export `pthread_setname_np`.)
  /// - Returns: false when the system refused a thread.
  @discardableResult
  public static func detach(name: String, stackSize: Int = 512 << 10, _ body: @escaping @Sendable () -> Void) -> Bool {
    var attr = pthread_attr_t()
    pthread_attr_init(&attr)
    defer { pthread_attr_destroy(&attr) }
    pthread_attr_setstacksize(&attr, stackSize)
    pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let started = pthread_create(
      &thread, &attr,
      { raw in
        guard let raw else { return nil }
        let box = Unmanaged<Box>.fromOpaque(raw).takeRetainedValue()
        box.body()
        return nil
      }, box)
    guard started == 0 else {
      Unmanaged<Box>.fromOpaque(box).release()
      return false
    }
    return true
  }
}
