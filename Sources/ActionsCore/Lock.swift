import Basics

/// A small lock wrapper with the `locked` spelling ActionsCore uses.
final class NSLockShim: @unchecked Sendable {
  private let lock = Lock()
  func locked<T>(_ body: () throws -> T) rethrows -> T { try lock.withLock(body) }
}
