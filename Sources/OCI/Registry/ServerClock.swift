import Basics
import FoundationEssentials

/// The registry's clock, as its answers' `Date` headers show it ([RFC 9110 §6.6.1](https://www.rfc-editor.org/rfc/rfc9110#section-6.6.1)):
/// how far it is from this machine's. Every run that changes an environment talks to the same
/// registry, so its clock is one they share, where runners' own clocks may disagree (a
/// self-hosted runner without NTP): history's lease times and record times follow it
/// (``RegistryHistoryClock``).
public final class ServerClock: @unchecked Sendable {
  private let lock = Lock()
  private var latest: TimeInterval?
  private var reported = false

  public init() {}

  /// Notes an answer's `Date` header, received at `local` (this machine's time).
  public func observe(_ dateHeader: String?, at local: Date = Date()) {
    guard let text = dateHeader, let date = UTCTime.parseHTTPDate(text.trimmingCharacters(in: .whitespaces)) else { return }
    // The header's second began up to a second before: its middle is the best guess.
    lock.withLock { latest = date.timeIntervalSince(local) + 0.5 }
  }

  /// The registry's time minus this machine's, in seconds, from its latest answer (nil before
  /// one came, or when its answers carry no `Date`). Good to about half a second: the header
  /// has whole seconds. Runs that take it apart order their records within that; their leases
  /// and tag checks, not record order, keep two runs from both moving a tag.
  public var offset: TimeInterval? { lock.withLock { latest } }

  /// True the first time only: a skew is reported once per registry, however many histories
  /// (a release's images) use its clock.
  public func claimReport() -> Bool {
    lock.withLock {
      defer { reported = true }
      return !reported
    }
  }
}
