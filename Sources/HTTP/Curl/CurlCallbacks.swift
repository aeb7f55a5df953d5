import Basics
import CCurl
import FoundationEssentials

/// State of one transfer. Created by ``CurlTransport/perform(_:)``, then owned by the engine
/// thread: libcurl's callbacks (on that thread) reach it through `Unmanaged` userdata. Only the
/// cancel flag and the continuation are touched from other threads, behind `lock`.
final class Transfer: @unchecked Sendable {
  let request: Request
  /// Engine thread only, from here to `deliveredToSink`.
  var handle: EasyHandle?
  /// The upload stream of this attempt (made by the body's factory on the engine thread).
  var source: (any BodySource)?
  var headerList: UnsafeMutablePointer<curl_slist>?
  var resolveList: UnsafeMutablePointer<curl_slist>?
  let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
  private(set) var status = 0
  private var headers = Headers()
  private var body = Data()
  private(set) var bodyBytes: Int64 = 0
  private(set) var deliveredToSink: Int64 = 0
  private(set) var failure: (any Error)?

  private let lock = Lock()
  private var cancelled = false
  private var continuation: CheckedContinuation<Response, any Error>?

  /// Error bodies are kept up to this size for messages.
  static let errorBodyLimit = 64 << 10

  init(request: Request) {
    self.request = request
    errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
  }

  deinit {
    curl_slist_free_all(headerList)
    curl_slist_free_all(resolveList)
    errorBuffer.deallocate()
  }

  var isCancelled: Bool { lock.withLock { cancelled } }

  /// Marks the transfer cancelled; false when it was already.
  func markCancelled() -> Bool {
    lock.withLock {
      defer { cancelled = true }
      return !cancelled
    }
  }

  func setContinuation(_ c: CheckedContinuation<Response, any Error>) {
    lock.withLock { continuation = c }
  }

  /// Answers the caller, once; and lets go of the body's wake handlers (they hold this transfer).
  func finish(_ result: Result<Response, any Error>) {
    (source as? PausableBodySource)?.whenReadable(nil)
    if case .sink(let sink) = request.destination { (sink as? PausableBodySink)?.whenWritable(nil) }
    let c = lock.withLock {
      defer { continuation = nil }
      return continuation
    }
    c?.resume(with: result)
  }

  /// Cancels the pipes this transfer reads or fills, so the transfer on their other end fails
  /// too instead of waiting for bytes that will never come.
  func cancelPipes() {
    (source as? BodyPipe)?.cancel()
    if case .source(let s) = request.body { (s as? BodyPipe)?.cancel() }
    if case .sink(let sink) = request.destination { (sink as? BodyPipe)?.cancel() }
  }

  /// The libcurl error message of a failed transfer.
  var errorMessage: String { String(cString: errorBuffer) }

  func header(_ bytes: UnsafeRawBufferPointer) {
    // Status line and fields are ASCII; parsed on bytes (this runs for every header line of
    // every request on the engine thread).
    var end = bytes.count
    while end > 0, bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D || bytes[end - 1] == 0x20 { end -= 1 }
    let line = UnsafeRawBufferPointer(rebasing: bytes[..<end])
    if line.starts(with: "HTTP/".utf8) {
      // A new response (after 100 Continue or a proxy's CONNECT): start over.
      headers = Headers()
      status = 0
      if let space = line.firstIndex(of: 0x20) {
        var code = 0
        var i = space + 1
        while i < line.count, (0x30...0x39).contains(line[i]), code < 1000 {
          code = code * 10 + Int(line[i] - 0x30)
          i += 1
        }
        status = code
      }
    } else if let colon = line.firstIndex(of: 0x3A) {
      // Spaces and tabs trimmed on bytes: `trimmingCharacters(in:)` walked Unicode scalars
      // and was a fifth of a health probe's instructions.
      func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }
      var nameStart = 0
      var nameEnd = colon
      while nameStart < nameEnd, isBlank(line[nameStart]) { nameStart += 1 }
      while nameEnd > nameStart, isBlank(line[nameEnd - 1]) { nameEnd -= 1 }
      var valueStart = colon + 1
      while valueStart < line.count, isBlank(line[valueStart]) { valueStart += 1 }
      let name = String(decoding: UnsafeRawBufferPointer(rebasing: line[nameStart..<nameEnd]), as: UTF8.self)
      let value = String(decoding: UnsafeRawBufferPointer(rebasing: line[valueStart...]), as: UTF8.self)
      headers.add(name, value)
    }
  }

  /// The write callback's answer: the byte count, 0 to abort, or `ccurl_writefunc_pause`.
  func receive(_ bytes: UnsafeRawBufferPointer) -> Int {
    guard (200..<300).contains(status) else {
      bodyBytes += Int64(bytes.count)
      let room = Self.errorBodyLimit - body.count
      if room > 0 { body.append(contentsOf: bytes.prefix(room)) }
      return bytes.count
    }
    switch request.destination {
    case .discard:
      break
    case .buffer(let limit):
      if body.count + bytes.count > limit {
        failure = HTTPError.bodyTooLarge(url: request.url.redacted, limit: limit)
        return 0
      }
      body.append(contentsOf: bytes)
    case .sink(let sink):
      do {
        if let pausable = sink as? PausableBodySink {
          // Full: libcurl keeps these bytes and hands them again once resumed.
          guard try pausable.writeIfRoom(bytes) else { return Int(ccurl_writefunc_pause) }
        } else {
          try sink.write(bytes)
        }
        deliveredToSink += Int64(bytes.count)
      } catch {
        failure = error
        return 0
      }
    }
    bodyBytes += Int64(bytes.count)
    return bytes.count
  }

  /// The read callback's answer: the byte count (0 at the end), `ccurl_readfunc_pause` or
  /// `ccurl_readfunc_abort`.
  func send(into buffer: UnsafeMutableRawBufferPointer) -> Int {
    guard let source else { return 0 }
    do {
      if let pausable = source as? PausableBodySource {
        guard let n = try pausable.readIfReady(into: buffer) else { return Int(ccurl_readfunc_pause) }
        return n
      }
      return try source.read(into: buffer)
    } catch {
      failure = error
      return Int(ccurl_readfunc_abort)
    }
  }

  func response(httpVersion: String) -> Response {
    Response(status: status, headers: headers, body: body, bodyBytes: bodyBytes, url: request.url, httpVersion: httpVersion)
  }
}

// libcurl's C callbacks: each finds its transfer through the userdata pointer set in
// `CurlOptions.configure` (unretained: the engine holds the transfer while libcurl runs it).

let curlHeaderCallback: ccurl_data_callback = { ptr, size, count, userdata in
  guard let userdata else { return 0 }
  let n = size * count
  Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue().header(UnsafeRawBufferPointer(start: ptr, count: n))
  return n
}

let curlWriteCallback: ccurl_data_callback = { ptr, size, count, userdata in
  guard let userdata else { return 0 }
  let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
  return transfer.receive(UnsafeRawBufferPointer(start: ptr, count: size * count))
}

let curlReadCallback: ccurl_data_callback = { ptr, size, count, userdata in
  guard let userdata else { return ccurl_readfunc_abort }
  let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
  return transfer.send(into: UnsafeMutableRawBufferPointer(start: ptr, count: size * count))
}
