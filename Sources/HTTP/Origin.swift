import Basics
import FoundationEssentials

/// Scheme + host + port ([RFC 6454](https://www.rfc-editor.org/rfc/rfc6454)): the unit
/// credentials are bound to. `https://r.example` and `http://r.example:443` are two origins:
/// comparing host:port alone let an https → http redirect carry credentials in clear.
public struct Origin: Sendable, Hashable, CustomStringConvertible {
  /// `http` or `https`, lower-cased.
  public let scheme: String
  /// Lower-cased; IPv6 literals in brackets.
  public let host: String
  /// The effective port: the scheme's default when the URL names none.
  public let port: Int

  /// Nil for URLs that are not http(s) or have no host.
  public init?(_ url: URL) {
    guard let c = URLComponents(url: url, resolvingAgainstBaseURL: true), let scheme = c.scheme?.lowercased(), scheme == "http" || scheme == "https",
      let host = c.host, !host.isEmpty
    else { return nil }
    self.scheme = scheme
    self.host = (host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host).lowercased()
    self.port = c.port ?? (scheme == "https" ? 443 : 80)
  }

  public var isSecure: Bool { scheme == "https" }

  /// Whether the host is a loopback name or address (`localhost`, 127.0.0.0/8, `::1`).
  public var isLoopback: Bool { host == "localhost" || host.hasPrefix("127.") || host == "[::1]" }

  public var description: String { "\(scheme)://\(host):\(port)" }
}

extension URL {
  /// The URL's origin, if it is an http(s) URL.
  public var origin: Origin? { Origin(self) }

  /// The URL as it may be printed: scheme, authority and path, without user info, query or
  /// fragment (signed URLs carry their signature in the query: `X-Amz-Signature`, `_state`).
  public var redacted: String {
    guard var c = URLComponents(url: self, resolvingAgainstBaseURL: true) else { return "<url>" }
    c.user = nil
    c.password = nil
    let hadQuery = c.query != nil
    c.query = nil
    c.fragment = nil
    return (c.string ?? "<url>") + (hadQuery ? "?…" : "")
  }
}

extension String {
  /// A URL string as it may be printed (see ``Foundation/URL/redacted``); text that is not a
  /// URL is cut at its first `?`.
  public var redactedURL: String {
    if let url = URL(string: self), url.scheme != nil { return url.redacted }
    guard let q = firstIndex(of: "?") else { return self }
    return String(self[..<q]) + "?…"
  }
}
