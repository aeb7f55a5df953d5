import Basics
// The only Swift file that imports CCurl: every libcurl call lives here.
import CCurl
import FoundationEssentials

#if canImport(Glibc)
  import Glibc
#endif

/// The real ``Transport``: libcurl easy handles, one blocking `curl_easy_perform` per request
/// on its own thread, bridged to async/await. Handles are pooled, so connections (and TLS
/// sessions) are reused across requests to the same host.
///
/// Bodies stream both ways through ``BodySource``/``BodySink``: a blob never sits in memory.
/// Redirects are not followed here (``HTTPClient`` does it, dropping credentials across hosts);
/// only http and https are allowed; proxies come from libcurl's own environment handling
/// (`https_proxy`, `no_proxy`, …).
public final class CurlTransport: Transport, @unchecked Sendable {
  public let configuration: TransportConfiguration
  private let pool: HandlePool
  private let workers = WorkerPool()

  public init(configuration: TransportConfiguration = TransportConfiguration()) {
    CurlGlobal.ensureInitialised()
    self.configuration = configuration
    self.pool = HandlePool(limit: configuration.maxIdleHandles)
  }

  /// The process's transport for `configuration`: one per distinct configuration, created on
  /// first use. The stages of a run — and both registries of a promote — share its handles
  /// (connections, TLS sessions) and threads instead of each building their own.
  public static func shared(_ configuration: TransportConfiguration) -> CurlTransport {
    SharedTransports.instance.transport(for: configuration)
  }

  /// libcurl's version and features, for `--version` and diagnostics.
  public static var libraryDescription: String {
    CurlGlobal.ensureInitialised()
    guard let info = ccurl_version_info() else { return "libcurl (unknown)" }
    let version = String(cString: info.pointee.version)
    let ssl = info.pointee.ssl_version.map { String(cString: $0) } ?? "no TLS"
    let http2 = (info.pointee.features & Int32(CURL_VERSION_HTTP2)) != 0
    return "libcurl/\(version) \(ssl)\(http2 ? " http2" : "")"
  }

