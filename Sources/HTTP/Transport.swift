import Basics
import FoundationEssentials

/// Performs exactly one HTTP exchange: no redirects followed, no retries. The seam where
/// unit tests script exchanges; ``CurlTransport`` is the real one.
public protocol Transport: Sendable {
  func perform(_ request: Request) async throws -> Response

  /// Runs `body` with its tasks (child tasks too) on the transport's own thread where it has
  /// one, so that a loop of small requests with little work between them (health-check's
  /// probes) hands no request and no answer to another thread. `body` must not block.
  func withAffinity<T, E: Error>(_ body: () async throws(E) -> T) async throws(E) -> T
}

extension Transport {
  /// Runs `body` where it is: a transport without a thread of its own.
  public func withAffinity<T, E: Error>(_ body: () async throws(E) -> T) async throws(E) -> T {
    try await body()
  }
}

/// Transport settings, with the defaults Gantry ships.
public struct TransportConfiguration: Sendable, Hashable {
  /// Time allowed to establish a connection (TCP + TLS). Default 10 s.
  public var connectTimeout: Duration = .seconds(10)
  /// Time allowed for a whole request; `nil` (default) lets big blobs take as long as they
  /// move: stalled transfers are caught by the low-speed limit instead.
  public var totalTimeout: Duration? = nil
  /// A transfer slower than `lowSpeedLimit` bytes/s for `lowSpeedTime` is aborted. Default
  /// 1 KiB/s for 30 s: 1 B/s let a body trickling at 2 B/s run for weeks.
  public var lowSpeedLimit: Int = 1024
  public var lowSpeedTime: Duration = .seconds(30)
  /// `host:port:address` entries that pin a name to an address (curl's `--resolve`), so tests
  /// can stand a non-loopback name such as `registry.test` on 127.0.0.1. Empty by default.
  public var resolve: [String] = []
  /// CA bundle (PEM). Default: `SSL_CERT_FILE` when set, else libcurl's built-in path.
  public var caFile: String? = nil
  /// `host` or `host:port` entries whose TLS certificate is not verified. Empty by default.
  public var insecureHosts: Set<String> = []
  /// Sent on every request.
  public var userAgent: String = "gantry/\(GantryVersion.current)"
  /// Prefer HTTP/2 over TLS when the server offers it (default true).
  public var http2: Bool = true
  /// Easy handles kept for reuse (the connection cache is shared by all). Default 16.
  public var maxIdleHandles: Int = 16
  /// How long the transport's engine thread stays without transfers before it exits (the next
  /// request starts it again; connections stay cached). Default 2 s.
  public var engineIdleTimeout: Duration = .seconds(2)
  /// Print libcurl's verbose trace to stderr (debugging only).
  public var verbose: Bool = false

  public init() {}

  /// The defaults, with `SSL_CERT_FILE` from `environment` honoured.
  public static func fromEnvironment(_ environment: [String: String]) -> TransportConfiguration {
    var c = TransportConfiguration()
    if let f = environment["SSL_CERT_FILE"], !f.isEmpty { c.caFile = f }
    return c
  }

  /// Whether `authority` (`host[:port]`) is listed as insecure, by host or host and port.
  public func isInsecure(_ authority: String) -> Bool {
    if insecureHosts.contains(authority) { return true }
    let host = authority.hasPrefix("[") ? String(authority.prefix { $0 != "]" }.dropFirst()) : String(authority.split(separator: ":").first ?? "")
    return insecureHosts.contains(host)
  }
}

/// The version Gantry reports in `User-Agent` and `--version`.
public enum GantryVersion {
  public static let current = "0.1.0"
}
