import Basics
import FoundationEssentials

/// How ``RateLimits`` paces and waits. The defaults are what Gantry ships.
public struct RateLimitPolicy: Sendable {
  /// The longest one wait for an origin may be: a `Retry-After` is capped to it (as
  /// ``RetryPolicy/maxDelay`` caps it), and an exhausted budget that refills later than this
  /// fails at once instead of waiting. Default 30 s.
  public var maxWait: Duration = .seconds(30)
  /// Pacing starts when the remaining budget falls under this share of the limit. Default 0.2.
  public var paceBelow: Double = 0.2
  /// The longest interval pacing puts between two counted requests to one origin. Default 5 s.
  public var maxInterval: Duration = .seconds(5)
  /// How long a 429 without `Retry-After` (nor `RateLimit-Reset`) holds the origin. Default 1 s.
  public var defaultHold: Duration = .seconds(1)
  /// An origin that has answered nothing but 429 (or 503) for this long fails every further
  /// request at once (``RateLimitExhausted``): each request would otherwise wait out its own
  /// retries (4 attempts, ``maxWait`` each), and a release of 1,000 images asked a registry
  /// that refuses everything for hours. Longer than one request's retries (3 × 30 s), so no
  /// request that its own retries would have carried through a short throttle fails sooner.
  /// Default 2 min.
  public var giveUpAfter: Duration = .seconds(120)

  public init() {}
}

/// A counted request was refused before it was sent: the origin's budget is spent and refills
/// later than ``RateLimitPolicy/maxWait``, or (``refusing``) the origin has answered nothing but
/// 429/503 for ``RateLimitPolicy/giveUpAfter``.
public struct RateLimitExhausted: Error, Sendable, Equatable, CustomStringConvertible {
  /// `host[:port]` of the origin.
  public var registry: String
  public var limit: Int?
  /// Window length in seconds, if the server stated it.
  public var window: Int?
  /// Seconds until the budget refills, if the server stated it.
  public var resetsIn: Int?
  /// Set when the origin has refused every request for a while: how long, and how many
  /// answers said so.
  public var refusing: (duration: Duration, answers: Int)?

  public init(registry: String, limit: Int? = nil, window: Int? = nil, resetsIn: Int? = nil, refusing: (duration: Duration, answers: Int)? = nil) {
    self.registry = registry
    self.limit = limit
    self.window = window
    self.resetsIn = resetsIn
    self.refusing = refusing
  }

  public static func == (a: Self, b: Self) -> Bool {
    a.registry == b.registry && a.limit == b.limit && a.window == b.window && a.resetsIn == b.resetsIn && a.refusing?.duration == b.refusing?.duration
      && a.refusing?.answers == b.refusing?.answers
  }

  public var description: String {
    if let refusing {
      let seconds = Int(refusing.duration.totalMilliseconds / 1000)
      return
        "\(registry) has answered every request with HTTP 429 or 503 for \(RateLimitStatus.span(seconds)) (\(refusing.answers) answers, none accepted). Not waiting longer: retry later, or authenticate for a higher limit"
    }
    let budget = limit.map { "0 of \($0) requests left" } ?? "no requests left"
    let inWindow = window.map { " in the \(RateLimitStatus.span($0)) window" } ?? ""
    let when =
      resetsIn.map { "it refills in \(RateLimitStatus.span($0))" }
      ?? window.map { "it refills within \(RateLimitStatus.span($0)) (the server sends no reset time)" } ?? "the server sends no reset time"
    return "\(registry) rate limit exhausted: \(budget)\(inWindow); \(when). Not waiting that long: retry later, or authenticate for a higher limit"
  }
}

/// What one origin's budget looked like at the end of a run, for summaries.
public struct RateLimitStatus: Sendable, Equatable, CustomStringConvertible {
  /// `host[:port]`.
  public var registry: String
  public var limit: Int?
  public var remaining: Int?
  /// Window length in seconds.
  public var window: Int?
  /// Time requests to the origin spent waiting (`Retry-After`, pacing, refills), concurrent
  /// waits counted once.
  public var waited: Duration
  /// 429 answers received.
  public var throttled: Int

