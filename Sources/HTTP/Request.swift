import Basics
import FoundationEssentials

/// One HTTP exchange to perform. A value: retries and redirects copy and adjust it.
public struct Request: Sendable {
  public var method: String
  public var url: URL
  public var headers: Headers
  public var body: RequestBody
  public var destination: ResponseDestination
  /// Overrides the transport's total timeout for this request: the deadline of a small
  /// request (a manifest, a token, a tag page), after which it fails as a timeout.
  public var timeout: Duration?
  /// Override the transport's low-speed limit (bytes/s) and the time below it that aborts.
  public var lowSpeedLimit: Int?
  public var lowSpeedTime: Duration?
  /// Whether the request spends the origin's rate budget (``RateLimits`` paces these, and
  /// refuses them when it is spent). Default: every method but HEAD; Docker Hub counts only
  /// manifest GETs, so the registry client marks blob GETs as free.
  public var countsTowardRateLimit: Bool {
    get { counts ?? (method != "HEAD") }
    set { counts = newValue }
  }
  private var counts: Bool?

  public init(
    method: String = "GET", url: URL, headers: Headers = [:], body: RequestBody = .empty,
    destination: ResponseDestination = .defaultBuffer, timeout: Duration? = nil
  ) {
    self.method = method
    self.url = url
    self.headers = headers
    self.body = body
    self.destination = destination
    self.timeout = timeout
  }

  /// `host` or `host:port`, the unit credentials are bound to.
  public var authority: String { url.authority }

  /// Whether the body can be sent again (for a retry or a redirect).
  public var isReplayable: Bool { body.isReplayable }
}

extension URL {
  /// `host[:port]` as written, lower-cased.
  public var authority: String {
    guard let c = URLComponents(url: self, resolvingAgainstBaseURL: false), let host = c.host else { return "" }
    let h = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
    return (c.port.map { "\(h):\($0)" } ?? h).lowercased()
  }
}
