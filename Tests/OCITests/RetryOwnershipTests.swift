import Foundation
import HTTP
import Testing

@testable import OCI

/// One owner for each request's retries, and errors that say what was tried.
@Suite struct RetryOwnershipTests {
  static let blob = Data("layer bytes".utf8)

  /// A blob GET that always fails with 503: the copier's blob retry (2) owns the attempts, the
  /// HTTP client's own retries (3) stay off inside it — 3 GETs, not 3 × 4.
  @Test func theCopiersBlobRetryTurnsTheClientsOff() async throws {
    let digest = Digest.sha256(Self.blob)
    let t = ScriptedTransport { r in
      if r.url.path == "/v2/" { return Response(status: 200, url: r.url) }
      if r.method == "HEAD" { return Response(status: 404, url: r.url) }
      if r.method == "POST" { return Response(status: 202, headers: ["Location": "/upload/1"], url: r.url) }
      if r.method == "GET", r.url.path.contains("/blobs/") { return Response(status: 503, url: r.url) }
      return Response(status: 201, url: r.url)
    }
    var http = HTTPClient(transport: t, retry: RetryPolicy(retries: 3, baseDelay: .milliseconds(1)))
    http.sleep = { _ in }
    let source = RegistryClient(registry: "src.example", http: http)
    let target = RegistryClient(registry: "dst.example", http: http)
    var options = CopyOptions()
    options.retries = 2
    let manifest = try RawManifest(
      bytes: Data(
        #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(digest)","size":\#(Self.blob.count)},"layers":[]}"#
          .utf8), mediaType: nil)
    let copier = Copier(source: source, sourceRepository: "a", target: target, targetRepository: "b", options: options)
    await #expect(throws: RegistryError.self) { _ = try await copier.copy(ImageGraph(root: manifest, children: [], platforms: [:]), rootPresent: false) }
    let gets = t.requests.filter { $0.method == "GET" && $0.url.path.contains("/blobs/") }
    #expect(gets.count == 3)
  }

  /// Permanent failures are not retried: a refused redirect fails at once.
  @Test func aRefusedRedirectIsNotRetried() async throws {
    let t = ScriptedTransport { r in
      if r.url.path == "/v2/" { return Response(status: 200, url: r.url) }
      return Response(status: 302, headers: ["Location": "ftp://elsewhere/x"], url: r.url)
    }
    var http = HTTPClient(transport: t, retry: RetryPolicy(retries: 3, baseDelay: .milliseconds(1)))
    http.sleep = { _ in }
    let c = RegistryClient(registry: "r.example", http: http)
    await #expect {
      _ = try await c.blob("app", Digest.sha256(Self.blob))
    } throws: { error in
      guard case RegistryError.failed = error else { return false }
      return !(error as? RegistryError)!.isTransient
    }
    #expect(t.requests.count == 1)
  }

  /// A loopback registry is probed over http, then https. When nothing listens, the message
  /// names both attempts (the real cause, not only the fallback's), and the probe is retried.
  @Test func aFailedProbeSaysWhatWasTriedAndIsRetried() async throws {
    struct Refusing: Transport {
      func perform(_ request: Request) async throws -> Response {
        let tls = request.url.scheme == "https"
        throw HTTPError.transport(
          url: request.url.redacted, code: tls ? 35 : 7, message: tls ? "TLS connect error" : "Failed to connect", bytesDelivered: 0)
      }
    }
    let retries = Locked<Int>(0)
    var http = HTTPClient(transport: Refusing(), retry: RetryPolicy(retries: 2, baseDelay: .milliseconds(1)))
    http.sleep = { _ in }
    http.onRetry = { _, _, _ in retries.withLock { $0 += 1 } }
    let c = RegistryClient(registry: "127.0.0.1:5999", http: http)
    await #expect {
      _ = try await c.manifest("app", "v1")
    } throws: { error in
      let text = "\(error)"
      return text.contains("Failed to connect (http://127.0.0.1:5999/") && text.contains("TLS connect error (https://127.0.0.1:5999/") && text.contains("3 attempts")
    }
    #expect(retries.withLock { $0 } == 2)
  }

  /// Only transient failures are retried: a certificate failure fails at once; a 503 is
  /// retried, and the error says how many attempts were made.
  @Test func tlsFailuresAreNotRetriedAndStatusErrorsCountTheirAttempts() async throws {
    let tls = ScriptedTransport { r in Response(status: 200, url: r.url) }
    struct BadCertificate: Transport {
      let counter: ScriptedTransport
      func perform(_ request: Request) async throws -> Response {
        _ = try await counter.perform(request)
        throw HTTPError.transport(url: request.url.redacted, code: 60, message: "SSL certificate problem", bytesDelivered: 0)
      }
    }
    var http = HTTPClient(transport: BadCertificate(counter: tls), retry: RetryPolicy(retries: 3, baseDelay: .milliseconds(1)))
    http.sleep = { _ in }
    await #expect(throws: HTTPError.self) { _ = try await http.send(Request(url: URL(string: "https://r.example/v2/")!)) }
    #expect(tls.requests.count == 1)

    let busy = ScriptedTransport { r in
      r.url.path == "/v2/" ? Response(status: 200, url: r.url) : Response(status: 503, body: Data("busy".utf8), url: r.url)
    }
    var client = HTTPClient(transport: busy, retry: RetryPolicy(retries: 3, baseDelay: .milliseconds(1)))
    client.sleep = { _ in }
    let c = RegistryClient(registry: "r.example", http: client)
    await #expect {
      _ = try await c.manifest("app", "v1")
    } throws: { error in
      "\(error)".contains("HTTP 503") && "\(error)".contains("4 attempts")
    }
  }
}
