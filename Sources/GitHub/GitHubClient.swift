import Basics
import FoundationEssentials
import HTTP

/// Settings for talking to the GitHub REST API, with documented defaults.
public struct GitHubConfiguration: Sendable {
  /// `GITHUB_API_URL`: `https://api.github.com`, or `https://HOST/api/v3` on GitHub Enterprise Server.
  public var apiURL: URL
  /// `owner/name`.
  public var repository: String
  public var token: String?
  /// Longest wait for a rate limit to reset before failing. Default 60 s: a release job can
  /// afford a minute; an hour-long primary limit reset is reported instead of waited out.
  public var maxRateLimitWait: Duration = .seconds(60)
  /// Attempts after a rate-limit answer. Default 3.
  public var rateLimitRetries: Int = 3
  /// Longest all rate-limit waits of one client (and its copies) may add up to. Default 5 min:
  /// each wait was capped and each request retried 3 times, but an API that answered every
  /// page "wait a minute" twice held `version` two minutes a page, hours for a tag list.
  public var maxTotalRateLimitWait: Duration = .seconds(300)
  /// The deadline of each API request. Default 60 s.
  public var requestTimeout: Duration = .seconds(60)
  /// Most pages one list reads before failing (an API paging without end). Default 100.
  public var maxPages: Int = 100

  public init(apiURL: URL, repository: String, token: String?) {
    self.apiURL = apiURL
    self.repository = repository
    self.token = token
  }
}

/// A failed GitHub API call, in words a user can act on.
public enum GitHubError: Error, Sendable, Equatable, CustomStringConvertible {
  case unauthorized(String)
  case forbidden(operation: String, message: String)
  case notFound(operation: String, message: String)
  case rateLimited(operation: String, resetIn: Int)
  /// Rate limited again once ``GitHubConfiguration/maxTotalRateLimitWait`` was spent waiting.
  case rateLimitWaitsSpent(operation: String, waited: Int)
  case unprocessable(operation: String, message: String)
  case unexpected(operation: String, status: Int, message: String)
  /// A list longer than ``GitHubConfiguration/maxPages`` pages: read no further, and not
  /// used cut (`what`: how much was read, `hint`: where else to read it).
  case listTooLong(operation: String, pages: Int, what: String, hint: String)
  case unreachable(String)

  public var description: String {
    switch self {
    case .unauthorized(let m): "GitHub API: bad credentials (\(m)): check github-token"
    case .forbidden(let op, let m): "GitHub API: \(op) is forbidden (\(m)): the token needs `permissions: contents: write` for tags and releases"
    case .notFound(let op, let m): "GitHub API: \(op): not found (\(m)); check GITHUB_REPOSITORY and that github-token can read it"
    case .rateLimited(let op, let s): "GitHub API: rate limited during \(op); the limit resets in \(s) s, longer than Gantry waits"
    case .rateLimitWaitsSpent(let op, let s):
      "GitHub API: rate limited again during \(op), after \(s) s of waiting for rate limits in this step, as long as Gantry waits in all: run it later"
    case .unprocessable(let op, let m): "GitHub API: \(op) was refused: \(m)"
    case .unexpected(let op, let status, let m): "GitHub API: \(op) failed with HTTP \(status): \(m)"
    case .listTooLong(let op, let pages, let what, let hint): "GitHub API: \(op): more than \(pages) pages\(what); stopped reading\(hint)"
    case .unreachable(let why): "GitHub API unreachable: \(why)"
    }
  }
}

/// A small client for the [GitHub REST API](https://docs.github.com/en/rest): JSON in and out,
/// `Link` pagination, and rate limits honoured (`Retry-After`, `x-ratelimit-reset`) as
/// [GitHub asks](https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#handle-rate-limit-errors-appropriately).
public struct GitHubClient: Sendable {
  public let configuration: GitHubConfiguration
  let http: HTTPClient
  /// Called before waiting out a rate limit (for the log).
  public var onRateLimit: (@Sendable (Duration, String) -> Void)?
  /// Sleeps; tests may shorten it.
  public var sleep: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
  /// The rate-limit waits so far, shared by the copies of this client.
  private let waited = WaitTally()

