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
  /// Which redirects ``HTTPClient`` follows for this request. Default ``RedirectScope/any``
  /// (a registry's blob GET lands on its storage's host).
  public var redirects: RedirectScope = .any

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

/// Which redirects a request follows. A redirect not followed is the request's answer (its
/// 3xx, with its `Location`), as curl without `--location` answers.
public enum RedirectScope: String, Sendable, CaseIterable {
  /// Every redirect (up to ``HTTPClient/maxRedirects``); headers stay with their origin.
  case any
  /// Redirects to the request's own host name, any scheme or port (`http` → `https` on the
  /// same host, as Kubernetes' HTTP probes follow); https → http is refused as always.
  case sameHost = "same-host"
  /// None.
  case none

  /// Whether a redirect from a request first sent to `original` to `target` is followed.
  public func follows(from original: URL, to target: URL) -> Bool {
    switch self {
    case .any: return true
    case .none: return false
    case .sameHost:
      guard let from = original.origin, let to = target.origin else { return false }
      return from.host == to.host
    }
  }
}

extension URL {
  /// `host[:port]` as written, lower-cased.
  public var authority: String {
    guard let c = URLComponents(url: self, resolvingAgainstBaseURL: false), let host = c.host else { return "" }
    let h = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
    return (c.port.map { "\(h):\($0)" } ?? h).lowercased()
  }
}
