import Basics
import FoundationEssentials

/// What came back. `body` holds the bytes when they were buffered (always for non-2xx).
public struct Response: Sendable {
  public var status: Int
  public var headers: Headers
  public var body: Data
  /// Bytes of body received, whatever the destination.
  public var bodyBytes: Int64
  /// The URL that answered (after Gantry-followed redirects).
  public var url: URL
  /// "1.1", "2" or "3".
  public var httpVersion: String
  /// Attempts the client made for this answer (more than 1 after retries), for messages.
  public var attempts: Int = 1

  public init(
    status: Int, headers: Headers = [:], body: Data = Data(), bodyBytes: Int64? = nil, url: URL,
    httpVersion: String = "1.1"
  ) {
    self.status = status
    self.headers = headers
    self.body = body
    self.bodyBytes = bodyBytes ?? Int64(body.count)
    self.url = url
    self.httpVersion = httpVersion
  }

  public var isSuccess: Bool { (200..<300).contains(status) }
  public var isRedirect: Bool { [301, 302, 303, 307, 308].contains(status) }

  /// The body as text, for error messages; cut to `limit` characters.
  public func bodyText(limit: Int = 512) -> String {
    let text = String(decoding: body.prefix(limit * 4), as: UTF8.self)
    return text.count > limit ? String(text.prefix(limit)) + "…" : text
  }
}
