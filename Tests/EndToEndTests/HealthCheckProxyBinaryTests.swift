import Foundation
import TestSupport
import Testing

/// The built binary's health-check behind the proxy a job names in its environment (libcurl
/// reads `https_proxy`, `http_proxy`, `no_proxy` itself). Tests/Fixtures/hostile_service.py
/// plays the proxy and logs what it was asked to carry.
@Suite("health-check through a job's proxy", .serialized)
struct HealthCheckProxyBinaryTests {
  let dir: TempDirectory
  init() throws { dir = try TempDirectory() }

  func run(_ env: [String: String]) async throws -> (status: Int32, stdout: String, stderr: String) {
    let base = [
      "PATH": "/usr/bin:/bin", "GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": dir.file("output"), "GITHUB_STEP_SUMMARY": dir.file("summary"),
      "INPUT_STAGE": "health-check", "INPUT_HEADERS": "X-Api-Key: k-secret\nAuthorization: Bearer s3cret", "INPUT_WAIT-TIMEOUT": "2s", "INPUT_INTERVAL": "200ms",
      "INPUT_PROBES": "1",
    ]
    return try await awaitCommand("/usr/bin/timeout", ["-k", "5", "60", RepoPaths.gantryBinary], environment: base.merging(env) { $1 })
  }

  /// Found holding: an https probe through `HTTPS_PROXY` asks the proxy for a tunnel (CONNECT)
  /// that carries none of the `headers` (libcurl sends custom headers to the server only, not
  /// in the CONNECT); they would travel inside the tunnel's TLS. A plain http probe through
  /// `http_proxy` is the proxy's to carry, headers and all — the job chose that proxy, as curl
  /// does — which shows the proxy here does see headers it is given.
  @Test func theProxyGetsNoSecretHeaderInATunnelRequest() async throws {
    let proxy = try await HostileService()
    defer { proxy.stop() }
    let tunnelled = try await run(["HTTPS_PROXY": proxy.url(""), "INPUT_URL": "https://service.invalid/health"])
    #expect(tunnelled.status == 1, "\(tunnelled.stdout)")
    let plain = try await run(["http_proxy": proxy.url(""), "INPUT_URL": "http://service.invalid/health", "INPUT_WAIT-TIMEOUT": "10s"])
    #expect(plain.status == 0, "\(plain.stdout)")

    let seen = try await proxy.received()
    let connects = seen.filter { $0.method == "CONNECT" }
    #expect(!connects.isEmpty && connects.allSatisfy { $0.target == "service.invalid:443" })
    #expect(connects.allSatisfy { $0.headers["x-api-key"] == nil && $0.headers["authorization"] == nil }, "\(connects.map(\.headers))")
    let proxied = seen.filter { $0.target == "http://service.invalid/health" }
    #expect(!proxied.isEmpty && proxied.allSatisfy { $0.headers["x-api-key"] == "k-secret" })
    for out in [tunnelled.stdout, plain.stdout] {
      let lines = out.split(separator: "\n").filter { $0.contains("k-secret") || $0.contains("s3cret") }
      #expect(lines.allSatisfy { $0.hasPrefix("::add-mask::") }, "\(lines)")
    }
  }
}
