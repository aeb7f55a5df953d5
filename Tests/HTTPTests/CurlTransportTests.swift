import Foundation
import HTTP
import TestSupport
import Testing

/// Counts bytes and checks the server's pattern (i % 251) without keeping them.
final class PatternSink: BodySink, @unchecked Sendable {
  private(set) var count: Int64 = 0
  private(set) var writes = 0
  private(set) var patternOK = true
  static let pattern: [UInt8] = (0..<(251 * 4300)).map { UInt8($0 % 251) }
  func write(_ bytes: UnsafeRawBufferPointer) throws {
    let start = Int(count % 251)
    if patternOK && bytes.count <= Self.pattern.count - start {
      patternOK = Self.pattern.withUnsafeBytes { memcmp($0.baseAddress! + start, bytes.baseAddress!, bytes.count) == 0 }
    }
    count += Int64(bytes.count)
    writes += 1
  }
}

/// Produces the pattern on the fly with an unknown length (so the upload goes chunked).
final class PatternSource: BodySource, @unchecked Sendable {
  let total: Int
  var sent = 0
  let length: Int64? = nil
  init(total: Int) { self.total = total }
  func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    let n = min(buffer.count, total - sent, PatternSink.pattern.count - 251)
    let start = sent % 251
    PatternSink.pattern.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + start, byteCount: n) }
    sent += n
    return n
  }
  func rewind() -> Bool {
    sent = 0
    return true
  }
}

struct UploadReport: Decodable {
  var bytes: Int
  var pattern_ok: Bool
  var chunked: Bool
}

@Suite("libcurl transport against a real local server", .serialized)
struct CurlTransportTests {
  let server: LocalHTTPServer
  let transport = CurlTransport()

  init() async throws { server = try await LocalHTTPServer() }

  @Test func getBuffersSmallBodiesAndParsesHeaders() async throws {
    let r = try await transport.perform(Request(url: server.url("/status/203")))
    #expect(r.status == 203)
    #expect(String(decoding: r.body, as: UTF8.self) == "status 203")
    #expect(r.headers["content-type"] == "text/plain")
    #expect(r.headers["Content-Length"] == "10")
    #expect(r.httpVersion == "1.1")
  }

  @Test func sendsUserAgent() async throws {
    let r = try await transport.perform(Request(url: server.url("/headers")))
    let headers = try JSONDecoder().decode([String: String].self, from: r.body)
    #expect(headers["user-agent"] == "gantry/\(GantryVersion.current)")
    #expect(headers["expect"] == nil)
  }

  @Test func streamsLargeDownloadsIntoASink() async throws {
    let size: Int64 = 64 << 20
    let sink = PatternSink()
    let r = try await transport.perform(Request(url: server.url("/bytes/\(size)"), destination: .sink(sink)))
    #expect(r.status == 200)
    #expect(r.body.isEmpty)
    #expect(r.bodyBytes == size)
    #expect(sink.count == size)
    #expect(sink.patternOK)
    #expect(sink.writes > 16)  // arrived in pieces, never as one buffer
  }

  @Test func streamsChunkedUploadsOfUnknownLength() async throws {
    let size = 24 << 20
    let r = try await transport.perform(Request(method: "PATCH", url: server.url("/upload"), body: .source(PatternSource(total: size))))
    let report = try JSONDecoder().decode(UploadReport.self, from: r.body)
    #expect(r.status == 201)
    #expect(report.bytes == size)
    #expect(report.pattern_ok)
    #expect(report.chunked)
  }

  @Test func uploadsKnownLengthsMonolithically() async throws {
    let data = Data((0..<100_000).map { UInt8($0 % 251) })
    let r = try await transport.perform(Request(method: "PUT", url: server.url("/upload"), body: .data(data)))
    let report = try JSONDecoder().decode(UploadReport.self, from: r.body)
    #expect(report.bytes == data.count)
    #expect(report.pattern_ok)
    #expect(!report.chunked)
  }

  @Test func pipesADownloadIntoAnUploadWithBoundedMemory() async throws {
    let size = 32 << 20
    let pipe = BodyPipe(length: Int64(size), capacity: 256 << 10)
    async let download = transport.perform(Request(url: server.url("/bytes/\(size)"), destination: .sink(pipe)))
    async let upload = transport.perform(Request(method: "PUT", url: server.url("/upload"), body: .source(pipe)))
    let d = try await download
    pipe.close()
    let u = try await upload
    let report = try JSONDecoder().decode(UploadReport.self, from: u.body)
    #expect(d.status == 200)
    #expect(report.bytes == size)
    #expect(report.pattern_ok)
  }

