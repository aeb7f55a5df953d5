import Basics
import FoundationEssentials
import HTTP

/// One probe's outcome.
public struct ProbeResult: Sendable, Equatable, Codable {
  /// The probed URL as it may be printed: without its query (keys and signatures live there).
  public var url: String
  /// HTTP status, or nil when no answer came (refused, timeout, reset).
  public var status: Int?
  public var latencyMs: Double
  /// Nil when healthy, else why not.
  public var failure: String?
  /// No answer came within the probe's timeout.
  public var timedOut = false
  /// Where a redirect that ``Prober/redirects`` does not follow pointed (printable: no query,
  /// cut): that redirect was the answer.
  public var redirectNotFollowed: String?
  public var ok: Bool { failure == nil }
}

/// Sends one request per probe and judges the answer.
public struct Prober: Sendable {
  public var client: HTTPClient
  public var method: String = "GET"
  public var headers: Headers = [:]
  public var body: Data?
  public var expectedStatus: StatusSet
  public var expectation: BodyExpectation
  public var timeout: Duration
  /// Which redirects a probe follows. Default ``RedirectScope/sameHost``: a compromised or
  /// misconfigured service cannot point the runner's probes at another host (an internal
  /// address, a cloud metadata service) and have what it answers judged and quoted.
  public var redirects: RedirectScope = .sameHost

  public init(client: HTTPClient, expectedStatus: StatusSet, expectation: BodyExpectation, timeout: Duration) {
    self.client = client
    self.expectedStatus = expectedStatus
    self.expectation = expectation
    self.timeout = timeout
  }

  public func probe(_ url: URL) async -> ProbeResult {
    await probe(url, printedAs: url.redacted)
  }

  /// ``probe(_:)`` with the URL as it may be printed (`url.redacted`) made once by the caller,
  /// not for every probe.
  public func probe(_ url: URL, printedAs printable: String) async -> ProbeResult {
    let clock = ContinuousClock()
    let start = clock.now
    var request = Request(method: method, url: url, headers: headers, body: body.map { .data($0) } ?? .empty, destination: .buffer(limit: 1 << 20), timeout: timeout)
    // A body nothing is expected of is not kept: a service answering megabytes failed every
    // probe at the 1 MiB buffer, and 256 probes in flight held 256 MiB.
    if method == "HEAD" || expectation.isEmpty { request.destination = .discard }
    request.redirects = redirects
    do {
      let response = try await client.send(request)
      let ms = (clock.now - start).totalMilliseconds
      // The client followed every redirect its scope allows: one still here was not followed.
      let notFollowed = response.isRedirect ? response.headers["Location"].map { shown(Self.shownLocation($0, from: url)) } : nil
      guard expectedStatus.contains(response.status) else {
        let redirect = notFollowed.map { " (a redirect to \($0), not followed: redirects is \(redirects.rawValue))" } ?? ""
        return ProbeResult(
          url: printable, status: response.status, latencyMs: ms, failure: shown("HTTP \(response.status)\(redirect), expected \(expectedStatus)"),
          redirectNotFollowed: notFollowed)
      }
      // The body is matched within what is left of the probe's timeout (100 ms at least: a
      // body that arrived just in time is still read). The latency is the answer's, not the match's.
      let left = max(.milliseconds(100), timeout - (clock.now - start))
      let redirect = notFollowed.map { "a redirect to \($0), not followed (redirects is \(redirects.rawValue)): " } ?? ""
      return ProbeResult(
        url: printable, status: response.status, latencyMs: ms, failure: await expectation.mismatch(response.body, within: left).map { shown(redirect + $0) },
        redirectNotFollowed: notFollowed)
    } catch {
      return ProbeResult(
        url: printable, status: nil, latencyMs: (clock.now - start).totalMilliseconds, failure: shown(Self.reason(error)),
        timedOut: (error as? HTTPError)?.kind == .timeout)
    }
  }

  /// The longest reason, in Unicode scalars. Reasons quote what the service chose (a JSON value,
  /// a redirect's target) and go to the log at every waiting attempt, to the `::error`
  /// annotation and to the summary: a megabyte of it went to each whole.
  static let reasonLimit = 400

  /// A reason as it may be printed: every header value, and every word of one (4 characters
  /// or more), written `***` — a service that echoed `Authorization: Bearer <token>` back had
  /// the token printed, and the runner masks the whole value only — then cut to
  /// ``reasonLimit`` (after: a cut could leave part of a secret whole).
  func shown(_ reason: String) -> String {
    var text = reason
    let secrets = headers.fields.flatMap { [$0.value] + $0.value.split(whereSeparator: \.isWhitespace).map(String.init) }
    for secret in Set(secrets).sorted(by: { $0.count > $1.count }) where secret.count >= 4 && text.contains(secret) {
      text = text.replacingOccurrences(of: secret, with: "***")
    }
    return text.clippedWithSize(to: Self.reasonLimit)
  }

  /// A `Location` as a reason or warning quotes it: resolved against the probed URL, without
  /// its query, at most 200 Unicode scalars.
  static func shownLocation(_ location: String, from url: URL) -> String {
    (URL(string: location, relativeTo: url)?.absoluteURL.redacted ?? location.redactedURL).clipped(to: 200)
  }

  static func reason(_ error: any Error) -> String {
    if case HTTPError.transport(_, let code, let message, _) = error {
      switch code {
      case 7: return "connection refused"
      case 28: return "timed out"
      case 52, 56: return "connection reset or closed without an answer"
      default: return message
      }
    }
    return String(describing: error)
  }
}

extension String {
  /// ``clipped(to:)`` saying, when cut, how long the whole was.
  func clippedWithSize(to limit: Int) -> String {
    unicodeScalars.count > limit ? clipped(to: limit) + " (\(utf8.count) bytes)" : self
  }
}
