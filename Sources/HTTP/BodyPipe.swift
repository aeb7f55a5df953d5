import Basics
import FoundationEssentials

/// A bounded byte pipe: one transfer's response body becomes another's request body
/// (registry GET → registry PUT) without touching disk. Memory stays near `capacity` whatever
/// the blob size: the faster side waits for the slower one.
///
/// Two ways to wait. The transport's engine drives both transfers on one thread, so it uses
/// the non-blocking side (``writeIfRoom(_:)``, ``readIfReady(into:)``): a full pipe pauses the
/// download, an empty one the upload, and the wake handlers resume them. Other threads may use
/// the blocking ``write(_:)`` and ``read(into:)``.
public final class BodyPipe: PausableBodySource, PausableBodySink, @unchecked Sendable {
  public let length: Int64?
  private let capacity: Int
  private var buffer: [UInt8] = []
  private var head = 0
  private var closed = false
  private var failure: (any Error)?
  private var cancelled = false
  private let condition = Condition()
  /// Bytes the consumer cannot read until the producer closes cleanly.
  private let holdBack: Int
  /// Wake handlers of a paused reader or writer, and whether one is waiting for them.
  private var readerWake: (@Sendable () -> Void)?
  private var writerWake: (@Sendable () -> Void)?
  private var readerWaiting = false
  private var writerWaiting = false

  /// - Parameters:
  ///   - length: the body length when known (a blob's descriptor size).
  ///   - capacity: bytes held between the two sides before the writer waits (default 1 MiB);
  ///     a non-blocking write may overshoot it by the one piece it hands in whole.
  ///   - holdingLastByte: the last byte reaches the consumer only once the producer closes
  ///     without an error: an upload fed from this pipe cannot complete (a registry commits a
  ///     blob on its last byte, or on a chunked body's end) before the producer has checked
  ///     what it wrote — a digest mismatch then aborts the upload instead of storing bad bytes.
  public init(length: Int64?, capacity: Int = 1 << 20, holdingLastByte: Bool = false) {
    self.length = length
    self.capacity = max(capacity, 2)
    self.holdBack = holdingLastByte ? 1 : 0
  }

  private var buffered: Int { buffer.count - head }

  /// Bytes the consumer may take now (with the lock held).
  private var readable: Int { closed ? buffered : max(0, buffered - holdBack) }

  /// Appends, with the lock held; returns the reader's wake handler to call once unlocked.
  private func append(_ bytes: UnsafeRawBufferPointer) -> (@Sendable () -> Void)? {
    if head > 0 && (head == buffer.count || head >= capacity) {
      buffer.removeFirst(head)
      head = 0
    }
    buffer.append(contentsOf: bytes)
    condition.broadcast()
    return takeReaderWake()
  }

  private func takeReaderWake() -> (@Sendable () -> Void)? {
    guard readerWaiting else { return nil }
    readerWaiting = false
    return readerWake
  }

  private func takeWriterWake() -> (@Sendable () -> Void)? {
    guard writerWaiting else { return nil }
    writerWaiting = false
    return writerWake
  }

  /// Producer side, blocking while the pipe is full.
  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    var rest = UnsafeRawBufferPointer(rebasing: bytes[...])
    while !rest.isEmpty {
      condition.lock()
      while buffered >= capacity && !cancelled { condition.wait() }
      if cancelled {
        condition.unlock()
        throw HTTPError.cancelled
      }
      let n = min(capacity - buffered, rest.count)
      let wake = append(UnsafeRawBufferPointer(rebasing: rest[..<n]))
      condition.unlock()
      wake?()
      rest = UnsafeRawBufferPointer(rebasing: rest[n...])
    }
  }

  /// Producer side, never blocking: takes all of `bytes` while the pipe holds less than its
  /// capacity, else none (the writer's wake handler is called once the reader made room).
  public func writeIfRoom(_ bytes: UnsafeRawBufferPointer) throws -> Bool {
    condition.lock()
    if cancelled {
      condition.unlock()
      throw HTTPError.cancelled
    }
    guard buffered < capacity else {
      writerWaiting = true
      condition.unlock()
      return false
    }
    let wake = append(bytes)
    condition.unlock()
    wake?()
    return true
  }

  public func whenWritable(_ wake: (@Sendable () -> Void)?) {
    condition.withLock { writerWake = wake }
  }

  public func whenReadable(_ wake: (@Sendable () -> Void)?) {
    condition.withLock { readerWake = wake }
  }

  /// Producer side: no more bytes; `error` makes the consumer fail instead of ending cleanly.
  public func close(error: (any Error)? = nil) {
    condition.lock()
    closed = true
    failure = error
    condition.broadcast()
    let wake = takeReaderWake()
    condition.unlock()
    wake?()
  }

  /// Consumer side gives up: the producer fails on its next write.
  public func cancel() {
    condition.lock()
    cancelled = true
    condition.broadcast()
    let wakes = [takeReaderWake(), takeWriterWake()]
    condition.unlock()
    for wake in wakes { wake?() }
  }

  /// Consumer side: blocks until bytes arrive or the producer closes. A producer's failure
  /// is thrown at once, even with bytes still buffered.
  public func read(into out: UnsafeMutableRawBufferPointer) throws -> Int {
    condition.lock()
    while readable == 0 && !closed && !cancelled && failure == nil { condition.wait() }
    return try take(into: out)
  }

  /// Consumer side, never blocking: nil when no byte is readable yet (the reader's wake
  /// handler is called once one is, or once the producer closes).
  public func readIfReady(into out: UnsafeMutableRawBufferPointer) throws -> Int? {
    condition.lock()
    if readable == 0 && !closed && !cancelled && failure == nil {
      readerWaiting = true
      condition.unlock()
      return nil
    }
    return try take(into: out)
  }

  /// Copies out what is readable, with the lock held; unlocks.
  private func take(into out: UnsafeMutableRawBufferPointer) throws -> Int {
    if cancelled {
      condition.unlock()
      throw HTTPError.cancelled
    }
    if let failure {
      condition.unlock()
      throw failure
    }
    let n = min(out.count, readable)
    guard n > 0, let destination = out.baseAddress else {
      condition.unlock()
      return 0
    }
    buffer.withUnsafeBytes { src in
      if let base = src.baseAddress { destination.copyMemory(from: base + head, byteCount: n) }
    }
    head += n
    condition.broadcast()
    let wake = buffered < capacity ? takeWriterWake() : nil
    condition.unlock()
    wake?()
    return n
  }

  /// A pipe can only be read once.
  public func rewind() -> Bool { false }
}