  @Test func bufferLimitIsEnforced() async throws {
    await #expect(throws: HTTPError.bodyTooLarge(url: server.url("/bytes/5000").absoluteString, limit: 1000)) {
      _ = try await transport.perform(Request(url: server.url("/bytes/5000"), destination: .buffer(limit: 1000)))
    }
  }

  @Test func errorBodiesAreBufferedEvenWhenStreaming() async throws {
    let sink = PatternSink()
    let r = try await transport.perform(Request(url: server.url("/status/404"), destination: .sink(sink)))
    #expect(r.status == 404)
    #expect(String(decoding: r.body, as: UTF8.self) == "status 404")
    #expect(sink.count == 0)
  }

  @Test func totalTimeoutAbortsSlowAnswers() async throws {
    let clock = ContinuousClock()
    let start = clock.now
    do {
      _ = try await transport.perform(Request(url: server.url("/slow/30000"), timeout: .milliseconds(300)))
      Issue.record("expected a timeout")
    } catch let HTTPError.transport(_, code, _, _) {
      #expect(code == 28)  // CURLE_OPERATION_TIMEDOUT
    }
    // The answer would take 30 s: a bound far from both, for a loaded machine.
    #expect(clock.now - start < .seconds(15))
  }

  @Test func lowSpeedLimitCatchesStalledTransfers() async throws {
    var config = TransportConfiguration()
    config.lowSpeedTime = .seconds(1)
    config.lowSpeedLimit = 1000
    let t = CurlTransport(configuration: config)
    do {
      _ = try await t.perform(Request(url: server.url("/stall/10"), destination: .discard))
      Issue.record("expected the stall to be caught")
    } catch let HTTPError.transport(_, code, _, _) {
      #expect(code == 28)
    }
  }

  @Test func refusedConnectionsAreRetryableTransportErrors() async throws {
    let closed = try await LocalHTTPServer()
    let url = closed.url("/status/200")
    closed.stop()
    do {
      _ = try await transport.perform(Request(url: url))
      Issue.record("expected connection refused")
    } catch let e as HTTPError {
      guard case .transport(_, let code, _, _) = e else { Issue.record("wrong error \(e)"); return }
      #expect(code == 7)
      #expect(e.isRetryable)
    }
  }

  @Test func connectionResetIsATransportError() async throws {
    await #expect {
      _ = try await transport.perform(Request(url: server.url("/reset")))
    } throws: { error in
      (error as? HTTPError)?.isRetryable == true
    }
  }

  @Test func connectionsAreReused() async throws {
    let a = try await transport.perform(Request(url: server.url("/peer")))
    let b = try await transport.perform(Request(url: server.url("/peer")))
    #expect(a.body == b.body)
  }

  @Test func cancellationStopsATransfer() async throws {
    let clock = ContinuousClock()
    let start = clock.now
    let task = Task { try await transport.perform(Request(url: server.url("/slow/30000"))) }
    try await Task.sleep(for: .milliseconds(200))
    task.cancel()
    await #expect(throws: HTTPError.cancelled) { _ = try await task.value }
    #expect(clock.now - start < .seconds(15))
  }

  @Test func onlyHTTPAndHTTPSAreAllowed() async throws {
    await #expect(throws: HTTPError.self) {
      _ = try await transport.perform(Request(url: URL(string: "file:///etc/passwd")!))
    }
  }
}

@Suite("HTTPClient over the real transport: retries and redirects", .serialized)
struct HTTPClientIntegrationTests {
  let server: LocalHTTPServer
  init() async throws { server = try await LocalHTTPServer() }

  func client(retries: Int = 3, delays: DelayRecorder? = nil) -> HTTPClient {
    var c = HTTPClient(transport: CurlTransport(), retry: RetryPolicy(retries: retries))
    c.sleep = { d in delays?.record(d) }
    return c
  }

  @Test func retriesServerErrorsUntilSuccess() async throws {
    let key = UUID().uuidString
    let r = try await client().send(Request(url: server.url("/flaky/\(key)/2/503")))
    #expect(r.status == 200)
    let hits = try await client().send(Request(url: server.url("/hits/\(key)")))
    #expect(String(decoding: hits.body, as: UTF8.self) == "3")
  }

  @Test func honoursRetryAfter() async throws {
    let delays = DelayRecorder()
    let r = try await client(delays: delays).send(Request(url: server.url("/flaky/\(UUID().uuidString)/1/429?retry-after=7")))
    #expect(r.status == 200)
    #expect(delays.values == [.seconds(7)])
  }

  @Test func givesUpAfterTheConfiguredRetries() async throws {
    let r = try await client(retries: 2).send(Request(url: server.url("/flaky/\(UUID().uuidString)/10/502")))
    #expect(r.status == 502)
    #expect(String(decoding: r.body, as: UTF8.self) == "flaky failure 3")
  }

  @Test func doesNotRetryClientErrors() async throws {
    let key = UUID().uuidString
    let r = try await client().send(Request(url: server.url("/flaky/\(key)/1/404")))
    #expect(r.status == 404)
  }

