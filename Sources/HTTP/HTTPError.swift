import Basics
import FoundationEssentials

/// Failures below the HTTP status level. A status code is never an error here: callers
/// (the registry client, the health probe) decide what a 404 means.
public enum HTTPError: Error, Sendable, Equatable, CustomStringConvertible {
  /// libcurl failed the transfer (connection refused, timeout, TLS…). `code` is the CURLcode;
  /// ``kind`` names the class of failure. URLs in errors are printable (no query).
  case transport(url: String, code: Int, message: String, bytesDelivered: Int64)
  case bodyTooLarge(url: String, limit: Int)
  case tooManyRedirects(url: String, limit: Int)
  case redirectRefused(url: String, location: String, reason: String)
  case invalidRequest(String)
  /// A replay (retry, redirect, 401) needed the request body again, and it is a one-shot
  /// stream that cannot be made afresh: refused rather than sending what is left of it.
  case bodyNotReplayable(url: String, reason: String)
  case cancelled

  public var description: String {
    switch self {
    case .transport(let url, _, let message, _): "\(message) (\(url))"
    case .bodyTooLarge(let url, let limit): "response from \(url) is larger than \(limit) bytes"
    case .tooManyRedirects(let url, let limit): "more than \(limit) redirects starting at \(url)"
    case .redirectRefused(let url, let location, let reason): "refused redirect from \(url) to \(location): \(reason)"
    case .invalidRequest(let why): why
    case .bodyNotReplayable(let url, let reason): "the request body for \(url) cannot be sent again (\(reason)): it is a one-shot stream"
    case .cancelled: "cancelled"
    }
  }

  /// Classes of transport failure, for retry decisions and messages.
  public enum Kind: Sendable, Equatable {
    /// No connection: refused, unresolvable, unreachable.
    case connect
    /// The connect timeout, the request deadline or the low-speed limit.
    case timeout
    /// The connection broke (reset, closed early, short body).
    case reset
    /// The TLS handshake or certificate check failed.
    case tls
    case other
  }

  /// The class of a ``transport(url:code:message:bytesDelivered:)`` failure (nil for others).
  public var kind: Kind? {
    guard case .transport(_, let code, _, _) = self else { return nil }
    switch code {
    case 5, 6, 7: return .connect
    case 28: return .timeout
    case 16, 18, 52, 55, 56, 92: return .reset
    case 35, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91: return .tls
    default: return .other
    }
  }

  /// Whether a new attempt may succeed: the connection or the peer failed (connect, timeout,
  /// reset), not the request. A TLS failure, a refused redirect or a body over its limit would
  /// fail the same way again. https://curl.se/libcurl/c/libcurl-errors.html
  public var isRetryable: Bool {
    guard let kind else { return false }
    return kind == .connect || kind == .timeout || kind == .reset
  }
}
