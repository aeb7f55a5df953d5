import Basics
import FoundationEssentials

/// When and how long to wait before another attempt: exponential backoff with full jitter
/// (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/), honouring
/// `Retry-After` ([RFC 9110 §10.2.3](https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3)).
public struct RetryPolicy: Sendable {
  /// Attempts after the first. Default 3.
  public var retries: Int = 3
  /// First backoff ceiling; doubles each attempt. Default 250 ms.
  public var baseDelay: Duration = .milliseconds(250)
  /// Longest wait between attempts, `Retry-After` included. Default 30 s.
  public var maxDelay: Duration = .seconds(30)
  /// Status codes retried. Default 408, 429, 500, 502, 503, 504.
  public var retryStatuses: Set<Int> = [408, 429, 500, 502, 503, 504]

  public init(retries: Int = 3, baseDelay: Duration = .milliseconds(250), maxDelay: Duration = .seconds(30)) {
    self.retries = retries
    self.baseDelay = baseDelay
    self.maxDelay = maxDelay
  }

  public static let none = RetryPolicy(retries: 0)

  /// The wait before attempt `attempt + 1` (attempt counts from 0).
  /// - Parameters:
  ///   - retryAfter: the server's `Retry-After` value, if it sent one.
  ///   - unit: a random number in [0, 1) for the jitter.
  public func delay(afterAttempt attempt: Int, retryAfter: String?, now: Date = Date(), unit: Double) -> Duration {
    if let retryAfter, let wait = Self.parseRetryAfter(retryAfter, now: now) {
      return min(wait, maxDelay)
    }
    let ceiling = baseDelay * (1 << min(attempt, 20))
    let capped = min(ceiling, maxDelay)
    return capped * unit
  }

  /// `Retry-After` is either delay-seconds or an HTTP-date.
  public static func parseRetryAfter(_ value: String, now: Date) -> Duration? {
    let v = value.trimmingCharacters(in: .whitespaces)
    if let seconds = Int(v), seconds >= 0 { return .seconds(seconds) }
    guard let date = UTCTime.parseHTTPDate(v) else { return nil }
    // Clamped to a year before converting: a far-future date must not overflow.
    return .milliseconds(Int64(min(max(0, date.timeIntervalSince(now)), 31_536_000) * 1000))
  }
}
