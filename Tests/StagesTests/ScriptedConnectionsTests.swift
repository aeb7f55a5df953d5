import ActionsCore
import Foundation
import HTTP
import OCI
import Testing

@testable import Stages

/// Answers a stage's requests from a function and records them with the transport
/// configuration each client asked for: stage logic on scripted connections, no sockets.
final class StageScript: Transport, @unchecked Sendable {
  private let lock = NSLock()
  private let answer: @Sendable (Request, Int) -> Response
  private var log: [Request] = []
  private var asked: [TransportConfiguration] = []

  /// `answer` gets each request and its 0-based position among all requests.
  init(_ answer: @escaping @Sendable (Request, Int) -> Response) { self.answer = answer }

  var requests: [Request] { lock.withLock { log } }
  var configurations: [TransportConfiguration] { lock.withLock { asked } }

  /// Connections whose every transport is this script (noting the configurations asked for).
  var connections: Connections {
    Connections { configuration in
      self.lock.withLock { self.asked.append(configuration) }
      return self
    }
  }

  func perform(_ request: Request) async throws -> Response {
    let n = lock.withLock {
      log.append(request)
      return log.count - 1
    }
    return answer(request, n)
  }
}

@Suite("stages on scripted connections")
struct ScriptedConnectionsTests {
  @Test func healthCheckWaitsThroughScriptedOutagesThenMeasures() async throws {
    // Two 503s while the deploy rolls out, then the new version answers.
    let script = StageScript { request, n in
      n < 2
        ? Response(status: 503, body: Data("starting".utf8), url: request.url)
        : Response(status: 200, headers: ["Content-Type": "application/json"], body: Data(#"{"version":"1.2.3"}"#.utf8), url: request.url)
    }
    let r = try await runStage(
      HealthCheckStage.self,
      [
        "INPUT_URL": "https://service.example/health?key=s3cret", "INPUT_INTERVAL": "10ms", "INPUT_PROBES": "5", "INPUT_EXPECTED-JSON": "version=1.2.3",
        "INPUT_HEADERS": "X-Api-Key: k-123", "INPUT_TIMEOUT-MS": "1500",
      ], connections: script.connections)
    #expect(r.failure == nil)
    #expect(r.outputs["healthy"] == "true")
    #expect(r.outputs["probes"] == "5")
    #expect(r.outputs["failures"] == "0")
    #expect(r.outputs["success-rate"] == "100")
    // 2 refused waits, 1 healthy wait, 5 measured probes; each with the stage's method,
    // header and per-request deadline.
    let sent = script.requests
    #expect(sent.count == 8)
    #expect(sent.allSatisfy { $0.method == "GET" && $0.url.host == "service.example" && $0.headers["X-Api-Key"] == "k-123" && $0.timeout == .milliseconds(1500) })
    // The prober's client asked for its own connect timeout, on the wiring it was handed.
    #expect(script.configurations.map(\.connectTimeout) == [.seconds(5)])
  }

  @Test func healthCheckFailsOnTheScriptedWrongVersion() async throws {
    let script = StageScript { request, _ in Response(status: 200, body: Data(#"{"version":"1.2.2"}"#.utf8), url: request.url) }
    let r = try await runStage(
      HealthCheckStage.self, ["INPUT_URL": "https://service.example/health", "INPUT_INTERVAL": "10ms", "INPUT_WAIT-TIMEOUT": "50ms", "INPUT_EXPECTED-JSON": "version=1.2.3"],
      connections: script.connections)
    #expect(r.outputs["healthy"] == "false")
    #expect(r.failure?.contains("JSON version is '1.2.2', expected '1.2.3'") == true)
  }

  /// A registry with two tags of different images, answering like a registry (the ping, then
  /// manifests with their digest header), and 404 for anything else.
  static func registry(_ manifests: [String: RawManifest]) -> StageScript {
    StageScript { request, _ in
      let path = request.url.path
      if path == "/v2/" || path == "/v2" { return Response(status: 200, url: request.url) }
      let prefix = "/v2/app/manifests/"
      if path.hasPrefix(prefix), let m = manifests[String(path.dropFirst(prefix.count))] {
        return Response(
          status: 200, headers: ["Content-Type": m.mediaType, "Docker-Content-Digest": m.digest.description], body: request.method == "HEAD" ? Data() : m.bytes, url: request.url)
      }
      return Response(status: 404, body: Data(#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}"#.utf8), url: request.url)
    }
  }

  static func manifest(_ nonce: String) throws -> RawManifest {
    try RawManifest(
      bytes: Data(
        #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[],"annotations":{"n":"\#(nonce)"}}"#
          .utf8), mediaType: nil)
  }

  @Test func verifyDigestComparesScriptedRegistries() async throws {
    let one = try Self.manifest("1")
    let two = try Self.manifest("2")
    let script = Self.registry(["1.0": one, "1.0-copy": one, "2.0": two])
    let inputs = ["INPUT_SOURCE": "registry.example/app:1.0", "INPUT_SOURCE-PASSWORD": "p", "INPUT_TARGET-PASSWORD": "q"]

    let same = try await runStage(VerifyDigestStage.self, inputs.merging(["INPUT_TARGET": "registry.example/app:1.0-copy"]) { $1 }, connections: script.connections)
    #expect(same.failure == nil)
    #expect(same.outputs["match"] == "true")
    #expect(same.outputs["source-digest"] == one.digest.description)
    #expect(same.outputs["target-digest"] == one.digest.description)
    // No keyless identity given: nothing checked, and the declared outputs say so (before, both
    // were left unset although documented as `unchecked`).
    #expect(same.outputs["signature"] == "unchecked")
    #expect(same.outputs["provenance"] == "unchecked")

    let different = try await runStage(VerifyDigestStage.self, inputs.merging(["INPUT_TARGET": "registry.example/app:2.0"]) { $1 }, connections: script.connections)
    #expect(different.outputs["match"] == "false")
    #expect(different.outputs["target-digest"] == two.digest.description)
    #expect(different.failure?.contains("not the same image") == true)

    // The requests went over https to the registry named, never elsewhere.
    #expect(script.requests.allSatisfy { $0.url.scheme == "https" && $0.url.host == "registry.example" })
    #expect(script.requests.contains { $0.url.path == "/v2/app/manifests/2.0" })

    // A missing tag is the registry's 404, reported as such.
    await #expect {
      _ = try await runStage(VerifyDigestStage.self, inputs.merging(["INPUT_TARGET": "registry.example/app:9.9"]) { $1 }, connections: script.connections)
    } throws: { "\($0)".contains("app:9.9") }
  }

  /// Before, `insecure-registries: http://registry.example:5000` (a scheme, as users write it)
  /// or `registry.example` (a host alone, as documented) never allowed plain HTTP: the stage
  /// failed with "list it in insecure-registries" although it was listed.
  @Test(arguments: ["http://Registry.Example:5000/", "registry.example", "registry.example:5000"])
  func insecureRegistriesAreReadAsHostAndPort(_ entry: String) async throws {
    struct PlainHTTPOnly: Transport {
      let registry: StageScript
      func perform(_ request: Request) async throws -> Response {
        guard request.url.scheme == "http" else {
          throw HTTPError.transport(url: request.url.absoluteString, code: 35, message: "SSL routines::wrong version number", bytesDelivered: 0)
        }
        return try await registry.perform(request)
      }
    }
    let one = try Self.manifest("1")
    let script = Self.registry(["1.0": one])
    let plain = Connections { _ in PlainHTTPOnly(registry: script) }
    let inputs = ["INPUT_SOURCE": "registry.example:5000/app:1.0", "INPUT_EXPECTED-DIGEST": one.digest.description, "INPUT_RETRIES": "0"]
    let r = try await runStage(VerifyDigestStage.self, inputs.merging(["INPUT_INSECURE-REGISTRIES": "other.example\n\(entry)"]) { $1 }, connections: plain)
    #expect(r.outputs["match"] == "true")
    #expect(script.requests.contains { $0.url.scheme == "http" && $0.url.path == "/v2/app/manifests/1.0" })
    await #expect { _ = try await runStage(VerifyDigestStage.self, inputs, connections: plain) } throws: { "\($0)".contains("insecure-registries") }
    await #expect { _ = try await runStage(VerifyDigestStage.self, inputs.merging(["INPUT_INSECURE-REGISTRIES": "http://"]) { $1 }, connections: plain) } throws: {
      "\($0)" == "input 'insecure-registries': 'http://' is not host[:port], e.g. registry.internal:5000"
    }
  }
}
