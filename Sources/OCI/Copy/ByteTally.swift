import Basics

/// A running total of bytes that concurrent fetches add to, so what a registry sends is
/// counted as it arrives (``ImageGraph/Limits``).
final class ByteTally: @unchecked Sendable {
  private let lock = Lock()
  private var total = 0

  /// Adds `n` and returns the new total (saturating: it never traps).
  func add(_ n: Int) -> Int {
    lock.withLock {
      let (sum, overflow) = total.addingReportingOverflow(n)
      total = overflow ? .max : sum
      return total
    }
  }
}