  public init(configuration: GitHubConfiguration, transport: any Transport) {
    self.configuration = configuration
    var retry = RetryPolicy(retries: 3)
    // 429 and 403 rate limits are handled here, with GitHub's own headers.
    retry.retryStatuses.remove(429)
    http = HTTPClient(transport: transport, retry: retry)
  }

  /// `/repos/{owner}/{repo}` + `path`.
  public func repoPath(_ path: String) -> String { "repos/\(configuration.repository)\(path)" }

  /// Sends and decodes; a 404 is ``GitHubError/notFound(operation:message:)``.
  public func request<T: Decodable>(
    _ method: String, _ path: String, query: [String: String] = [:], body: (any Encodable)? = nil, operation: String, as: T.Type = T.self
  ) async throws -> T {
    let response = try await send(method, try url(path, query), body: body, operation: operation)
    guard response.status != 404 else { throw GitHubError.notFound(operation: operation, message: Self.message(response.body)) }
    return try Self.decode(T.self, response, operation: operation)
  }

  /// Sends and decodes; nil for a 404 (a tag or release that does not exist).
  public func requestIfPresent<T: Decodable>(_ method: String, _ path: String, query: [String: String] = [:], operation: String, as: T.Type = T.self) async throws -> T? {
    let response = try await send(method, try url(path, query), body: nil, operation: operation)
    return response.status == 404 ? nil : try Self.decode(T.self, response, operation: operation)
  }

  private static func decode<T: Decodable>(_ type: T.Type, _ response: Response, operation: String) throws -> T {
    do { return try JSONDecoder().decode(T.self, from: response.body) } catch {
      throw GitHubError.unexpected(operation: operation, status: response.status, message: "response does not decode: \(error)".clipped(to: 300))
    }
  }

  /// Every page of a list endpoint (`per_page=100`, following `Link: rel="next"`), or its
  /// first `limit` items (a list newest first, whose head is what is asked for).
  /// - Throws: ``GitHubError/listTooLong(operation:pages:what:hint:)`` when the list goes on past
  ///   ``GitHubConfiguration/maxPages`` pages (and `limit` items): a list cut without a word
  ///   read as a whole one (a repository's release tags after its first 10,000 tags were
  ///   none).
  public func all<T: Decodable>(_ path: String, query: [String: String] = [:], operation: String, limit: Int? = nil) async throws -> [T] {
    var items: [T] = []
    var next: URL? = try url(path, query.merging(["per_page": "100"]) { a, _ in a })
    var pages = 0
    while let u = next, items.count < limit ?? .max {
      pages += 1
      guard pages <= configuration.maxPages else {
        throw GitHubError.listTooLong(operation: operation, pages: configuration.maxPages, what: "", hint: "")
      }
      let response = try await send("GET", u, body: nil, operation: operation)
      let page = try Self.decode([T].self, response, operation: operation)
      items += page
      guard !page.isEmpty, let link = LinkHeader.next(response.headers["Link"]) else { break }
      // The token goes only to the API's origin: a next page elsewhere is not followed.
      guard let target = URL(string: link, relativeTo: u)?.absoluteURL, target.origin == configuration.apiURL.origin else {
        throw GitHubError.unexpected(operation: operation, status: response.status, message: "next page \(link.redactedURL) is not on \(configuration.apiURL.redacted); not followed")
      }
      next = target
    }
    return items
  }

