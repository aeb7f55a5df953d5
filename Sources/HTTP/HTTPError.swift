import Foundation

/// Failures below the HTTP status level. A status code is never an error here: callers
/// (the registry client, the health probe) decide what a 404 means.
public enum HTTPError: Error, Sendable, Equatable, CustomStringConvertible {
  /// libcurl failed the transfer (connection refused, timeout, TLS…). `code` is the CURLcode.
  case transport(url: String, code: Int, message: String, bytesDelivered: Int64)
  case bodyTooLarge(url: String, limit: Int)
  case tooManyRedirects(url: String, limit: Int)
  case redirectRefused(url: String, location: String, reason: String)
  case invalidRequest(String)
  case cancelled

  public var description: String {
    switch self {
    case .transport(let url, _, let message, _): "\(message) (\(url))"
    case .bodyTooLarge(let url, let limit): "response from \(url) is larger than \(limit) bytes"
    case .tooManyRedirects(let url, let limit): "more than \(limit) redirects starting at \(url)"
    case .redirectRefused(let url, let location, let reason): "refused redirect from \(url) to \(location): \(reason)"
    case .invalidRequest(let why): why
    case .cancelled: "cancelled"
    }
  }

  /// CURLcodes worth another attempt: the connection or the peer failed, not the request.
  /// https://curl.se/libcurl/c/libcurl-errors.html
  static let retryableCurlCodes: Set<Int> = [
    5,  // COULDNT_RESOLVE_PROXY
    6,  // COULDNT_RESOLVE_HOST (flaky DNS on runners)
    7,  // COULDNT_CONNECT
    16,  // HTTP2 framing
    18,  // PARTIAL_FILE
    28,  // OPERATION_TIMEDOUT
    35,  // SSL_CONNECT_ERROR
    52,  // GOT_NOTHING
    55,  // SEND_ERROR
    56,  // RECV_ERROR
    92,  // HTTP2_STREAM
  ]

  /// Whether a new attempt may succeed.
  public var isRetryable: Bool {
    if case .transport(_, let code, _, _) = self { return Self.retryableCurlCodes.contains(code) }
    return false
  }
}
