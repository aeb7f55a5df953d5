import Basics
import FoundationEssentials

/// A request body the transport pulls from. Sources are read on the transport's one engine
/// thread, which drives every transfer: `read` must not wait for bytes that another transfer
/// produces (a source that may have to wait is a ``PausableBodySource``).
public protocol BodySource: AnyObject, Sendable {
  /// Total length when known (sent as `Content-Length`); `nil` sends the body chunked.
  var length: Int64? { get }
  /// Copies up to `buffer.count` bytes into `buffer`; returns 0 at the end.
  func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
  /// Starts again from the first byte, for a retry or a redirect. Returns false when it cannot.
  func rewind() -> Bool
}

/// Where a successful (2xx) response body goes, pushed by the transport's engine thread:
/// `write` must not wait for another transfer (a sink that may is a ``PausableBodySink``).
public protocol BodySink: AnyObject, Sendable {
  func write(_ bytes: UnsafeRawBufferPointer) throws
}

/// A source that answers "not yet" instead of blocking, so one thread can drive the transfer
/// that fills it and the one that drains it (a blob GET feeding a PUT): the engine pauses the
/// upload (`CURL_READFUNC_PAUSE`) and resumes it when the source calls the wake handler.
public protocol PausableBodySource: BodySource {
  /// Copies up to `buffer.count` bytes: the count, 0 at the end, or nil when no byte is ready
  /// yet — the handler given to ``whenReadable(_:)`` is then called once there is (or the end).
  func readIfReady(into buffer: UnsafeMutableRawBufferPointer) throws -> Int?
  /// The handler called (on any thread, at most once per nil answer) when reading may go on;
  /// nil removes it.
  func whenReadable(_ wake: (@Sendable () -> Void)?)
}

/// A sink that answers "full" instead of blocking: the engine pauses the download
/// (`CURL_WRITEFUNC_PAUSE`, libcurl keeps the bytes) and hands the same bytes again once the
/// sink calls the wake handler.
public protocol PausableBodySink: BodySink {
  /// Takes all of `bytes` (true) or none of them (false: full; the handler given to
  /// ``whenWritable(_:)`` is called once there is room).
  func writeIfRoom(_ bytes: UnsafeRawBufferPointer) throws -> Bool
  /// The handler called (on any thread, at most once per refusal) when writing may go on;
  /// nil removes it.
  func whenWritable(_ wake: (@Sendable () -> Void)?)
}

/// Makes a request body's stream afresh for every attempt: a retry, a redirect or the answer
/// to a 401 calls it again instead of re-sending a half-read stream.
public struct BodyFactory: Sendable {
  /// The length of every stream it makes, when known (sent as `Content-Length`).
  public let length: Int64?
  private let make: @Sendable () throws -> any BodySource

  public init(length: Int64?, _ make: @escaping @Sendable () throws -> any BodySource) {
    self.length = length
    self.make = make
  }

  /// A fresh stream, from its first byte.
  public func makeSource() throws -> any BodySource { try make() }
}

/// What a request sends. Every case but ``source(_:)`` is a factory: each attempt reads a
/// fresh stream, so a replay (retry, redirect, 401) is always possible.
public enum RequestBody: Sendable {
  case empty
  case data(Data)
  case file(String)
  /// A stream made by a factory, once per attempt.
  case stream(BodyFactory)
  /// One stream, given as is (a pipe fed by another transfer): it is replayed only when it can
  /// rewind itself; otherwise a replay is refused (``HTTPError/bodyNotReplayable(url:reason:)``)
  /// rather than sending its tail as the whole.
  case source(any BodySource)

  /// The length the transport announces, when known.
  public var length: Int64? {
    switch self {
    case .empty: 0
    case .data(let d): Int64(d.count)
    case .file(let path): (try? Files.Reader(path: path))?.size
    case .stream(let factory): factory.length
    case .source(let s): s.length
    }
  }

  /// Whether the body can be sent again (for a retry, a redirect or a 401's replay). A one-shot
  /// ``source(_:)`` is asked to rewind.
  public var isReplayable: Bool {
    switch self {
    case .empty, .data, .file, .stream: true
    case .source(let s): s.rewind()
    }
  }

  /// The stream one attempt reads; nil for an empty body.
  public func makeSource() throws -> (any BodySource)? {
    switch self {
    case .empty: nil
    case .data(let d): DataBodySource(d)
    case .file(let path): try FileBodySource(path: path)
    case .stream(let factory): try factory.makeSource()
    case .source(let s): s
    }
  }
}

/// Where a response body goes. Bodies of non-2xx answers are always buffered (up to 64 KiB)
/// so errors can be shown, whatever is chosen here.
public enum ResponseDestination: Sendable {
  /// Keep the body in memory, failing when it grows past `limit` bytes.
  case buffer(limit: Int)
  /// Read and drop the body (counted in `Response.bodyBytes`).
  case discard
  /// Stream the body into a sink; nothing is kept in memory.
  case sink(any BodySink)

  public static let defaultBuffer = ResponseDestination.buffer(limit: 16 << 20)
}

/// Reads a file in pieces, for uploads that must not sit in memory.
public final class FileBodySource: BodySource, @unchecked Sendable {
  private let reader: Files.Reader
  public var length: Int64? { reader.size }

  public init(path: String) throws {
    do { reader = try Files.Reader(path: path) } catch { throw HTTPError.invalidRequest(error.description) }
  }

  public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    do { return try reader.read(into: buffer) } catch { throw HTTPError.invalidRequest(error.description) }
  }

  public func rewind() -> Bool { reader.rewind() }
}

/// Serves bytes already in memory.
public final class DataBodySource: BodySource, @unchecked Sendable {
  private let data: Data
  private var offset = 0
  private let lock = Lock()
  public var length: Int64? { Int64(data.count) }

  public init(_ data: Data) { self.data = data }

  public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    lock.withLock {
      let n = min(buffer.count, data.count - offset)
      guard n > 0 else { return 0 }
      data.withUnsafeBytes { src in
        guard let to = buffer.baseAddress, let from = src.baseAddress else { return }
        to.copyMemory(from: from + offset, byteCount: n)
      }
      offset += n
      return n
    }
  }

  public func rewind() -> Bool {
    lock.withLock { offset = 0 }
    return true
  }
}