  public func perform(_ request: Request) async throws -> Response {
    let transfer = Transfer(request: request)
    return try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Response, any Error>) in
        workers.submit { [self] in
          continuation.resume(with: Result { try self.run(transfer) })
        }
      }
    } onCancel: {
      transfer.cancel()
    }
  }

  private func run(_ transfer: Transfer) throws -> Response {
    let handle = try pool.take()
    var reusable = true
    defer { if reusable { pool.give(handle) } }
    let h = handle.raw
    let request = transfer.request
    var headerList: UnsafeMutablePointer<curl_slist>? = nil
    var resolveList: UnsafeMutablePointer<curl_slist>? = nil
    defer {
      curl_slist_free_all(headerList)
      curl_slist_free_all(resolveList)
    }

    curl_easy_reset(h)
    var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    let userdata = Unmanaged.passUnretained(transfer).toOpaque()

    let code: CURLcode = try request.url.absoluteString.withCString { url in
      try errorBuffer.withUnsafeMutableBufferPointer { eb in
        ccurl_setopt_string(h, CURLOPT_URL, url)
        ccurl_setopt_pointer(h, CURLOPT_ERRORBUFFER, eb.baseAddress)
        ccurl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        ccurl_setopt_string(h, CURLOPT_PROTOCOLS_STR, "http,https")
        ccurl_setopt_string(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        ccurl_setopt_long(h, CURLOPT_FOLLOWLOCATION, 0)
        ccurl_setopt_long(h, CURLOPT_TCP_KEEPALIVE, 1)
        ccurl_setopt_long(h, CURLOPT_BUFFERSIZE, 256 << 10)
        ccurl_setopt_long(h, CURLOPT_UPLOAD_BUFFERSIZE, 512 << 10)
        ccurl_setopt_long(h, CURLOPT_HTTP_VERSION, configuration.http2 ? ccurl_http_version_2tls : CURL_HTTP_VERSION_1_1)
        ccurl_setopt_string(h, CURLOPT_USERAGENT, configuration.userAgent)
        ccurl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, configuration.connectTimeout.milliseconds)
        if let total = request.timeout ?? configuration.totalTimeout {
          ccurl_setopt_long(h, CURLOPT_TIMEOUT_MS, total.milliseconds)
        }
        ccurl_setopt_long(h, CURLOPT_LOW_SPEED_LIMIT, request.lowSpeedLimit ?? configuration.lowSpeedLimit)
        ccurl_setopt_long(h, CURLOPT_LOW_SPEED_TIME, max(1, (request.lowSpeedTime ?? configuration.lowSpeedTime).milliseconds / 1000))
        if let ca = configuration.caFile { ccurl_setopt_string(h, CURLOPT_CAINFO, ca) }
        if configuration.isInsecure(request.authority) {
          ccurl_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 0)
          ccurl_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 0)
        }
        if configuration.verbose { ccurl_setopt_long(h, CURLOPT_VERBOSE, 1) }
        if !configuration.resolve.isEmpty {
          for entry in configuration.resolve { resolveList = curl_slist_append(resolveList, entry) }
          ccurl_setopt_slist(h, CURLOPT_RESOLVE, resolveList)
        }

        try configureMethodAndBody(h, transfer)
        for field in request.headers {
          headerList = curl_slist_append(headerList, "\(field.name): \(field.value)")
        }
        // No "Expect: 100-continue" round trip before uploads.
        headerList = curl_slist_append(headerList, "Expect:")
        ccurl_setopt_slist(h, CURLOPT_HTTPHEADER, headerList)

        ccurl_setopt_header_function(h, headerCallback)
        ccurl_setopt_pointer(h, CURLOPT_HEADERDATA, userdata)
        ccurl_setopt_write_function(h, writeCallback)
        ccurl_setopt_pointer(h, CURLOPT_WRITEDATA, userdata)
        ccurl_setopt_xferinfo_function(h, progressCallback)
        ccurl_setopt_pointer(h, CURLOPT_XFERINFODATA, userdata)
        ccurl_setopt_long(h, CURLOPT_NOPROGRESS, 0)
        return curl_easy_perform(h)
      }
    }

    if let failure = transfer.failure {
      reusable = false
      throw failure
    }
    if transfer.isCancelled { throw HTTPError.cancelled }
    guard code == CURLE_OK else {
      reusable = code != CURLE_OUT_OF_MEMORY
      let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
      let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
      throw HTTPError.transport(
        url: request.url.redacted, code: Int(code.rawValue), message: message,
        bytesDelivered: transfer.deliveredToSink)
    }
    var version = 0
    ccurl_getinfo_long(h, CURLINFO_HTTP_VERSION, &version)
    return transfer.response(url: request.url, httpVersion: Self.versionName(version))
  }

  private func configureMethodAndBody(_ h: UnsafeMutableRawPointer, _ transfer: Transfer) throws {
    let request = transfer.request
    let method = request.method.uppercased()
    switch request.body {
    case .empty:
      switch method {
      case "GET": ccurl_setopt_long(h, CURLOPT_HTTPGET, 1)
      case "HEAD": ccurl_setopt_long(h, CURLOPT_NOBODY, 1)
      case "POST", "PUT", "PATCH":
        // An empty upload: announce Content-Length: 0.
        ccurl_setopt_long(h, CURLOPT_POST, 1)
        ccurl_setopt_off(h, CURLOPT_POSTFIELDSIZE_LARGE, 0)
        ccurl_setopt_string(h, CURLOPT_POSTFIELDS, "")
        if method != "POST" { ccurl_setopt_string(h, CURLOPT_CUSTOMREQUEST, method) }
      default: ccurl_setopt_string(h, CURLOPT_CUSTOMREQUEST, method)
      }
    case .data(let data):
      transfer.source = DataBodySource(data)
    case .file(let path):
      transfer.source = try FileBodySource(path: path)
    case .source(let source):
      transfer.source = source
    }
    guard let source = transfer.source else { return }
    ccurl_setopt_long(h, CURLOPT_UPLOAD, 1)
    ccurl_setopt_off(h, CURLOPT_INFILESIZE_LARGE, curl_off_t(source.length ?? -1))
    ccurl_setopt_string(h, CURLOPT_CUSTOMREQUEST, method)
    ccurl_setopt_read_function(h, readCallback)
    ccurl_setopt_pointer(h, CURLOPT_READDATA, Unmanaged.passUnretained(transfer).toOpaque())
  }

  private static func versionName(_ v: Int) -> String {
    switch v {
    case CURL_HTTP_VERSION_1_0: "1.0"
    case CURL_HTTP_VERSION_2_0: "2"
    case 30: "3"
    default: "1.1"
    }
  }
}