  /// "docker.io: 76 of 100 requests left in the 6 h window; waited 2.0 s for rate limits".
  public var description: String {
    var parts: [String] = []
    switch (remaining, limit) {
    case (let r?, let l?): parts.append("\(r) of \(l) requests left" + (window.map { " in the \(Self.span($0)) window" } ?? ""))
    case (let r?, nil): parts.append("\(r) requests left")
    case (nil, let l?): parts.append("limit \(l) requests" + (window.map { " per \(Self.span($0))" } ?? ""))
    case (nil, nil): break
    }
    if throttled > 0 { parts.append("\(throttled) × HTTP 429") }
    if waited > .zero { parts.append("waited \(Format.fixed(waited.totalMilliseconds / 1000, digits: 1)) s for rate limits") }
    return "\(registry): " + parts.joined(separator: "; ")
  }

  /// `21600` → "6 h", `900` → "15 min", `45` → "45 s".
  public static func span(_ seconds: Int) -> String {
    if seconds >= 3600, seconds % 3600 == 0 { return "\(seconds / 3600) h" }
    if seconds >= 60, seconds % 60 == 0 { return "\(seconds / 60) min" }
    return "\(seconds) s"
  }
}

/// The one owner of the request budgets of every origin a run talks to (held by the stage's
/// `Connections`, shared by every ``HTTPClient`` built there, so every image of a release and
/// both sides of a promote share it).
///
/// ``HTTPClient`` calls ``admit(_:)`` before each exchange and ``observe(_:for:)`` after it:
/// - **Retry-After across the origin.** A 429 or 503 with `Retry-After` (seconds or an
///   HTTP-date, capped at ``RateLimitPolicy/maxWait``) holds every request to that origin until
///   then, not only the one that was refused: requests in flight elsewhere do not each earn a 429.
///   A 429 without it holds the origin for `RateLimit-Reset` or ``RateLimitPolicy/defaultHold``.
/// - **Pacing.** When a server states a limit, a window and a remaining count under
///   ``RateLimitPolicy/paceBelow`` of the limit, counted requests to it are spaced by
///   `window / remaining`, capped at ``RateLimitPolicy/maxInterval`` (100 per 60 s with 10 left:
///   one every 5 s at most, 6 s uncapped).
/// - **Fail fast.** With 0 remaining, a counted request waits for a stated reset, or without
///   one for a whole window, up to ``RateLimitPolicy/maxWait``; a later one (Docker Hub states
///   only `w=21600`) throws ``RateLimitExhausted`` rather than waiting hours. All waits are
///   cancellable: the stage's `timeout` bounds them.
///
/// A request counts when ``Request/countsTowardRateLimit`` says so (by default every method but
/// HEAD). Docker Hub counts only manifest GETs; the registry client marks blob GETs as not
/// counted. Budgets are the server's numbers: nothing is decremented locally.
public final class RateLimits: @unchecked Sendable {
  public let policy: RateLimitPolicy
  private let lock = Lock()
  private var origins: [Origin: State] = [:]
  private let now: @Sendable () -> ContinuousClock.Instant
  private let wallClock: @Sendable () -> Date
  private let sleep: @Sendable (Duration) async throws -> Void

  struct State {
    var limit: Int?
    var remaining: Int?
    var window: Int?
    var resetAt: ContinuousClock.Instant?
    var resetIn: Int?
    var heldUntil: ContinuousClock.Instant?
    /// When the last counted request went (or its reserved slot).
    var lastSent: ContinuousClock.Instant?
    /// Wall time during which some request to the origin waited: concurrent waits count once.
    var waited: Duration = .zero
    var waitedUntil: ContinuousClock.Instant?
    var throttled = 0
    /// The first 429/503 of the refusals going on, none accepted since; and how many.
    var refusingSince: ContinuousClock.Instant?
    var refusals = 0
    /// The last ticket (``RateLimits/admit(_:)``) given out when the budget was last taken
    /// from an answer: a request with a ticket up to it was sent before that answer was in,
    /// so the registry may have answered it before counting the request that answer was for.
    var statedBy: UInt64 = 0

    mutating func addWait(from start: ContinuousClock.Instant, to end: ContinuousClock.Instant) {
      let from = max(start, waitedUntil ?? start)
      if end > from { waited += end - from }
      waitedUntil = max(end, waitedUntil ?? end)
    }
  }

