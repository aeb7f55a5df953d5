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
