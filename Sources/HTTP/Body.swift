import Basics
import FoundationEssentials

/// A request body the transport pulls from, on its own thread; `read` may block.
public protocol BodySource: AnyObject, Sendable {
  /// Total length when known (sent as `Content-Length`); `nil` sends the body chunked.
  var length: Int64? { get }
  /// Copies up to `buffer.count` bytes into `buffer`; returns 0 at the end.
  func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
  /// Starts again from the first byte, for a retry or a redirect. Returns false when it cannot.
  func rewind() -> Bool
}

/// Where a successful (2xx) response body goes, pushed by the transport; `write` may block.
public protocol BodySink: AnyObject, Sendable {
  func write(_ bytes: UnsafeRawBufferPointer) throws
}

/// What a request sends.
public enum RequestBody: Sendable {
  case empty
  case data(Data)
  case file(String)
  case source(any BodySource)

  /// The length the transport announces, when known.
  public var length: Int64? {
    switch self {
    case .empty: 0
    case .data(let d): Int64(d.count)
    case .file(let path): (try? Files.Reader(path: path))?.size
    case .source(let s): s.length
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
