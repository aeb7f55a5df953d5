import ActionsCore
import Foundation
import TestSupport
import Testing

@testable import Stages

/// health-check's custom headers (an API key, Basic credentials) stay with the probed URL's
/// origin: hostile servers on 127.0.0.1 redirect elsewhere and record what they received.
@Suite("health-check headers stay with their origin", .serialized)
struct HealthCheckOriginTests {
  static let headers = "X-Api-Key: k-secret\nAuthorization: Basic dXNlcjpwYXNz"

  /// Hostile (to the user's own secret and to the request): a header line without its name
  /// put the first 20 characters of the secret value in the error; a name with a space or a
  /// value with a control character went out as a malformed header line (libcurl sends it as
  /// given). Now each is an input error naming `headers` without the value, and no probe is sent.
  @Test(arguments: ["ghp_0123456789abcdefghijklmnop", "X Api Key: k-secret", "X-Api-Key: k-sec\u{0B}ret", "X-Api-Key: k-sec\u{7F}ret", "(X-Api-Key): k-secret"])
  func aMalformedHeaderLineIsAnInputErrorThatShowsNoValue(_ line: String) async throws {
    let probed = try await HostileServer()
    defer { probed.stop() }
    try await probed.script([.init("GET", "/health", body: Data("ok".utf8))])
    do {
      _ = try await runStage(HealthCheckStage.self, ["INPUT_URL": probed.url("/health"), "INPUT_HEADERS": "X-Env: prod\n" + line, "INPUT_PROBES": "1"])
      Issue.record("'\(line)' was accepted")
    } catch let e as InputError {
      #expect(e.input == "headers")
      #expect(!e.description.contains("ghp_0123") && !e.description.contains("k-sec"), "\(e)")
      #expect(e.description.contains("line 2"), "\(e)")
    }
    #expect(try await probed.received().isEmpty)
  }

  @Test func anHTTPSProbeRedirectedToPlainHTTPSendsNothingInClear() async throws {
    let certs = try await TestCertificates.shared()
    let server = try await HostileServer(tls: certs, dual: true)
    defer { server.stop() }
    try await server.script([
      .init("GET", "/health", status: 302, headers: ["Location": server.url("/landing", scheme: "http")]),
      .init("GET", "/landing"),
    ])
    let r = try await runStage(
      HealthCheckStage.self,
      [
        "INPUT_URL": server.url("/health"), "INPUT_HEADERS": Self.headers, "INPUT_CA-FILE": certs.caCert, "INPUT_WAIT-TIMEOUT": "2s",
        "INPUT_INTERVAL": "100ms", "INPUT_PROBES": "1",
      ])
    #expect(r.outputs["healthy"] == "false")
    #expect(r.failure?.contains("plain http") == true, "\(r.failure ?? "")")
    let received = try await server.received()
    #expect(!received.isEmpty)
    #expect(received.allSatisfy { $0.scheme == "https" && $0.path == "/health" })
  }

  @Test func aProbeRedirectedToAnotherOriginLeavesItsHeadersBehind() async throws {
    let probed = try await HostileServer()
    let other = try await HostileServer()
    defer {
      probed.stop()
      other.stop()
    }
    try await probed.script([.init("GET", "/health", status: 302, headers: ["Location": other.url("/ok", host: "localhost")])])
    try await other.script([.init("GET", "/ok", body: Data("ok".utf8))])
    let r = try await runStage(
      HealthCheckStage.self,
      ["INPUT_URL": probed.url("/health"), "INPUT_HEADERS": Self.headers, "INPUT_INTERVAL": "100ms", "INPUT_PROBES": "2", "INPUT_REDIRECTS": "any"])
    #expect(r.outputs["healthy"] == "true")
    #expect(try await probed.received().first?.headers["x-api-key"] == "k-secret")
    let landed = try await other.received()
    #expect(landed.count >= 2)
    #expect(landed.allSatisfy { $0.headers["x-api-key"] == nil && $0.headers["authorization"] == nil })
  }

