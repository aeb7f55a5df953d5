import Foundation
import Testing

@testable import HTTP

/// A transport that answers from a script, for protocol logic without sockets.
final class ScriptedTransport: Transport, @unchecked Sendable {
  private let lock = NSLock()
  private var answers: [(Request) throws -> Response]
  private(set) var requests: [Request] = []
  init(_ answers: [(Request) throws -> Response]) { self.answers = answers }
  func perform(_ request: Request) async throws -> Response {
    let next = lock.withLock {
      requests.append(request)
      return answers.removeFirst()
    }
    return try next(request)
  }
}

@Suite struct RetryPolicyTests {
  @Test(arguments: [(0, 250), (1, 500), (2, 1000), (10, 30000)])
  func backoffDoublesUpToTheCap(attempt: Int, ceilingMs: Int) {
    let p = RetryPolicy()
    #expect(p.delay(afterAttempt: attempt, retryAfter: nil, unit: 0.999_999) <= .milliseconds(ceilingMs))
    #expect(p.delay(afterAttempt: attempt, retryAfter: nil, unit: 0.999_999) > .milliseconds(ceilingMs) * 0.99)
    #expect(p.delay(afterAttempt: attempt, retryAfter: nil, unit: 0) == .zero)
  }

  @Test func retryAfterSecondsAndDatesAreHonouredAndCapped() {
    let now = Date(timeIntervalSince1970: 1_700_000_000)
    let p = RetryPolicy()
    #expect(p.delay(afterAttempt: 0, retryAfter: "3", now: now, unit: 0.5) == .seconds(3))
    #expect(p.delay(afterAttempt: 0, retryAfter: "3600", now: now, unit: 0.5) == .seconds(30))
    #expect(RetryPolicy.parseRetryAfter("Tue, 14 Nov 2023 22:13:25 GMT", now: now) == .seconds(5))
    #expect(RetryPolicy.parseRetryAfter("soon", now: now) == nil)
  }
}

@Suite struct RedirectTests {
  let base = URL(string: "https://registry.example:5000/v2/app/blobs/sha256:abc")!

  func request() -> Request {
    var r = Request(url: base)
    r.headers.set("Authorization", "Bearer t")
    return r
  }

  @Test func relativeLocationsResolveAgainstTheRequest() throws {
    let next = try HTTPClient.redirected(request(), to: "/v2/app/blobs/uploads/1", status: 307, origin: base.origin)
    #expect(next.url.absoluteString == "https://registry.example:5000/v2/app/blobs/uploads/1")
    #expect(next.headers["Authorization"] == "Bearer t")
  }

  @Test func anotherHostLosesCredentials() throws {
    let next = try HTTPClient.redirected(request(), to: "https://storage.example/blob?sig=1", status: 302, origin: base.origin)
    #expect(next.headers["Authorization"] == nil)
  }

  @Test func anotherPortIsAnotherOrigin() throws {
    let next = try HTTPClient.redirected(request(), to: "https://registry.example:5001/x", status: 302, origin: base.origin)
    #expect(next.headers["Authorization"] == nil)
  }

  @Test func seeOtherBecomesGET() throws {
    var r = request()
    r.method = "POST"
    r.body = .data(Data("x".utf8))
    let next = try HTTPClient.redirected(r, to: "/done", status: 303, origin: base.origin)
    #expect(next.method == "GET")
  }

  @Test func clientFollowsAChainAndStops() async throws {
    let t = ScriptedTransport([
      { r in Response(status: 302, headers: ["Location": "https://cdn.example/a"], url: r.url) },
      { r in Response(status: 200, body: Data("blob".utf8), url: r.url) },
    ])
    var c = HTTPClient(transport: t, retry: .none)
    c.sleep = { _ in }
    let r = try await c.send(request())
    #expect(String(decoding: r.body, as: UTF8.self) == "blob")
    #expect(t.requests.count == 2)
    #expect(t.requests[1].headers["Authorization"] == nil)
  }

  @Test func redirectLoopsEnd() async throws {
    let t = ScriptedTransport(Array(repeating: { r in Response(status: 302, headers: ["Location": "/again"], url: r.url) }, count: 20))
    var c = HTTPClient(transport: t, retry: .none)
    c.maxRedirects = 3
    await #expect(throws: HTTPError.tooManyRedirects(url: base.absoluteString, limit: 3)) { _ = try await c.send(request()) }
  }

  @Test func transportErrorsAfterBytesReachedASinkAreNotRetried() async throws {
    let t = ScriptedTransport([
      { r in throw HTTPError.transport(url: r.url.absoluteString, code: 56, message: "reset", bytesDelivered: 10) },
      { r in Response(status: 200, url: r.url) },
    ])
    var c = HTTPClient(transport: t)
    c.sleep = { _ in }
    await #expect(throws: HTTPError.self) { _ = try await c.send(request()) }
    #expect(t.requests.count == 1)
  }
}
