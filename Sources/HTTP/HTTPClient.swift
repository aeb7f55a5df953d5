import Basics
import FoundationEssentials

/// Sends requests through a ``Transport``, following redirects itself (so credentials never
/// cross hosts) and retrying what is safe to retry under a ``RetryPolicy``.
public struct HTTPClient: Sendable {
  public var transport: any Transport
  public var retry: RetryPolicy
  /// Redirects followed at most per request. Default 10.
  public var maxRedirects: Int = 10
  /// Waits between attempts; tests replace it to run without sleeping.
  public var sleep: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
  /// Called before each retry with the attempt number, the wait and the reason (for logs).
  public var onRetry: (@Sendable (Int, Duration, String) -> Void)? = nil
  /// Called after each exchange (each redirect hop too) with the request, the status and the
  /// time it took: a request trace for debug logs. Headers are not passed: they carry credentials.
  public var onExchange: (@Sendable (Request, Int, Duration) -> Void)? = nil
  /// The run's owner of per-origin request budgets (`Connections` passes its own): every hop
  /// is admitted by it before it is sent and reported to it after. Nil: no budgets kept.
  public var rateLimits: RateLimits? = nil

  public init(transport: any Transport, retry: RetryPolicy = RetryPolicy()) {
    self.transport = transport
    self.retry = retry
  }

  /// True while an outer loop owns the retries of everything sent in its scope (the copier's
  /// per-blob retry): requests then make one attempt each, so attempts never multiply (3 inner
  /// × 4 outer was 16 attempts per request).
  @TaskLocal public static var retriesOwnedByCaller = false

  /// Performs `request`, following redirects and retrying transient failures (connect,
  /// timeout, reset, 408, 429, 5xx) unless ``retriesOwnedByCaller``.
  public func send(_ request: Request) async throws -> Response {
    var attempt = 0
    let retries = Self.retriesOwnedByCaller ? 0 : retry.retries
    while true {
      do {
        let response = try await followingRedirects(request)
        if retry.retryStatuses.contains(response.status), attempt < retries, request.isReplayable {
          try await wait(attempt: attempt, retryAfter: response.headers["Retry-After"], reason: "HTTP \(response.status) from \(response.url.authority)")
          attempt += 1
          continue
        }
        var answered = response
        answered.attempts = attempt + 1
        return answered
      } catch let error as HTTPError {
        guard error.isRetryable, attempt < retries, request.isReplayable, Self.deliveredNothing(error) else {
          // Say what was tried: "… (4 attempts)".
          if attempt > 0, case .transport(let url, let code, let message, let delivered) = error {
            throw HTTPError.transport(url: url, code: code, message: "\(message) (\(attempt + 1) attempts)", bytesDelivered: delivered)
          }
          throw error
        }
        try await wait(attempt: attempt, retryAfter: nil, reason: error.description)
        attempt += 1
      }
    }
  }

  private static func deliveredNothing(_ error: HTTPError) -> Bool {
    if case .transport(_, _, _, let delivered) = error { return delivered == 0 }
    return true
  }

  private func wait(attempt: Int, retryAfter: String?, reason: String) async throws {
    let delay = retry.delay(afterAttempt: attempt, retryAfter: retryAfter, unit: Double.random(in: 0..<1))
    onRetry?(attempt + 1, delay, reason)
    try await sleep(delay)
  }

  private func followingRedirects(_ original: Request) async throws -> Response {
    var request = original
    // A request's `timeout` is its deadline, redirects included: each hop gets what is left of
    // it, not the whole again (five slow hops answered a 1 s health probe after 2 s, and the
    // probe counted as answered in time). It starts when the first hop is admitted.
    var deadline: ContinuousClock.Instant?
    for _ in 0...maxRedirects {
      let ticket = try await rateLimits?.admit(request)
      let started = ContinuousClock.now
      if let timeout = original.timeout {
        let end = deadline ?? started + timeout
        deadline = end
        guard end > started else {
          throw HTTPError.transport(
            url: request.url.redacted, code: 28, message: "timed out after \(timeout.milliseconds) ms (redirects included)", bytesDelivered: 0)
        }
        request.timeout = end - started
      }
      let response = try await transport.perform(request)
      rateLimits?.observe(response, for: request, ticket: ticket)
      onExchange?(request, response.status, started.duration(to: .now))
      guard response.isRedirect, let location = response.headers["Location"] else { return response }
      // A redirect the request's scope does not follow is its answer (a health probe sent to an
      // internal address by a compromised service's `Location` quoted what it found there).
      if request.redirects != .any {
        guard let target = URL(string: location, relativeTo: request.url)?.absoluteURL, request.redirects.follows(from: original.url, to: target) else {
          return response
        }
      }
      request = try Self.redirected(request, to: location, status: response.status, origin: original.url.origin)
    }
    throw HTTPError.tooManyRedirects(url: original.url.redacted, limit: maxRedirects)
  }

  /// Headers that may follow a redirect to another origin: they describe the request, not who
  /// sends it. Everything else — `Authorization`, cookies, a health check's `X-Api-Key` — is
  /// bound to the origin it was written for.
  static let portableHeaders: Set<String> = ["accept", "accept-encoding", "accept-language", "content-type", "content-length", "range", "if-none-match", "if-match"]

  /// A `Location` as an error quotes it: the server's text, up to the ~100 KiB libcurl takes
  /// for a header line, and the reason comes after it; 200 Unicode scalars are enough to say where.
  static func shown(_ location: String) -> String { location.clipped(to: 200) }

  /// The request to send after a redirect. Another origin (scheme, host or port) gets none of
  /// the request's own headers but ``portableHeaders`` (curl's `--location` without
  /// `--location-trusted` drops only `Authorization`); an https → http downgrade is refused
  /// outright, as is re-sending a body to another origin (a 307 from a token service must not
  /// carry a refresh token elsewhere); a 303 becomes a GET.
  static func redirected(_ request: Request, to location: String, status: Int, origin: Origin?) throws -> Request {
    let from = request.url.redacted
    guard let target = URL(string: location, relativeTo: request.url)?.absoluteURL else {
      throw HTTPError.redirectRefused(url: from, location: shown(location.redactedURL), reason: "not a URL")
    }
    guard let targetOrigin = target.origin else {
      throw HTTPError.redirectRefused(url: from, location: shown(target.redacted), reason: "only http and https are followed")
    }
    if request.url.origin?.isSecure == true, !targetOrigin.isSecure {
      throw HTTPError.redirectRefused(url: from, location: shown(target.redacted), reason: "a redirect from https to plain http is not followed")
    }
    var next = request
    next.url = target
    let crossOrigin = targetOrigin != origin
    if crossOrigin {
      next.headers = Headers(request.headers.fields.filter { portableHeaders.contains($0.name.lowercased()) }.map { ($0.name, $0.value) })
    }
    if status == 303 || ((status == 301 || status == 302) && request.method == "POST") {
      next.method = "GET"
      next.body = .empty
      next.headers.remove("Content-Type")
      next.headers.remove("Content-Length")
    } else if request.body.length != 0 {
      if crossOrigin {
        throw HTTPError.redirectRefused(url: from, location: shown(target.redacted), reason: "a request body is not sent to another origin")
      }
      if !request.isReplayable {
        throw HTTPError.bodyNotReplayable(url: from, reason: "HTTP \(status) redirects it to \(target.redacted)")
      }
    }
    return next
  }
}
