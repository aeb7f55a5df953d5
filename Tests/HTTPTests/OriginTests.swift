import Foundation
import TestSupport
import Testing

@testable import HTTP

/// Credentials bound to their origin, proven against scripted hostile servers on 127.0.0.1
/// that record what they received.
@Suite("Origins: credentials and custom headers stay with their origin", .serialized)
struct OriginTests {
  let certs: TestCertificates

  init() async throws {
    certs = try await TestCertificates.shared()
  }

  func client(resolve: [String] = []) -> HTTPClient {
    var config = TransportConfiguration()
    config.caFile = certs.caCert
    config.resolve = resolve
    var c = HTTPClient(transport: CurlTransport(configuration: config), retry: .none)
    c.sleep = { _ in }
    return c
  }

  static let secretHeaders: Headers = ["Authorization": "Basic dXNlcjpwYXNz", "X-Api-Key": "k-secret", "Cookie": "s=1", "Accept": "application/json"]

  @Test func originsDifferBySchemeHostAndPort() throws {
    let a = try #require(URL(string: "https://r.example/v2/")?.origin)
    #expect(URL(string: "https://R.example:443/x")?.origin == a)
    #expect(URL(string: "http://r.example:443/x")?.origin != a)
    #expect(URL(string: "https://r.example:444/x")?.origin != a)
    #expect(URL(string: "https://s.example/x")?.origin != a)
    #expect(URL(string: "ftp://r.example/x")?.origin == nil)
  }

  /// `same-host` compares host names only, case-folded (Kubernetes' probes do the same): a port
  /// or an http → https change stays on the host; a subdomain, a look-alike or an address of
  /// the same machine written otherwise is another host.
  @Test(arguments: [
    ("http://App.Example/health", "https://app.example:8443/ready", true),
    ("http://app.example/health", "http://app.example.evil/", false),
    ("http://app.example/health", "http://api.app.example/", false),
    ("http://127.0.0.1:8080/health", "http://localhost:8080/health", false),
    ("http://[::1]:80/", "http://[::1]:81/", true),
    ("http://app.example/health", "file:///etc/passwd", false),
  ])
  func sameHostFollowsOnlyTheProbedHostName(_ from: String, _ to: String, _ followed: Bool) throws {
    let a = try #require(URL(string: from))
    let b = try #require(URL(string: to))
    #expect(RedirectScope.sameHost.follows(from: a, to: b) == followed)
    #expect(RedirectScope.any.follows(from: a, to: b))
    #expect(!RedirectScope.none.follows(from: a, to: a))
  }

  @Test func printedURLsHaveNoQueryOrUserInfo() {
    let url = URL(string: "https://user:pw@bucket.s3.example/blob?X-Amz-Signature=abc123&_state=zzz#f")!
    #expect(url.redacted == "https://bucket.s3.example/blob?…")
    #expect("http://h/upload?_state=zzz".redactedURL == "http://h/upload?…")
  }

