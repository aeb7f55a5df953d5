import Basics
import FoundationEssentials

/// How many requests that move blobs may be in flight at once on each registry, shared by
/// every copy that holds the same budget: a release of fifty images copies fifty images'
/// blobs at once, yet no registry sees more than ``limit`` of them. The one place where a
/// copy waits for its turn, so pacing by a registry's rate limit belongs here too.
public final class CopyBudget: @unchecked Sendable {
  /// Permits per registry.
  public let limit: Int
  private let lock = Lock()
  private var state = State()

  private struct State {
    var inUse: [String: Int] = [:]
    var waiting: [String: [CheckedContinuation<Void, Never>]] = [:]
  }

  public init(limit: Int) { self.limit = max(1, limit) }

  /// Runs `work` holding a permit of each of `registries` (taken in sorted order, so two
  /// copies never wait for each other's permits).
  public func withPermits<T: Sendable>(_ registries: [String], _ work: () async throws -> T) async throws -> T {
    let keys = Array(Set(registries)).sorted()
    for key in keys { await acquire(key) }
    defer { for key in keys.reversed() { release(key) } }
    return try await work()
  }

  /// Permits of `registry` in use now (for tests and summaries).
  public func inUse(_ registry: String) -> Int { lock.withLock { state.inUse[registry] ?? 0 } }

  private func acquire(_ key: String) async {
    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
      let granted = lock.withLock { () -> Bool in
        if self.state.inUse[key, default: 0] < limit {
          self.state.inUse[key, default: 0] += 1
          return true
        }
        self.state.waiting[key, default: []].append(c)
        return false
      }
      if granted { c.resume() }
    }
  }

  private func release(_ key: String) {
    // (State is only touched under `lock`.) The permit passes straight to the next waiter (inUse stays), or is returned.
    let next = lock.withLock { () -> CheckedContinuation<Void, Never>? in
      if var queue = self.state.waiting[key], !queue.isEmpty {
        let c = queue.removeFirst()
        self.state.waiting[key] = queue
        return c
      }
      self.state.inUse[key, default: 1] -= 1
      return nil
    }
    next?.resume()
  }
}
