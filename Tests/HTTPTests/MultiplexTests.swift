import Foundation
import TestSupport
import Testing

@testable import HTTP

/// Connection reuse and HTTP/2 multiplexing across the run, counted at the server: an
/// HTTP/2-only TLS server (Tests/Fixtures/h2_server.py, the Python `h2` package) numbers the
/// TCP connections it accepts and says on every answer which one carried it.
@Suite("HTTP/2 multiplexing and connection reuse, counted at the server", .serialized)
struct MultiplexTests {
  static func transport(_ certs: TestCertificates) -> CurlTransport {
    var config = TransportConfiguration()
    config.caFile = certs.caCert
    return CurlTransport(configuration: config)
  }

  /// Eight GETs started together, each held 300 ms by the server, go out as eight streams of
  /// one connection (CURLOPT_PIPEWAIT: the later ones wait for the first connection's ALPN
  /// instead of each opening their own); requests after them reuse it.
  @Test func concurrentRequestsToOneHTTP2OriginShareOneConnection() async throws {
    let certs = try await TestCertificates.shared()
    let server = try await HTTP2Server(tls: certs)
    defer { server.stop() }
    let transport = Self.transport(certs)
    let url = server.url("/delay/300")
    let answers = try await withThrowingTaskGroup(of: Response.self) { group in
      for _ in 0..<8 { group.addTask { try await transport.perform(Request(url: url)) } }
      return try await group.reduce(into: [Response]()) { $0.append($1) }
    }
    #expect(answers.count == 8)
    #expect(answers.allSatisfy { $0.status == 200 && $0.httpVersion == "2" })
    #expect(answers.map { $0.headers["x-connection"] } == Array(repeating: "1", count: 8), "connections used: \(answers.map { $0.headers["x-connection"] ?? "?" })")
    #expect(answers.compactMap { Int($0.headers["x-connections"] ?? "") }.max() == 1)
    // Multiplexed: the server held several of them on that connection at once (not one
    // after the other: 8 × 300 ms would be 2.4 s).
    let inFlight = answers.compactMap { Int($0.headers["x-in-flight"] ?? "") }
    #expect((inFlight.max() ?? 0) >= 2, "requests in flight on the connection: \(inFlight)")

    for _ in 0..<3 {
      let r = try await transport.perform(Request(url: server.url("/")))
      #expect(r.httpVersion == "2")
      #expect(r.headers["x-connection"] == "1")
      #expect(r.headers["x-connections"] == "1")
    }
  }

  /// Clients built on the shared transport of one configuration (as the stages of a run are)
  /// multiplex on one connection too.
  @Test func clientsOnTheSharedTransportMultiplexOnOneConnection() async throws {
    let certs = try await TestCertificates.shared()
    let server = try await HTTP2Server(tls: certs)
    defer { server.stop() }
    var config = TransportConfiguration()
    config.caFile = certs.caCert
    config.userAgent = "gantry-multiplex-test-\(UUID().uuidString)"
    let clients = (0..<4).map { _ in HTTPClient(transport: CurlTransport.shared(config), retry: .none) }
    let url = server.url("/delay/200")
    let answers = try await withThrowingTaskGroup(of: Response.self) { group in
      for client in clients { group.addTask { try await client.send(Request(url: url)) } }
      return try await group.reduce(into: [Response]()) { $0.append($1) }
    }
    #expect(answers.map { $0.headers["x-connections"] } == Array(repeating: "1", count: 4))
  }

  /// Waiting for a multiplexed connection is only asked where the answer comes with the TLS
  /// handshake (https, ALPN): on plain http the second request would wait for the first
  /// one's answer, and a slow server would hold every request to its origin.
  @Test func aSlowAnswerOnAnHTTP1OriginDoesNotHoldTheNextRequest() async throws {
    let certs = try await TestCertificates.shared()
    for server in [try await LocalHTTPServer(), try await LocalHTTPServer(tls: certs)] {
      defer { server.stop() }
      let transport = Self.transport(certs)
      // 30 s against a bound of 15 s: a held request would take 29.8 s; a free one needs a
      // new connection (and a TLS handshake), which took 2.2 s once on a machine at load 8.
      let slow = Task { try await transport.perform(Request(url: server.url("/slow/30000"))) }
      try await Task.sleep(for: .milliseconds(200))
      let clock = ContinuousClock()
      let start = clock.now
      let quick = try await transport.perform(Request(url: server.url("/status/200")))
      #expect(quick.status == 200)
      #expect(clock.now - start < .seconds(15), "\(server.scheme): the quick request waited for the slow one (30 s)")
      // Not waited out: the slow one has shown what it had to.
      slow.cancel()
      await #expect(throws: HTTPError.cancelled) { _ = try await slow.value }
    }
  }
}