/// State of one transfer, reached from libcurl's callbacks through `Unmanaged` userdata.
final class Transfer: @unchecked Sendable {
  let request: Request
  /// The upload body. Set on the worker thread while the transfer is configured and read by
  /// `cancel()` from any thread: behind the lock (ThreadSanitizer found the race).
  var source: (any BodySource)? {
    get { lock.withLock { storedSource } }
    set { lock.withLock { storedSource = newValue } }
  }
  private var storedSource: (any BodySource)?
  private(set) var status = 0
  private var headers = Headers()
  private var body = Data()
  private(set) var bodyBytes: Int64 = 0
  private(set) var deliveredToSink: Int64 = 0
  private(set) var failure: (any Error)?
  private let lock = Lock()
  private var cancelled = false

  /// Error bodies are kept up to this size for messages.
  static let errorBodyLimit = 64 << 10

  init(request: Request) { self.request = request }

  var isCancelled: Bool { lock.withLock { cancelled } }

  func cancel() {
    let source = lock.withLock {
      cancelled = true
      return storedSource
    }
    (source as? BodyPipe)?.cancel()
    if case .sink(let sink) = request.destination { (sink as? BodyPipe)?.cancel() }
  }

  func header(_ line: String) {
    let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
    if trimmed.hasPrefix("HTTP/") {
      // A new response (after 100 Continue or a proxy's CONNECT): start over.
      headers = Headers()
      let parts = trimmed.split(separator: " ", maxSplits: 2)
      status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
    } else if let colon = trimmed.firstIndex(of: ":") {
      headers.add(String(trimmed[..<colon]), trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces))
    }
  }

  /// Returns false to make libcurl abort the transfer.
  func receive(_ bytes: UnsafeRawBufferPointer) -> Bool {
    bodyBytes += Int64(bytes.count)
    guard (200..<300).contains(status) else {
      let room = Self.errorBodyLimit - body.count
      if room > 0 { body.append(contentsOf: bytes.prefix(room)) }
      return true
    }
    switch request.destination {
    case .discard:
      return true
    case .buffer(let limit):
      if body.count + bytes.count > limit {
        failure = HTTPError.bodyTooLarge(url: request.url.redacted, limit: limit)
        return false
      }
      body.append(contentsOf: bytes)
      return true
    case .sink(let sink):
      do {
        try sink.write(bytes)
        deliveredToSink += Int64(bytes.count)
        return true
      } catch {
        failure = error
        return false
      }
    }
  }

  /// Returns the byte count, or nil to abort.
  func send(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
    guard let source else { return 0 }
    do { return try source.read(into: buffer) } catch {
      failure = error
      return nil
    }
  }

  func response(url: URL, httpVersion: String) -> Response {
    Response(status: status, headers: headers, body: body, bodyBytes: bodyBytes, url: url, httpVersion: httpVersion)
  }
}

private let headerCallback: ccurl_data_callback = { ptr, size, count, userdata in
  let transfer = Unmanaged<Transfer>.fromOpaque(userdata!).takeUnretainedValue()
  let n = size * count
  transfer.header(String(decoding: UnsafeRawBufferPointer(start: ptr, count: n), as: UTF8.self))
  return n
}

private let writeCallback: ccurl_data_callback = { ptr, size, count, userdata in
  let transfer = Unmanaged<Transfer>.fromOpaque(userdata!).takeUnretainedValue()
  let n = size * count
  return transfer.receive(UnsafeRawBufferPointer(start: ptr, count: n)) ? n : 0
}

private let readCallback: ccurl_data_callback = { ptr, size, count, userdata in
  let transfer = Unmanaged<Transfer>.fromOpaque(userdata!).takeUnretainedValue()
  return transfer.send(into: UnsafeMutableRawBufferPointer(start: ptr, count: size * count)) ?? ccurl_readfunc_abort
}

