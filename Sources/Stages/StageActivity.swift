import Basics
import FoundationEssentials

/// The step a running stage is at, in words ("moving the tags production, 1.2.3 to sha256:…"),
/// set by the stage as it goes and read by whoever stops it: a stage that runs out of time says
/// what it was doing.
public final class StageActivity: @unchecked Sendable {
  private let lock = Lock()
  private var what = "starting"

  public init() {}

  public func set(_ what: String) { lock.withLock { self.what = what } }

  public var current: String { lock.withLock { what } }
}
