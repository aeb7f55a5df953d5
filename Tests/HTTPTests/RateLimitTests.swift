import Basics
import Foundation
import Testing

@testable import HTTP

@Suite struct RateLimitHeaderTests {
  @Test func dockerHubsForm() {
    let r = RateLimitHeaders.parse(["RateLimit-Limit": "100;w=21600", "RateLimit-Remaining": "76;w=21600", "Docker-RateLimit-Source": "203.0.113.7"])
    #expect(r == RateLimitHeaders(limit: 100, remaining: 76, window: 21600))
  }

  @Test func ietfDraftForms() {
    #expect(RateLimitHeaders.parse(["RateLimit": "limit=100, remaining=50, reset=5"]) == RateLimitHeaders(limit: 100, remaining: 50, reset: 5))
    #expect(
      RateLimitHeaders.parse(["ratelimit-limit": "10", "ratelimit-remaining": "3", "ratelimit-reset": "7", "RateLimit-Policy": "10;w=60, 100;w=3600"])
        == RateLimitHeaders(limit: 10, remaining: 3, window: 60, reset: 7))
    #expect(
      RateLimitHeaders.parse(["RateLimit": "\"default\";r=50;t=30", "RateLimit-Policy": "\"default\";q=100;w=60"]) == RateLimitHeaders(limit: 100, remaining: 50, window: 60, reset: 30))
    // A list: the first member counts.
    #expect(RateLimitHeaders.parse(["RateLimit-Limit": "10, 10;w=1, 50;w=60"])?.limit == 10)
  }

  @Test func nothingStatedIsNil() {
    #expect(RateLimitHeaders.parse([:]) == nil)
    #expect(RateLimitHeaders.parse(["Retry-After": "5", "RateLimit-Reset": "5"]) == nil)
  }

  @Test(arguments: [
    "99999999999999999999999999", "1000000001", "-1", "+5", "0x10", "1e3", "", " ", "5 5", "١٢", "¹²", "12a", String(repeating: "1", count: 600), "NaN", "9223372036854775808",
  ])
  func hostileNumbersAreIgnored(_ value: String) {
    #expect(RateLimitHeaders.parse(["RateLimit-Limit": value, "RateLimit-Remaining": value]) == nil)
    #expect(RateLimitHeaders.parse(["RateLimit": "limit=\(value), remaining=\(value)"]) == nil)
  }

  @Test func hostileWindowsAndResetsAreIgnored() {
    let r = RateLimitHeaders.parse(["RateLimit-Limit": "100;w=99999999999", "RateLimit-Remaining": "5;w=-1", "RateLimit-Reset": "31536001"])
    #expect(r == RateLimitHeaders(limit: 100, remaining: 5))
    #expect(RateLimitHeaders.parse(["RateLimit-Limit": "100;w=0", "RateLimit-Remaining": "5"]) == RateLimitHeaders(limit: 100, remaining: 5))
    // Oversized fields are dropped whole, however believable their start.
    #expect(RateLimitHeaders.parse(["RateLimit-Limit": "100;w=60;" + String(repeating: "x", count: 600), "RateLimit-Remaining": "5"]) == RateLimitHeaders(remaining: 5))
  }

  @Test func remainingAboveTheLimitIsNotBelieved() {
    #expect(RateLimitHeaders.parse(["RateLimit-Limit": "10;w=60", "RateLimit-Remaining": "11;w=60"]) == RateLimitHeaders(limit: 10, window: 60))
  }
}

/// Time that passes only when something sleeps in it.
final class VirtualClock: @unchecked Sendable {
  private let lock = Lock()
  private let base = ContinuousClock.now
  private var elapsed: Duration = .zero
  private(set) var sleeps: [Duration] = []
  func now() -> ContinuousClock.Instant { lock.withLock { base + elapsed } }
  func sleep(_ d: Duration) {
    lock.withLock {
      sleeps.append(d)
      elapsed += d
    }
  }
  func advance(_ d: Duration) { lock.withLock { elapsed += d } }
  var slept: [Duration] { lock.withLock { sleeps } }
}

final class Waits: @unchecked Sendable {
  private let lock = Lock()
  private var lines: [String] = []
  func add(_ line: String) { lock.withLock { lines.append(line) } }
  var all: [String] { lock.withLock { lines } }
}

@Suite struct RateLimitsTests {
  let clock = VirtualClock()
  let wall = Date(timeIntervalSince1970: 1_700_000_000)

