import Basics
import FoundationEssentials

/// The step a running stage is at, in words ("moving the tags production, 1.2.3 to sha256:…"),
/// set by the stage as it goes and read by whoever stops it: a stage that runs out of time or
/// is cancelled says what it was doing.
///
/// It also carries why the stage's task was cancelled, set by whoever cancels it, so that the
/// records a stage writes while it unwinds say what stopped it.
public final class StageActivity: @unchecked Sendable {
  private let lock = Lock()
  private var what = "starting"
  private var cause: String?

  public init() {}

  public func set(_ what: String) { lock.withLock { self.what = what } }

  public var current: String { lock.withLock { what } }

  /// Notes what is about to cancel the stage's task ("the stage's timeout", "SIGINT"): call
  /// it before the cancellation. The first cause stays.
  public func stopping(because cause: String) { lock.withLock { if self.cause == nil { self.cause = cause } } }

  /// What cancelled the stage, if something did.
  public var stopCause: String? { lock.withLock { cause } }

  /// A failure's reason for the history: the error, after "stopped by <cause>: " when the
  /// stage's task was cancelled (the error is then the cancellation's consequence).
  public func reason(_ error: any Error) -> String {
    guard Task.isCancelled else { return "\(error)" }
    return "stopped by \(stopCause ?? "a cancellation"): \(error)"
  }
}