  /// Hostile: a compromised service answers its health URL with a redirect to another host —
  /// an internal address, a cloud metadata service — and the probe went there, judged what it
  /// found and quoted it in the log and the summary. By default (`redirects: same-host`) a
  /// redirect to another host is not followed: the 302 is the answer (healthy under the default
  /// expected-status 200-399, with a warning saying so), and the other host receives nothing.
  @Test func aRedirectToAnotherHostIsNotFollowedByDefault() async throws {
    let probed = try await HostileServer()
    let metadata = try await HostileServer()
    defer {
      probed.stop()
      metadata.stop()
    }
    let secretPath = "/latest/meta-data/iam/security-credentials/role"
    try await probed.script([.init("GET", "/health", status: 302, headers: ["Location": metadata.url(secretPath + "?x=1", host: "localhost")])])
    try await metadata.script([.init("GET", secretPath, body: Data(#"{"AccessKeyId":"ASIA-not-for-logs"}"#.utf8))])
    let log = MemoryLogSink()
    let r = try await runStage(HealthCheckStage.self, ["INPUT_URL": probed.url("/health"), "INPUT_INTERVAL": "100ms", "INPUT_PROBES": "2"], log: log)
    #expect(r.outputs["healthy"] == "true")
    #expect(try await metadata.received().isEmpty)
    let warnings = log.lines.filter { $0.contains("not followed") }
    #expect(warnings.count == 1, "\(log.lines)")
    #expect(warnings.first?.contains("localhost") == true && warnings.first?.contains("x=1") == false, "\(warnings)")

    // Where only a 200 is healthy, the redirect is a failure that says why.
    let strict = try await runStage(
      HealthCheckStage.self, ["INPUT_URL": probed.url("/health"), "INPUT_EXPECTED-STATUS": "200", "INPUT_WAIT-TIMEOUT": "1s", "INPUT_INTERVAL": "100ms"])
    #expect(strict.outputs["healthy"] == "false")
    #expect(strict.failure?.contains("HTTP 302 (a redirect to http://localhost:") == true, "\(strict.failure ?? "")")
    #expect(strict.failure?.contains("not followed: redirects is same-host") == true, "\(strict.failure ?? "")")
    #expect(strict.failure?.contains("ASIA") == false)
    #expect(try await metadata.received().isEmpty)
  }

  /// The same host on another port (and http → https on it, as Kubernetes' probes follow) is
  /// followed by default; `redirects: none` follows nothing, and an unknown value is refused.
  @Test func sameHostRedirectsAreFollowedAndNoneFollowsNothing() async throws {
    let probed = try await HostileServer()
    let other = try await HostileServer()
    defer {
      probed.stop()
      other.stop()
    }
    try await probed.script([.init("GET", "/health", status: 301, headers: ["Location": other.url("/ok")])])
    try await other.script([.init("GET", "/ok", body: Data("ok".utf8))])
    let env = ["INPUT_URL": probed.url("/health"), "INPUT_EXPECTED-STATUS": "200", "INPUT_WAIT-TIMEOUT": "1s", "INPUT_INTERVAL": "100ms", "INPUT_PROBES": "2"]
    let followed = try await runStage(HealthCheckStage.self, env)
    #expect(followed.outputs["healthy"] == "true", "\(followed.failure ?? "")")
    let landed = try await other.received().count
    #expect(landed >= 3)

    let none = try await runStage(HealthCheckStage.self, env.merging(["INPUT_REDIRECTS": "none"]) { $1 })
    #expect(none.outputs["healthy"] == "false")
    #expect(none.failure?.contains("not followed: redirects is none") == true, "\(none.failure ?? "")")
    #expect(try await other.received().count == landed)

    do {
      _ = try await runStage(HealthCheckStage.self, env.merging(["INPUT_REDIRECTS": "all"]) { $1 })
      Issue.record("redirects: all was accepted")
    } catch let e as InputError {
      #expect(e.input == "redirects" && e.description.contains("same-host"), "\(e)")
    }
  }
}