private let progressCallback: ccurl_xferinfo_callback = { userdata, _, _, _, _ in
  Unmanaged<Transfer>.fromOpaque(userdata!).takeUnretainedValue().isCancelled ? 1 : 0
}

/// An owned `CURL*`, freed with its owner.
final class EasyHandle: @unchecked Sendable {
  let raw: UnsafeMutableRawPointer
  init(raw: UnsafeMutableRawPointer) { self.raw = raw }
  deinit { curl_easy_cleanup(raw) }
}

/// Idle easy handles, reused so their connection caches are too.
final class HandlePool: @unchecked Sendable {
  private var idle: [EasyHandle] = []
  private let limit: Int
  private let lock = Lock()

  init(limit: Int) { self.limit = limit }

  func take() throws -> EasyHandle {
    if let h = lock.withLock({ idle.popLast() }) { return h }
    guard let raw = curl_easy_init() else { throw HTTPError.invalidRequest("libcurl could not create a handle") }
    return EasyHandle(raw: raw)
  }

  func give(_ handle: EasyHandle) {
    lock.withLock { if idle.count < limit { idle.append(handle) } }
  }
}

/// Threads that run blocking transfers. A thread per in-flight transfer at least (a streamed
/// copy needs its GET and PUT running at once), kept alive afterwards: creating a thread per
/// request doubled the cost of a small request.
final class WorkerPool: @unchecked Sendable {
  private let condition = Condition()
  private var jobs: [@Sendable () -> Void] = []
  private var threads = 0
  /// Jobs queued or running; threads ≥ busy, so every job has a thread.
  private var busy = 0
  /// Whether an idle thread is spinning for the next job.
  private var spinning = false

  func submit(_ job: @escaping @Sendable () -> Void) {
    condition.lock()
    jobs.append(job)
    busy += 1
    if busy > threads {
      threads += 1
      Threads.detach(name: "gantry-curl") { [self] in loop() }
    }
    condition.signal()
    condition.unlock()
  }

  private func loop() {
    condition.lock()
    while true {
      // Sequential requests (health probes, manifest walks) come back within microseconds:
      // a short spin before sleeping saves a thread wake-up per request. One thread spins at
      // a time: after a wave of parallel requests a dozen spinning threads took the CPU the
      // registries (on the same 2 cores, in tests and benchmarks) needed to answer.
      if jobs.isEmpty && !spinning {
        spinning = true
        var spins = 0
        while jobs.isEmpty && spins < 2000 {
          condition.unlock()
          spins += 1
          sched_yield()
          condition.lock()
        }
        spinning = false
      }
      while jobs.isEmpty { condition.wait() }
      let job = jobs.removeFirst()
      condition.unlock()
      job()
      condition.lock()
      busy -= 1
    }
  }
}

/// The transports of this process, by configuration.
final class SharedTransports: @unchecked Sendable {
  static let instance = SharedTransports()
  private let lock = Lock()
  private var transports: [TransportConfiguration: CurlTransport] = [:]

  func transport(for configuration: TransportConfiguration) -> CurlTransport {
    lock.withLock {
      if let t = transports[configuration] { return t }
      let t = CurlTransport(configuration: configuration)
      transports[configuration] = t
      return t
    }
  }
}

/// `curl_global_init` must run once, before any thread uses libcurl.
enum CurlGlobal {
  private static let initialised: Bool = { ccurl_global_init() == CURLE_OK }()
  static func ensureInitialised() { _ = initialised }
}

extension Duration {
  /// Milliseconds with fractions (latencies, rates).
  public var totalMilliseconds: Double {
    Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
  }

  /// Whole milliseconds, for libcurl's `_MS` options and `duration-ms` outputs; saturating
  /// (a `Retry-After` of `Int64.max` seconds must not trap).
  public var milliseconds: Int {
    let (s, atto) = components
    let (ms, overflow) = Int(s).multipliedReportingOverflow(by: 1000)
    guard !overflow else { return s < 0 ? .min : .max }
    let (total, overflow2) = ms.addingReportingOverflow(Int(atto / 1_000_000_000_000_000))
    return overflow2 ? (ms < 0 ? .min : .max) : total
  }
}
