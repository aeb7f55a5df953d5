import Basics
import FoundationEssentials

/// Where history gets the time from, and how it waits: the system clock in production, a
/// clock the test moves in tests (lease expiry without waiting ten minutes).
public protocol HistoryClock: Sendable {
  func now() -> Date
  func sleep(for duration: Duration) async throws
}

/// The system clock.
public struct SystemHistoryClock: HistoryClock {
  public init() {}
  public func now() -> Date { Date() }
  public func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}

/// Who writes the records: the GitHub run, stamped into every record.
public struct HistoryRun: Sendable, Equatable {
  public var runURL: String?
  public var actor: String?
  public var sha: String?

  public init(runURL: String?, actor: String?, sha: String?) {
    self.runURL = runURL
    self.actor = actor
    self.sha = sha
  }
}

/// The registry's time (``ServerClock``) for a run's history: the lease times and record times
/// of runners whose own clocks disagree stay comparable, so a runner whose clock is ahead does
/// not take a live run's lease for expired (and move the tags it is moving), nor do records of
/// a runner whose clock is behind sort before the ones they followed.
///
/// The offset is taken once, at the first ``now()`` (after the run's first answers from the
/// registry), so a run's own times never go backwards. Under ``minimumSkew`` it is taken as
/// none (the header has whole seconds, and transit adds to it); over ``maximumSkew`` the
/// registry's `Date` is taken for wrong, not this machine's clock.
public final class RegistryHistoryClock: HistoryClock, @unchecked Sendable {
  public static let minimumSkew: TimeInterval = 5
  public static let maximumSkew: TimeInterval = 86_400

  private let server: ServerClock
  private let local: any HistoryClock
  private let onSkew: @Sendable (TimeInterval) -> Void
  private let lock = Lock()
  private var frozen: TimeInterval?

  /// `onSkew` is told once, with the offset (registry minus this machine, seconds), when it
  /// is used.
  public init(server: ServerClock, local: any HistoryClock = SystemHistoryClock(), onSkew: @escaping @Sendable (TimeInterval) -> Void = { _ in }) {
    self.server = server
    self.local = local
    self.onSkew = onSkew
  }

  public func now() -> Date {
    let (offset, first) = lock.withLock { () -> (TimeInterval, Bool) in
      if let frozen { return (frozen, false) }
      let seen = server.offset ?? 0
      let used = abs(seen) >= Self.minimumSkew && abs(seen) <= Self.maximumSkew ? seen : 0
      frozen = used
      return (used, used != 0)
    }
    if first { onSkew(offset) }
    return local.now().addingTimeInterval(offset)
  }

  public func sleep(for duration: Duration) async throws { try await local.sleep(for: duration) }
}
