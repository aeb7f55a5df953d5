import Basics
// The libcurl transport, in four files under Curl/ (the only ones that import CCurl):
// this facade, the engine thread (CurlEngine), the C callbacks and transfer state
// (CurlCallbacks), the easy-handle setup (CurlOptions).
import CCurl
import FoundationEssentials

/// The real ``Transport``: one engine thread per transport drives every request through
/// `curl_multi` (see `CurlEngine`), and each `perform` awaits its transfer through a
/// continuation. The multi handle keeps one connection cache: connections, TLS sessions and
/// HTTP/2 multiplexing are shared by every request of the transport. Cancelling the calling
/// task cancels the transfer.
///
/// Bodies stream both ways through ``BodySource``/``BodySink``: a blob never sits in memory;
/// a ``BodyPipe`` from one transfer into another is paused and resumed on the engine thread.
/// Redirects are not followed here (``HTTPClient`` does it, dropping credentials across hosts);
/// only http and https are allowed; proxies come from libcurl's own environment handling
/// (`https_proxy`, `no_proxy`, …).
public final class CurlTransport: Transport, @unchecked Sendable {
  public let configuration: TransportConfiguration
  let engine: CurlEngine

  public init(configuration: TransportConfiguration = TransportConfiguration()) {
    CurlGlobal.ensureInitialised()
    self.configuration = configuration
    self.engine = CurlEngine(configuration: configuration)
  }

  /// The process's transport for `configuration`: one per distinct configuration, created on
  /// first use. The stages of a run — and both registries of a promote — share its handles
  /// (connections, TLS sessions) and threads instead of each building their own.
  public static func shared(_ configuration: TransportConfiguration) -> CurlTransport {
    SharedTransports.instance.transport(for: configuration)
  }

  /// The CA bundle libcurl uses when given none (its build's `--with-ca-bundle`), if any.
  public static var builtInCABundle: String? {
    guard let info = ccurl_version_info(), let path = info.pointee.cainfo else { return nil }
    return String(cString: path)
  }

  /// libcurl's version and features, for `--version` and diagnostics. No `curl_global_init`:
  /// `curl_version_info` does not need it, and initialising OpenSSL (and cleaning it up at
  /// exit) was three quarters of the instructions of `gantry --version` (docs/benchmarks.md).
  /// A build that loads libcurl on first use names the library file instead of loading it:
  /// `--version` starts without libcurl's ~30 shared libraries.
  public static var libraryDescription: String {
    if let file = ccurl_library_file() { return "\(String(cString: file)), loaded on first use" }
    guard let info = ccurl_version_info() else { return "libcurl (unknown)" }
    let version = String(cString: info.pointee.version)
    let ssl = info.pointee.ssl_version.map { String(cString: $0) } ?? "no TLS"
    let http2 = (info.pointee.features & Int32(CURL_VERSION_HTTP2)) != 0
    return "libcurl/\(version) \(ssl)\(http2 ? " http2" : "")"
  }

  /// Why libcurl cannot be used, one line naming the library file, or nil when it can. Loads
  /// it in a build that loads libcurl on first use (once per process); the static binary links
  /// it and is never refused. A transport must not be made when this is not nil: its first
  /// libcurl call would end the process.
  public static var libraryProblem: String? { ccurl_load().map { String(cString: $0) } }

  /// Whether libcurl's TLS library is mbedTLS 2, which the static binary uses to stay small: it
  /// speaks TLS 1.2 at most and matches a certificate by DNS name only (docs/benchmarks.md).
  static let tlsMatchesDNSNamesOnly: Bool = {
    guard let info = ccurl_version_info(), let ssl = info.pointee.ssl_version else { return false }
    return String(cString: ssl).hasPrefix("mbedTLS/2")
  }()

  /// A hint for a certificate check that failed on a server reached by IP address with the
  /// mbedTLS build, which cannot match IP-address certificates: says why and what works.
  static func ipCertificateHint(_ url: URL) -> String? {
    guard let host = url.host(percentEncoded: false), isIPLiteral(host), tlsMatchesDNSNamesOnly else { return nil }
    return "; this build's TLS library (mbedTLS 2) cannot match a certificate to an IP address: reach \(host) by a DNS name its certificate lists, or use a binary built with GANTRY_TLS=openssl"
  }

  static func isIPLiteral(_ host: String) -> Bool {
    if host.contains(":") { return true }  // IPv6 (a DNS name never holds a colon)
    let parts = host.split(separator: ".", omittingEmptySubsequences: false)
    return parts.count == 4 && parts.allSatisfy { p in !p.isEmpty && p.count <= 3 && p.allSatisfy { $0.isASCII && $0.isNumber } }
  }

  /// Runs `body` on the engine thread (the engine is its tasks' preferred executor): each
  /// request is queued and answered on that thread, with no wakeup of another one.
  public func withAffinity<T, E: Error>(_ body: () async throws(E) -> T) async throws(E) -> T {
    try await withTaskExecutorPreference(engine, operation: body)
  }

  public func perform(_ request: Request) async throws -> Response {
    let transfer = Transfer(request: request)
    return try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Response, any Error>) in
        transfer.setContinuation(continuation)
        engine.submit(.start(transfer))
      }
    } onCancel: {
      // The engine removes the transfer from its multi handle (or never starts it).
      if transfer.markCancelled() { engine.submit(.cancel(transfer)) }
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