  /// - Throws: ``GitHubError/unreachable(_:)`` when the path (a repository or tag name from
  ///   the environment or the API) makes no URL.
  func url(_ path: String, _ query: [String: String]) throws -> URL {
    var base = configuration.apiURL.absoluteString
    if !base.hasSuffix("/") { base += "/" }
    guard var c = URLComponents(string: base + path) else { throw GitHubError.unreachable("'\(base + path)' is not a URL") }
    if !query.isEmpty { c.queryItems = query.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) } }
    guard let url = c.url else { throw GitHubError.unreachable("'\(base + path)' is not a URL") }
    return url
  }

  func send(_ method: String, _ url: URL, body: (any Encodable)?, operation: String) async throws -> Response {
    var headers: Headers = ["Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"]
    if let token = configuration.token, !token.isEmpty { headers.set("Authorization", "Bearer \(token)") }
    var payload = RequestBody.empty
    if let body {
      headers.set("Content-Type", "application/json")
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys]
      payload = .data(try encoder.encode(body))
    }
    var attempt = 0
    while true {
      let response: Response
      do {
        response = try await http.send(Request(method: method, url: url, headers: headers, body: payload, timeout: configuration.requestTimeout))
      } catch let e as HTTPError {
        throw GitHubError.unreachable(e.description)
      }
      if response.isSuccess || response.status == 404 { return response }
      if let wait = Self.rateLimitWait(response), attempt < configuration.rateLimitRetries {
        guard wait <= configuration.maxRateLimitWait else {
          throw GitHubError.rateLimited(operation: operation, resetIn: Self.seconds(wait))
        }
        if let spent = waited.spend(wait, within: configuration.maxTotalRateLimitWait) {
          throw GitHubError.rateLimitWaitsSpent(operation: operation, waited: Self.seconds(spent))
        }
        onRateLimit?(wait, operation)
        try await sleep(wait)
        attempt += 1
        continue
      }
      let message = Self.message(response.body)
      let wait = Self.rateLimitWait(response)
      switch response.status {
      case 401: throw GitHubError.unauthorized(message)
      case 403 where wait != nil, 429:
        throw GitHubError.rateLimited(operation: operation, resetIn: Self.seconds(wait ?? .zero))
      case 403: throw GitHubError.forbidden(operation: operation, message: message)
      case 422: throw GitHubError.unprocessable(operation: operation, message: message)
      default: throw GitHubError.unexpected(operation: operation, status: response.status, message: message)
      }
    }
  }

  /// How long a rate-limited answer asks us to wait, or nil when it is not a rate limit:
  /// `Retry-After` first (secondary limits), else `x-ratelimit-remaining: 0` until `x-ratelimit-reset`.
  static func rateLimitWait(_ response: Response, now: Date = Date()) -> Duration? {
    guard response.status == 403 || response.status == 429 else { return nil }
    if let ra = response.headers["Retry-After"], let d = RetryPolicy.parseRetryAfter(ra, now: now) { return d }
    if response.headers["x-ratelimit-remaining"] == "0", let reset = response.headers["x-ratelimit-reset"].flatMap(Double.init), reset.isFinite {
      // Clamped to a day before converting: the header is the service's text.
      let seconds = min(max(0, reset - now.timeIntervalSince1970), 86_400)
      return .milliseconds(Int64(seconds * 1000) + 1000)
    }
    if response.status == 429 { return .seconds(60) }
    return nil
  }

  /// Whole seconds of `d`, saturating (a hostile `Retry-After` can be near `Int64.max` seconds).
  static func seconds(_ d: Duration) -> Int { Int(d.components.seconds) }

  /// GitHub's `{"message": …, "errors": [...]}`, at most 300 characters: the answer is the
  /// service's text (up to the 16 MiB a response may hold), and it ends in one error line.
  static func message(_ body: Data) -> String { fullMessage(body).clipped(to: 300) }

  private static func fullMessage(_ body: Data) -> String {
    struct E: Decodable {
      struct Item: Decodable { var message: String?; var code: String?; var field: String? }
      var message: String?
      var errors: [Item]?
    }
    guard let e = try? JSONDecoder().decode(E.self, from: body) else { return String(decoding: body.prefix(200), as: UTF8.self) }
    let details = (e.errors ?? []).compactMap { $0.message ?? [$0.field, $0.code].compactMap { $0 }.joined(separator: " ") }
    return ([e.message ?? ""] + details).filter { !$0.isEmpty }.joined(separator: ": ")
  }
}

/// Time spent waiting for rate limits, added up across the copies of one ``GitHubClient``.
private final class WaitTally: @unchecked Sendable {
  private let lock = Lock()
  private var total: Duration = .zero

  /// Adds `wait` when the total stays within `limit` (nil), else the total so far (and adds nothing).
  func spend(_ wait: Duration, within limit: Duration) -> Duration? {
    lock.withLock {
      guard total + wait <= limit else { return total }
      total += wait
      return nil
    }
  }
}