  @Test func dropsAuthorizationWhenARedirectChangesHost() async throws {
    let target = server.url("/headers", host: "localhost").absoluteString
    var req = Request(url: URL(string: server.url("/redirect").absoluteString + "?to=" + target.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)!)
    req.headers.set("Authorization", "Bearer secret-token")
    let r = try await client().send(req)
    let headers = try JSONDecoder().decode([String: String].self, from: r.body)
    #expect(r.status == 200)
    #expect(r.url.host == "localhost")
    #expect(headers["authorization"] == nil)
  }

  @Test func keepsAuthorizationOnTheSameHost() async throws {
    var req = Request(url: URL(string: server.url("/redirect").absoluteString + "?to=/headers&code=307")!)
    req.headers.set("Authorization", "Bearer secret-token")
    let r = try await client().send(req)
    let headers = try JSONDecoder().decode([String: String].self, from: r.body)
    #expect(headers["authorization"] == "Bearer secret-token")
  }

  @Test func refusesRedirectsToOtherSchemes() async throws {
    await #expect(throws: HTTPError.self) {
      _ = try await client().send(Request(url: URL(string: server.url("/redirect").absoluteString + "?to=ftp://example.invalid/x")!))
    }
  }
}

@Suite("TLS with a self-signed CA", .serialized)
struct TLSTests {
  let dir: TempDirectory
  let certs: TestCertificates
  let server: LocalHTTPServer

  init() async throws {
    dir = try TempDirectory()
    certs = try await TestCertificates(in: dir)
    server = try await LocalHTTPServer(tls: certs)
  }

  @Test func verifiesAgainstTheGivenCA() async throws {
    var config = TransportConfiguration()
    config.caFile = certs.caCert
    let r = try await CurlTransport(configuration: config).perform(Request(url: server.url("/status/200")))
    #expect(r.status == 200)
  }

  /// `ca-file` adds to the trusted bundle: a server under another CA is reached as well as
  /// one under the bundle's CA (the bundle stands for `SSL_CERT_FILE` or the system's).
  @Test func extraCAsAreAddedToTheTrustedBundleNotSwappedForIt() async throws {
    let otherDir = try TempDirectory()
    let other = try await TestCertificates(in: otherDir)
    let otherServer = try await LocalHTTPServer(tls: other)
    defer { otherServer.stop() }
    var config = TransportConfiguration()
    config.caFile = try CABundle.adding(other.caCert, to: certs.caCert, directory: otherDir.path)
    #expect(config.caFile?.hasPrefix(otherDir.path + "/gantry-ca-") == true)
    let t = CurlTransport(configuration: config)
    #expect(try await t.perform(Request(url: server.url("/status/200"))).status == 200)
    #expect(try await t.perform(Request(url: otherServer.url("/status/200"))).status == 200)
    // With the extra CA alone (what ca-file did before), the first server is refused.
    var alone = TransportConfiguration()
    alone.caFile = other.caCert
    await #expect(throws: HTTPError.self) { _ = try await CurlTransport(configuration: alone).perform(Request(url: self.server.url("/status/200"))) }
    // Without a base, the system bundle is the base.
    let withSystem = try CABundle.adding(other.caCert, to: nil)
    let system = try #require(["/etc/ssl/certs/ca-certificates.crt"].first { FileManager.default.fileExists(atPath: $0) })
    let combined = try String(contentsOfFile: withSystem, encoding: .utf8)
    #expect(combined.hasPrefix(try String(contentsOfFile: system, encoding: .utf8).prefix(200)))
    #expect(combined.hasSuffix(try String(contentsOfFile: other.caCert, encoding: .utf8)))
    // A file without a certificate is refused, naming it.
    #expect(throws: CABundle.Failure.self) { try CABundle.adding(otherDir.path + "/san.ext", to: nil) }
  }

  @Test func rejectsAnUnknownCA() async throws {
    do {
      _ = try await CurlTransport().perform(Request(url: server.url("/status/200")))
      Issue.record("expected a certificate error")
    } catch let HTTPError.transport(_, code, _, _) {
      #expect(code == 60)  // CURLE_PEER_FAILED_VERIFICATION
    }
  }

  @Test func insecureHostsSkipVerificationForThatHostOnly() async throws {
    var config = TransportConfiguration()
    config.insecureHosts = ["127.0.0.1:\(server.port)"]
    let t = CurlTransport(configuration: config)
    #expect(try await t.perform(Request(url: server.url("/status/200"))).status == 200)
    await #expect(throws: HTTPError.self) {
      _ = try await t.perform(Request(url: server.url("/status/200", host: "localhost")))
    }
  }

  @Test func sslCertFileIsHonoured() async throws {
    let config = TransportConfiguration.fromEnvironment(["SSL_CERT_FILE": certs.caCert])
    let r = try await CurlTransport(configuration: config).perform(Request(url: server.url("/status/200", host: "localhost")))
    #expect(r.status == 200)
  }
}

final class DelayRecorder: @unchecked Sendable {
  private let lock = NSLock()
  private var storage: [Duration] = []
  func record(_ d: Duration) { lock.withLock { storage.append(d) } }
  var values: [Duration] { lock.withLock { storage } }
}
