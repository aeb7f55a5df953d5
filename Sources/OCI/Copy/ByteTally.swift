import Basics

/// A running total of bytes that concurrent fetches add to, so what a registry sends is
/// counted as it arrives (``ImageGraph/Limits``); one can be shared by several images.
public final class ByteTally: @unchecked Sendable {
  private let lock = Lock()
  private var total = 0

  public init() {}

  /// Adds `n` and returns the new total (saturating: it never traps).
  public func add(_ n: Int) -> Int {
    lock.withLock {
      let (sum, overflow) = total.addingReportingOverflow(n)
      total = overflow ? .max : sum
      return total
    }
  }

  /// Adds `n` only if the total stays within `limit`.
  /// - Returns: whether it was added.
  public func reserve(_ n: Int, within limit: Int) -> Bool {
    lock.withLock {
      let (sum, overflow) = total.addingReportingOverflow(n)
      guard !overflow, sum <= limit else { return false }
      total = sum
      return true
    }
  }
}