  func limits(_ policy: RateLimitPolicy = RateLimitPolicy()) -> RateLimits {
    let clock = clock
    let wall = wall
    return RateLimits(policy: policy, now: { clock.now() }, wallClock: { wall }, sleep: { clock.sleep($0) })
  }

  func request(_ method: String = "GET", _ url: String = "https://registry.example/v2/app/manifests/1.0") -> Request {
    Request(method: method, url: URL(string: url)!)
  }

  func answer(_ status: Int, _ headers: Headers, _ url: String = "https://registry.example/v2/app/manifests/1.0") -> Response {
    Response(status: status, headers: headers, url: URL(string: url)!)
  }

  /// A HEAD sent beside a manifest GET can be counted before it and answered after it: its
  /// "1 left" is stale once the GET's "0 left" is in, and the next GET must not go (it did:
  /// a 429 from a registry that had said no more, seen once in RateLimitStageTests).
  @Test func aStaleBudgetAnsweredLateDoesNotUndoALaterOne() async throws {
    let l = limits()
    let budget = { (n: Int) -> Headers in ["RateLimit-Limit": "100;w=21600", "RateLimit-Remaining": "\(n);w=21600"] }
    let head = try await l.admit(request("HEAD"))
    let get = try await l.admit(request())
    #expect(get > head)
    l.observe(answer(200, budget(0)), for: request(), ticket: get)
    l.observe(answer(200, budget(1)), for: request("HEAD"), ticket: head)
    await #expect(throws: RateLimitExhausted.self) { try await l.admit(request()) }
    // An older answer stating less is taken (the registry may have counted it later), and a
    // later request's answer is taken whatever it says (a refill).
    let m = limits()
    let (first, second) = (try await m.admit(request("HEAD")), try await m.admit(request()))
    m.observe(answer(200, budget(5)), for: request(), ticket: second)
    m.observe(answer(200, budget(0)), for: request("HEAD"), ticket: first)
    await #expect(throws: RateLimitExhausted.self) { try await m.admit(request()) }
    let third = try await m.admit(request("HEAD"))
    m.observe(answer(200, budget(50)), for: request("HEAD"), ticket: third)
    try await m.admit(request())
    // A request sent after the GET but before its answer came can still reach the registry
    // first (another connection): its "1 left" is no later than the GET's "0 left". Only a
    // request sent after that answer was in may raise it (before, a ticket after the GET's
    // was enough, and the next GET went out: RateLimitStageTests, seen twice under load).
    let n = limits()
    let counted = try await n.admit(request())
    let beside = try await n.admit(request("GET", "https://registry.example/v2/app/tags/list"))
    #expect(beside > counted)
    n.observe(answer(200, budget(0)), for: request(), ticket: counted)
    n.observe(answer(200, budget(1)), for: request("GET", "https://registry.example/v2/app/tags/list"), ticket: beside)
    await #expect(throws: RateLimitExhausted.self) { try await n.admit(request()) }
  }

  @Test func retryAfterHoldsEveryRequestToTheOriginOnly() async throws {
    let l = limits()
    let waits = Waits()
    l.onWait { waits.add("\($0) \($1) \($2.rawValue)") }
    l.observe(answer(429, ["Retry-After": "3"]), for: request())
    try await l.admit(request("HEAD", "https://registry.example/v2/app/blobs/sha256:1"))
    #expect(clock.slept == [.seconds(3)])
    #expect(waits.all == ["registry.example 3.0 seconds Retry-After"])
    try await l.admit(request())
    try await l.admit(request("GET", "https://other.example/v2/app/manifests/1.0"))
    try await l.admit(request("GET", "http://registry.example/v2/app/manifests/1.0"))
    #expect(clock.slept == [.seconds(3)], "the hold ended, and other origins were never held")
    #expect(l.snapshot() == [RateLimitStatus(registry: "registry.example", waited: .seconds(3), throttled: 1)])
  }

  @Test func retryAfterIsCappedAndTakesDates() async throws {
    let l = limits()
    l.observe(answer(503, ["Retry-After": "3600"]), for: request())
    try await l.admit(request())
    l.observe(answer(429, ["Retry-After": "Tue, 14 Nov 2023 22:13:25 GMT"]), for: request())  // wall + 5 s
    try await l.admit(request())
    l.observe(answer(429, ["Retry-After": "-5"]), for: request())  // not a value: the default hold
    try await l.admit(request())
    l.observe(answer(503, [:]), for: request())  // a 503 without Retry-After holds nothing
    try await l.admit(request())
    #expect(clock.slept == [.seconds(30), .seconds(5), .seconds(1)])
  }

