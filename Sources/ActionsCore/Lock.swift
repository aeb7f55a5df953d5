import Foundation

/// A small lock wrapper so callers need not import Foundation's NSLock API.
final class NSLockShim: @unchecked Sendable {
  private let lock = NSLock()
  func locked<T>(_ body: () throws -> T) rethrows -> T {
    lock.lock()
    defer { lock.unlock() }
    return try body()
  }
}
