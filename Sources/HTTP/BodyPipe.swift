import Basics
import FoundationEssentials

/// A bounded, blocking byte pipe: one transfer's response body becomes another's request
/// body (registry GET → registry PUT) without touching disk. Memory stays at `capacity`
/// whatever the blob size: the faster side waits for the slower one.
public final class BodyPipe: BodySource, BodySink, @unchecked Sendable {
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

  /// - Parameters:
  ///   - length: the body length when known (a blob's descriptor size).
  ///   - capacity: bytes held at most between the two sides (default 1 MiB).
  ///   - holdingLastByte: the last byte reaches the consumer only once the producer closes
  ///     without an error: an upload fed from this pipe cannot complete (a registry commits a
  ///     blob on its last byte, or on a chunked body's end) before the producer has checked
  ///     what it wrote — a digest mismatch then aborts the upload instead of storing bad bytes.
  public init(length: Int64?, capacity: Int = 1 << 20, holdingLastByte: Bool = false) {
    self.length = length
    self.capacity = max(capacity, 2)
    self.holdBack = holdingLastByte ? 1 : 0
    buffer.reserveCapacity(self.capacity)
  }

  /// Producer side: blocks while the pipe is full.
  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    var rest = bytes[...]
    condition.lock()
    defer { condition.unlock() }
    while !rest.isEmpty {
      while buffer.count - head >= capacity && !cancelled { condition.wait() }
      if cancelled { throw HTTPError.cancelled }
      if head > 0 && head == buffer.count {
        buffer.removeAll(keepingCapacity: true)
        head = 0
      }
      let room = capacity - (buffer.count - head)
      let n = min(room, rest.count)
      buffer.append(contentsOf: rest.prefix(n))
      rest = rest.dropFirst(n)
      condition.broadcast()
    }
  }

  /// Producer side: no more bytes; `error` makes the consumer fail instead of ending cleanly.
  public func close(error: (any Error)? = nil) {
    condition.lock()
    closed = true
    failure = error
    condition.broadcast()
    condition.unlock()
  }

  /// Consumer side gives up: a blocked producer fails.
  public func cancel() {
    condition.lock()
    cancelled = true
    condition.broadcast()
    condition.unlock()
  }

  /// Consumer side: blocks until bytes arrive or the producer closes. A producer's failure
  /// is thrown at once, even with bytes still buffered.
  public func read(into out: UnsafeMutableRawBufferPointer) throws -> Int {
    condition.lock()
    defer { condition.unlock() }
    while buffer.count - head <= holdBack && !closed && !cancelled { condition.wait() }
    if cancelled { throw HTTPError.cancelled }
    if let failure { throw failure }
    let readable = closed ? buffer.count - head : buffer.count - head - holdBack
    if readable == 0 { return 0 }
    let n = min(out.count, readable)
    buffer.withUnsafeBytes { src in
      out.baseAddress!.copyMemory(from: src.baseAddress! + head, byteCount: n)
    }
    head += n
    if head > capacity {
      buffer.removeFirst(head)
      head = 0
    }
    condition.broadcast()
    return n
  }

  /// A pipe can only be read once.
  public func rewind() -> Bool { false }
}