  /// An origin that refuses everything for `giveUpAfter` fails every request at once (a held
  /// one when its wait ends), counted or not; one accepted answer ends the refusals.
  @Test func anOriginRefusingEverythingForLongFailsAtOnce() async throws {
    let l = limits()
    l.observe(answer(429, ["Retry-After": "30"]), for: request())
    clock.advance(.seconds(60))
    l.observe(answer(503, ["Retry-After": "30"]), for: request())
    try await l.admit(request())  // 90 s of refusals: the hold is waited out
    l.observe(answer(200, [:], "https://registry.example/v2/app/blobs/sha256:1"), for: request())
    clock.advance(.seconds(100))
    l.observe(answer(429, ["Retry-After": "1000000000000"]), for: request())
    try await l.admit(request())  // 30 s since the 200's next refusal
    clock.advance(.seconds(80))
    l.observe(answer(429, ["Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"]), for: request())
    let error = await #expect(throws: RateLimitExhausted.self) { try await l.admit(request("HEAD", "https://registry.example/v2/app/blobs/sha256:1")) }
    #expect(
      error?.description
        == "registry.example has answered every request with HTTP 429 or 503 for 140 s (2 answers, none accepted). Not waiting longer: retry later, or authenticate for a higher limit"
    )
    #expect(clock.slept == [.seconds(30), .seconds(30), .seconds(30)], "every wait capped")
    // Putting back what a failure left is not given up on: it waits out the hold.
    l.observe(answer(429, ["Retry-After": "5"]), for: request())
    try await RateLimits.$unwinding.withValue(true) { try await l.admit(request("PUT")) }
    #expect(clock.slept.last == .seconds(5))
    await #expect(throws: RateLimitExhausted.self) { try await l.admit(request("PUT")) }
    #expect(clock.slept.count == 4)
    try await l.admit(request("GET", "https://other.example/v2/app/manifests/1.0"))
    l.observe(answer(404, [:]), for: request())
    try await l.admit(request())
    #expect(clock.slept.count == 4)
  }

  @Test func pacesCountedRequestsWhenTheBudgetRunsLow() async throws {
    let l = limits()
    // 100 per 60 s with 50 left: no pacing.
    l.observe(answer(200, ["RateLimit-Limit": "100;w=60", "RateLimit-Remaining": "50;w=60"]), for: request())
    for _ in 0..<3 { try await l.admit(request()) }
    #expect(clock.slept.isEmpty)
    // 15 left (under 20 %): 60 s / 15 = 4 s apart, from the last counted request; HEADs are
    // not counted.
    l.observe(answer(200, ["RateLimit-Limit": "100;w=60", "RateLimit-Remaining": "15;w=60"]), for: request())
    for _ in 0..<3 { try await l.admit(request()) }
    try await l.admit(request("HEAD"))
    #expect(clock.slept == [.seconds(4), .seconds(4), .seconds(4)])
    // 2 left: 30 s apart, capped at 5 s; the first after a quiet 10 s goes at once.
    l.observe(answer(200, ["RateLimit-Limit": "100;w=60", "RateLimit-Remaining": "2;w=60"]), for: request())
    clock.advance(.seconds(10))
    try await l.admit(request())
    try await l.admit(request())
    #expect(clock.slept == [.seconds(4), .seconds(4), .seconds(4), .seconds(5)])
  }

  @Test func pacingRule() {
    let p = RateLimitPolicy()
    #expect(RateLimits.interval(limit: 100, remaining: 20, window: 60, policy: p) == nil)
    #expect(RateLimits.interval(limit: 100, remaining: 19, window: 60, policy: p) == .milliseconds(3157))
    #expect(RateLimits.interval(limit: 100, remaining: 0, window: 60, policy: p) == nil)
    #expect(RateLimits.interval(limit: 100, remaining: 5, window: nil, policy: p) == nil)
    #expect(RateLimits.interval(limit: 100, remaining: 1, window: 21600, policy: p) == .seconds(5))
  }

  @Test func anExhaustedBudgetWithALongWindowFailsFast() async throws {
    let l = limits()
    l.observe(answer(200, ["RateLimit-Limit": "100;w=21600", "RateLimit-Remaining": "0;w=21600"]), for: request())
    let error = await #expect(throws: RateLimitExhausted.self) { try await l.admit(request()) }
    #expect(
      error?.description
        == "registry.example rate limit exhausted: 0 of 100 requests left in the 6 h window; it refills within 6 h (the server sends no reset time). Not waiting that long: retry later, or authenticate for a higher limit"
    )
    // HEADs and blob GETs (not counted) still go; so do other origins.
    try await l.admit(request("HEAD"))
    var blob = request("GET", "https://registry.example/v2/app/blobs/sha256:1")
    blob.countsTowardRateLimit = false
    try await l.admit(blob)
    try await l.admit(request("GET", "https://other.example/v2/app/manifests/1.0"))
    #expect(clock.slept.isEmpty)
    #expect(l.snapshot().first?.description == "registry.example: 0 of 100 requests left in the 6 h window")
  }

  @Test func anExhaustedBudgetWaitsForAResetWithinTheCap() async throws {
    let l = limits()
    l.observe(answer(200, ["RateLimit": "limit=10, remaining=0, reset=12"]), for: request())
    try await l.admit(request())
    try await l.admit(request())
    #expect(clock.slept == [.seconds(12)], "after the reset the old numbers no longer hold anything")
    l.observe(answer(200, ["RateLimit": "limit=10, remaining=0, reset=7200"]), for: request())
    let error = await #expect(throws: RateLimitExhausted.self) { try await l.admit(request()) }
    #expect(error?.description.contains("0 of 10 requests left; it refills in 2 h.") == true, "\(String(describing: error))")
    // Nothing known about when it refills: the request goes, the server decides.
    l.observe(answer(200, ["RateLimit-Remaining": "0"]), for: request("GET", "https://third.example/v2/"))
    try await l.admit(request("GET", "https://third.example/v2/"))
  }

  @Test func anExhaustedBudgetWithAShortWindowWaitsItOut() async throws {
    let l = limits()
    l.observe(answer(200, ["RateLimit-Limit": "10;w=20", "RateLimit-Remaining": "0;w=20"]), for: request())
    try await l.admit(request())
    try await l.admit(request())
    #expect(clock.slept == [.seconds(20)])
  }

  @Test("random header values parse within their bounds or not at all")
  func randomValues() {
    // A fixed-seed generator over the characters that matter: digits, separators, signs.
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    func next() -> UInt64 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return state >> 33
    }
    let alphabet = Array("0123456789999;=,- wlimitremainingresetrqt\"x.e+")
    for _ in 0..<5000 {
      var headers = Headers()
      for name in ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy", "RateLimit"] where next() % 2 == 0 {
        headers.add(name, String((0..<Int(next() % 40)).map { _ in alphabet[Int(next() % UInt64(alphabet.count))] }))
      }
      guard let r = RateLimitHeaders.parse(headers) else { continue }
      #expect(r.limit != nil || r.remaining != nil)
      for n in [r.limit, r.remaining].compactMap({ $0 }) { #expect((0...RateLimitHeaders.maxCount).contains(n)) }
      for n in [r.window, r.reset].compactMap({ $0 }) { #expect((0...RateLimitHeaders.maxSeconds).contains(n)) }
      if let w = r.window { #expect(w > 0) }
      if let limit = r.limit, let remaining = r.remaining { #expect(remaining <= limit) }
    }
  }

  @Test func summaryLine() {
    let s = RateLimitStatus(registry: "registry-1.docker.io", limit: 100, remaining: 76, window: 21600, waited: .seconds(2), throttled: 0)
    #expect(s.description == "registry-1.docker.io: 76 of 100 requests left in the 6 h window; waited 2.0 s for rate limits")
    #expect(RateLimitStatus.span(900) == "15 min")
    #expect(RateLimitStatus.span(45) == "45 s")
  }

  @Test func theClientAdmitsEveryHopAndReportsItsWaits() async throws {
    let t = ScriptedTransport([
      { r in Response(status: 429, headers: ["Retry-After": "1", "RateLimit-Limit": "100;w=21600", "RateLimit-Remaining": "0;w=21600"], url: r.url) },
      { r in Response(status: 200, headers: ["RateLimit-Limit": "100;w=21600", "RateLimit-Remaining": "99;w=21600"], url: r.url) },
    ])
    let l = limits()
    let clock = clock
    var c = HTTPClient(transport: t, retry: RetryPolicy(retries: 2))
    c.sleep = { clock.sleep($0) }
    c.rateLimits = l
    // The 429 says 0 left in a 6 h window: the retry is refused before it is sent.
    await #expect(throws: RateLimitExhausted.self) { _ = try await c.send(request()) }
    #expect(t.requests.count == 1)
    #expect(l.snapshot().first?.throttled == 1)
    #expect(l.snapshot().first?.waited == .seconds(1))
  }
}