  /// - Parameters:
  ///   - now, wallClock, sleep: time sources; tests pass virtual ones.
  public init(
    policy: RateLimitPolicy = RateLimitPolicy(), now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }, wallClock: @escaping @Sendable () -> Date = { Date() },
    sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
  ) {
    self.policy = policy
    self.now = now
    self.wallClock = wallClock
    self.sleep = sleep
  }

  enum Decision: Equatable {
    case go
    /// Wait, then decide again.
    case wait(Duration, Reason)
    /// Wait for the slot reserved, then go.
    case waitThenGo(Duration)
    case fail(RateLimitExhausted)
  }

  /// Why a request waits, for the log.
  public enum Reason: String, Sendable {
    case retryAfter = "Retry-After"
    case pacing = "budget low: pacing"
    case refill = "budget spent: waiting for the refill"
  }

  private var waitObserver: (@Sendable (String, Duration, Reason) -> Void)?

  /// Called when a request starts a wait of a second or more (registry name, wait, reason):
  /// a slow run says why. Setting it again replaces it.
  public func onWait(_ observer: @escaping @Sendable (String, Duration, Reason) -> Void) {
    lock.withLock { waitObserver = observer }
  }

  /// True while a stage puts back what a failure left (a release's moved tags, the history
  /// record closing a change): past the point of no return, those requests are not given up
  /// on for an origin that refuses everything (``RateLimitPolicy/giveUpAfter``); they still
  /// wait out holds, and their own retries bound them.
  @TaskLocal public static var unwinding = false

  /// Returns when `request` may be sent to its origin, with its ticket for
  /// ``observe(_:for:ticket:)`` (tickets rise in the order requests go); throws
  /// ``RateLimitExhausted`` when its budget is spent for longer than the policy waits, or
  /// `CancellationError` when cancelled.
  @discardableResult
  public func admit(_ request: Request) async throws -> UInt64 {
    guard let origin = request.url.origin else { return issue() }
    let unwinding = Self.unwinding
    while true {
      let decision = lock.withLock { decide(origin, counted: request.countsTowardRateLimit, unwinding: unwinding) }
      switch decision {
      case .go: return issue()
      case .fail(let exhausted): throw exhausted
      case .wait(let d, _), .waitThenGo(let d):
        let start = now()
        let observer = lock.withLock {
          origins[origin, default: State()].addWait(from: start, to: start + d)
          return waitObserver
        }
        if d >= .seconds(1) {
          let reason: Reason = if case .wait(_, let r) = decision { r } else { .pacing }
          observer?(Self.name(origin), d, reason)
        }
        try await sleep(d)
        if case .waitThenGo = decision { return issue() }
      }
    }
  }

  private var issued: UInt64 = 0

  private func issue() -> UInt64 {
    lock.withLock {
      issued &+= 1
      return issued
    }
  }

  /// Learns from an answer: its budget headers, and a 429/503's `Retry-After`.
  /// `ticket`: what ``admit(_:)`` gave `request`. A request sent before the answer that last
  /// stated the budget was in may have reached the registry before the request that answer
  /// was for (another connection), so a budget it states higher is stale (the registry's
  /// count before that request), not a refill, and is not taken: an uncounted request sent
  /// beside a manifest GET, answered after it, undid "0 left", and the next GET went to a
  /// registry that had said no more. A fall is always taken; a rise from a request sent after
  /// the answer was in is a refill.
  public func observe(_ response: Response, for request: Request, ticket: UInt64? = nil) {
    guard let origin = request.url.origin else { return }
    let stated = RateLimitHeaders.parse(response.headers)
    let throttled = response.status == 429 || response.status == 503
    guard stated != nil || throttled else {
      // An answer: the origin is not refusing everything (any longer).
      lock.withLock {
        if origins[origin]?.refusingSince != nil {
          origins[origin]?.refusingSince = nil
          origins[origin]?.refusals = 0
        }
      }
      return
    }
    let t = now()
    var hold: Duration?
    if throttled {
      if let value = response.headers["Retry-After"], value.utf8.count <= RateLimitHeaders.maxFieldLength {
        hold = RetryPolicy.parseRetryAfter(value, now: wallClock())
      }
      if hold == nil, response.status == 429 { hold = stated?.reset.map { .seconds($0) } ?? policy.defaultHold }
    }
    lock.withLock {
      var s = origins[origin, default: State()]
      let older = ticket.map { $0 <= s.statedBy } ?? false
      let rises = stated.flatMap { new in s.remaining.flatMap { old in new.remaining.map { $0 > old } } } ?? false
      if let stated, !(older && rises) {
        s.statedBy = issued
        if let l = stated.limit { s.limit = l }
        if let w = stated.window { s.window = w }
        s.remaining = stated.remaining
        s.resetIn = stated.reset
        s.resetAt = stated.reset.map { t + .seconds($0) }
      }
      if response.status == 429 { s.throttled += 1 }
      if throttled {
        if s.refusingSince == nil { s.refusingSince = t }
        s.refusals += 1
      } else {
        s.refusingSince = nil
        s.refusals = 0
      }
      if let hold {
        let until = t + min(hold, policy.maxWait)
        s.heldUntil = max(s.heldUntil ?? until, until)
        // The refused request waits it out under its own retry policy (`HTTPClient`, or the
        // registry's first probe), others here in `admit`: the hold is the time waited.
        s.addWait(from: t, to: until)
      }
      origins[origin] = s
    }
  }

  /// Every origin that stated a budget, throttled or made a request wait, by name.
  public func snapshot() -> [RateLimitStatus] {
    lock.withLock {
      origins.compactMap { origin, s in
        guard s.limit != nil || s.remaining != nil || s.throttled > 0 || s.waited > .zero else { return nil }
        return RateLimitStatus(registry: Self.name(origin), limit: s.limit, remaining: s.remaining, window: s.window, waited: s.waited, throttled: s.throttled)
      }.sorted { $0.registry < $1.registry }
    }
  }

  /// Under the lock.
  func decide(_ origin: Origin, counted: Bool, unwinding: Bool = false) -> Decision {
    var s = origins[origin, default: State()]
    let t = now()
    defer { origins[origin] = s }
    // Refusing everything for long: every request fails now, held or not, counted or not.
    if !unwinding, let since = s.refusingSince, s.refusals > 1, t - since >= policy.giveUpAfter {
      return .fail(RateLimitExhausted(registry: Self.name(origin), limit: s.limit, window: s.window, resetsIn: s.resetIn, refusing: (t - since, s.refusals)))
    }
    if let until = s.heldUntil {
      if until > t { return .wait(until - t, .retryAfter) }
      s.heldUntil = nil
    }
    guard counted else { return .go }
    if let resetAt = s.resetAt, resetAt <= t {
      // The stated reset passed: the old numbers say nothing about the new window.
      s.remaining = nil
      s.resetAt = nil
      s.resetIn = nil
    }
    if s.remaining == 0 {
      if let resetAt = s.resetAt {
        let left = resetAt - t
        if left <= policy.maxWait { return .wait(left, .refill) }
      } else if let window = s.window {
        // No reset stated: it refills within one window. A short one is waited out.
        if .seconds(window) <= policy.maxWait {
          s.resetAt = t + .seconds(window)
          return .wait(.seconds(window), .refill)
        }
      } else {
        return .go  // Nothing says when it refills: the server's answer will.
      }
      return .fail(RateLimitExhausted(registry: Self.name(origin), limit: s.limit, window: s.window, resetsIn: s.resetIn))
    }
    guard let interval = Self.interval(limit: s.limit, remaining: s.remaining, window: s.window, policy: policy) else {
      s.lastSent = t
      return .go
    }
    // The slot is reserved now, so concurrent requests queue one interval apart.
    let slot = max(t, (s.lastSent ?? t - interval) + interval)
    s.lastSent = slot
    return slot > t ? .waitThenGo(slot - t) : .go
  }

  /// How an origin is named to users: `host`, with `:port` when not the scheme's default.
  static func name(_ origin: Origin) -> String {
    origin.port == (origin.isSecure ? 443 : 80) ? origin.host : "\(origin.host):\(origin.port)"
  }

  /// The pacing rule: `window / remaining`, capped, when remaining is under the policy's share
  /// of the limit; nil when not pacing.
  static func interval(limit: Int?, remaining: Int?, window: Int?, policy: RateLimitPolicy) -> Duration? {
    guard let limit, let remaining, let window, limit > 0, remaining > 0, Double(remaining) < Double(limit) * policy.paceBelow else { return nil }
    return min(.milliseconds(Int64(window) * 1000 / Int64(remaining)), policy.maxInterval)
  }
}