  /// An https server redirecting to plain http on the same host and port (a server that
  /// speaks both there): nothing is sent in clear, the redirect is refused.
  @Test func httpsToHTTPOnTheSameHostAndPortIsRefused() async throws {
    let server = try await HostileServer(tls: certs, dual: true)
    defer { server.stop() }
    try await server.script([
      .init("GET", "/start", status: 302, headers: ["Location": server.url("/landing", scheme: "http")]),
      .init("GET", "/landing", body: Data("in clear".utf8)),
    ])
    let request = Request(url: URL(string: server.url("/start"))!, headers: Self.secretHeaders)
    await #expect {
      _ = try await client().send(request)
    } throws: { error in
      guard case HTTPError.redirectRefused(_, _, let reason) = error else { return false }
      return reason.contains("plain http")
    }
    let received = try await server.received()
    #expect(received.map(\.path) == ["/start"])
    #expect(received.allSatisfy { $0.scheme == "https" })
  }

  /// A redirect to another origin: the request follows, but without `Authorization`,
  /// cookies or custom headers such as a health check's `X-Api-Key`.
  @Test(arguments: ["host", "port"])
  func anotherOriginGetsNoCredentialsOrCustomHeaders(differing: String) async throws {
    let origin = try await HostileServer(tls: certs)
    let other = try await HostileServer(tls: certs)
    defer {
      origin.stop()
      other.stop()
    }
    // Another host: evil.test pinned to 127.0.0.1 (the same address, another name). Another
    // port: 127.0.0.1 at the other server's port.
    let host = differing == "host" ? "evil.test" : "127.0.0.1"
    try await origin.script([.init("GET", "/start", status: 307, headers: ["Location": other.url("/landing?sig=s3cr3t", host: host)])])
    try await other.script([.init("GET", "/landing", body: Data("ok".utf8))])
    let request = Request(url: URL(string: origin.url("/start"))!, headers: Self.secretHeaders)
    let response = try await client(resolve: ["evil.test:\(other.port):127.0.0.1"]).send(request)
    #expect(response.status == 200)
    let landed = try #require(try await other.received().first)
    #expect(landed.headers["authorization"] == nil)
    #expect(landed.headers["x-api-key"] == nil)
    #expect(landed.headers["cookie"] == nil)
    #expect(landed.headers["accept"] == "application/json")
    // The first hop did carry them: the test would notice a client that sent none at all.
    #expect(try await origin.received().first?.headers["x-api-key"] == "k-secret")
  }

  /// A 307 on a request with a body (a token request carrying a refresh token) is not
  /// followed to another origin: the body would go with it.
  @Test func aBodyIsNotResentToAnotherOrigin() async throws {
    let origin = try await HostileServer(tls: certs)
    let other = try await HostileServer(tls: certs)
    defer {
      origin.stop()
      other.stop()
    }
    try await origin.script([.init("POST", "/token", status: 307, headers: ["Location": other.url("/token")])])
    try await other.script([.init("POST", "/token", body: Data(#"{"token":"x"}"#.utf8))])
    let request = Request(method: "POST", url: URL(string: origin.url("/token"))!, body: .data(Data("grant_type=refresh_token&refresh_token=RT-SECRET".utf8)))
    await #expect(throws: HTTPError.self) { _ = try await client().send(request) }
    #expect(try await other.received().isEmpty)
    #expect(try await origin.received().first?.body.contains("RT-SECRET") == true)
  }

  /// Retry lines and errors print URLs without their query (signed URLs live there).
  @Test func retryLinesAndErrorsCarryNoQuery() async throws {
    let port = try freePort()
    let reasons = Locked<[String]>([])
    var c = client()
    c.retry = RetryPolicy(retries: 1, baseDelay: .milliseconds(1))
    c.onRetry = { _, _, reason in reasons.withLock { $0.append(reason) } }
    let url = URL(string: "http://127.0.0.1:\(port)/upload?_state=S3CRET&X-Amz-Signature=S1G")!
    do {
      _ = try await c.send(Request(url: url))
      Issue.record("a closed port answered")
    } catch {
      #expect(!"\(error)".contains("S3CRET") && !"\(error)".contains("S1G"))
      #expect("\(error)".contains("/upload"))
    }
    let lines = reasons.withLock { $0 }
    #expect(lines.count == 1)
    #expect(lines.allSatisfy { !$0.contains("S3CRET") && !$0.contains("S1G") })
  }
}

/// A lock around a value, for tests' callbacks.
final class Locked<Value>: @unchecked Sendable {
  private var value: Value
  private let lock = NSLock()
  init(_ value: Value) { self.value = value }
  func withLock<T>(_ body: (inout Value) -> T) -> T { lock.withLock { body(&value) } }
}

/// Stalls and trickles end: the low-speed limit and the per-request deadline, with short
/// limits injected so the tests stay fast.
@Suite("Limits: trickling bodies are aborted", .serialized)
struct LimitTests {
  /// 1 KiB/s for 30 s by default: 1 B/s let a 2 B/s trickle run for weeks.
  @Test func theDefaultLowSpeedLimitIsAKibibytePerSecond() {
    let c = TransportConfiguration()
    #expect(c.lowSpeedLimit == 1024)
    #expect(c.lowSpeedTime == .seconds(30))
  }

  @Test func aBodyTricklingBelowTheLowSpeedLimitIsAborted() async throws {
    let server = try await HostileServer()
    defer { server.stop() }
    try await server.script([.init("GET", "/blob", body: Data(repeating: 7, count: 2000), trickle: 40)])
    var config = TransportConfiguration()
    config.lowSpeedLimit = 1024
    config.lowSpeedTime = .seconds(1)
    let c = HTTPClient(transport: CurlTransport(configuration: config), retry: .none)
    let started = ContinuousClock.now
    do {
      _ = try await c.send(Request(url: URL(string: server.url("/blob"))!, destination: .discard))
      Issue.record("a 40 B/s body passed a 1 KiB/s limit")
    } catch let error as HTTPError {
      #expect(error.kind == .timeout)
    }
    // The whole body would take 50 s; generous for a loaded machine.
    #expect(started.duration(to: .now) < .seconds(25))
  }

  /// A small request has a deadline: a body fast enough for the low-speed limit still ends.
  @Test func aSmallRequestEndsAtItsDeadline() async throws {
    let server = try await HostileServer()
    defer { server.stop() }
    try await server.script([.init("GET", "/manifest", body: Data(repeating: 7, count: 6000), trickle: 100)])
    var config = TransportConfiguration()
    config.lowSpeedLimit = 1
    let c = HTTPClient(transport: CurlTransport(configuration: config), retry: .none)
    let started = ContinuousClock.now
    await #expect {
      _ = try await c.send(Request(url: URL(string: server.url("/manifest"))!, timeout: .milliseconds(1500)))
    } throws: { error in
      (error as? HTTPError)?.kind == .timeout
    }
    // The whole body would take 60 s.
    #expect(started.duration(to: .now) < .seconds(25))
  }
}
