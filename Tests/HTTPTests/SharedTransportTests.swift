import Foundation
import TestSupport
import Testing

@testable import HTTP

/// One transport per configuration for the whole process: clients built by different stages
/// (or for both registries of a promote) share connections.
@Suite struct SharedTransportTests {
  @Test func oneTransportPerConfiguration() {
    var a = TransportConfiguration()
    a.caFile = "/tmp/shared-transport-test-ca.pem"
    var b = a
    #expect(CurlTransport.shared(a) === CurlTransport.shared(b))
    b.insecureHosts = ["r.example"]
    #expect(CurlTransport.shared(a) !== CurlTransport.shared(b))
  }

  @Test func twoClientsOnTheSharedTransportReuseOneConnection() async throws {
    let server = try await LocalHTTPServer()
    defer { server.stop() }
    var config = TransportConfiguration()
    config.userAgent = "gantry-shared-test-\(UUID().uuidString)"
    let first = HTTPClient(transport: CurlTransport.shared(config), retry: .none)
    let second = HTTPClient(transport: CurlTransport.shared(config), retry: .none)
    let p1 = try await first.send(Request(url: server.url("/peer"))).bodyText()
    let p2 = try await second.send(Request(url: server.url("/peer"))).bodyText()
    #expect(p1 == p2)
  }
}
