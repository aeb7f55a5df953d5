import ActionsCore
import Foundation
import TestSupport
import Testing

@testable import Stages

@Suite("health-check against a real local server", .serialized)
struct HealthCheckStageTests {
  let server: LocalHTTPServer
  init() async throws { server = try await LocalHTTPServer() }

  func run(_ env: [String: String], log: MemoryLogSink = MemoryLogSink()) async throws -> StageResult {
    var e = env
    e["INPUT_INTERVAL"] = e["INPUT_INTERVAL"] ?? "100ms"
    return try await runStage(HealthCheckStage.self, e, log: log)
  }

  @Test func waitsForTheDeployThenMeasures() async throws {
    let key = UUID().uuidString
    // A generous wait-timeout: on 2 cores the test support's blocking waits (registries
    // starting for other suites) can hold both threads of the cooperative pool for seconds,
    // and a starved run must not read as an unhealthy service.
    let r = try await run(["INPUT_URL": server.url("/down-for/700/\(key)").absoluteString, "INPUT_PROBES": "10", "INPUT_WAIT-TIMEOUT": "90s"])
    #expect(r.failure == nil)
    #expect(r.outputs["healthy"] == "true")
    #expect(r.outputs["success-rate"] == "100")
    #expect(r.outputs["probes"] == "10")
    #expect(Int(r.outputs["first-healthy-after-ms"] ?? "") ?? 0 >= 600)
    let reportText = try #require(r.outputs["report"])
    let report = try #require(try JSONSerialization.jsonObject(with: Data(reportText.utf8)) as? [String: Any])
    #expect(report["healthy"] as? Bool == true)
    #expect((report["statuses"] as? [String: Int])?["200"] == 10)
    // Booleans, as `healthy` (before, each threshold's `passed` was the string "true").
    let thresholds = try #require(report["thresholds"] as? [[String: Any]])
    #expect(thresholds.count == 2 && thresholds.allSatisfy { $0["passed"] as? Bool == true }, "\(reportText)")
    #expect(reportText.contains(#""passed":true"#))
    #expect(r.summary.render().contains("| success rate | ≥ 95 % | 100 % | ✓ |"))
  }

  @Test func waitTimeoutFailsWithTheLastReason() async throws {
    let r = try await run(["INPUT_URL": server.url("/status/503").absoluteString, "INPUT_WAIT-TIMEOUT": "2s"])
    #expect(r.outputs["healthy"] == "false")
    #expect(r.failure?.contains("not healthy within wait-timeout") == true)
    #expect(r.failure?.contains("HTTP 503, expected 200-399") == true)
  }

  @Test func refusedConnectionsAreRetriedWhileWaiting() async throws {
    let gone = try await LocalHTTPServer()
    let url = gone.url("/status/200").absoluteString
    gone.stop()
    let r = try await run(["INPUT_URL": url, "INPUT_WAIT-TIMEOUT": "400ms"])
    #expect(r.failure?.contains("connection refused") == true)
  }

  @Test func successRateThreshold() async throws {
    let key = UUID().uuidString
    let r = try await run(["INPUT_URL": server.url("/flaky-rate/20/\(key)").absoluteString, "INPUT_PROBES": "20", "INPUT_WAIT-TIMEOUT": "5s"])
    // The wait probe took hit 1; 20 measured hits include 4 failures.
    #expect(r.outputs["failures"] == "4")
    #expect(r.outputs["success-rate"] == "80")
    #expect(r.outputs["healthy"] == "false")
    #expect(r.failure?.contains("success rate 80 % (goal ≥ 95 %)") == true)
    #expect(r.summary.render().contains("| 500 | 4 |"))
    let lenient = try await run(["INPUT_URL": server.url("/flaky-rate/20/\(UUID().uuidString)").absoluteString, "INPUT_PROBES": "20", "INPUT_MIN-SUCCESS-RATE": "75"])
    #expect(lenient.outputs["healthy"] == "true")
  }

  @Test func averageAndP95Thresholds() async throws {
    let slow = try await run(["INPUT_URL": server.url("/slow/150").absoluteString, "INPUT_PROBES": "3", "INPUT_MAX-AVG-MS": "100"])
    #expect(slow.failure?.contains("average latency") == true)
    let p95 = try await run(["INPUT_URL": server.url("/slow/150").absoluteString, "INPUT_PROBES": "3", "INPUT_MAX-P95-MS": "120"])
    #expect(p95.failure?.contains("p95 latency") == true)
    #expect(p95.failure?.contains("average latency") == false)
    let fine = try await run(["INPUT_URL": server.url("/slow/50").absoluteString, "INPUT_PROBES": "4", "INPUT_CONCURRENCY": "2", "INPUT_MAX-P95-MS": "1000"])
    #expect(fine.outputs["healthy"] == "true")
    #expect(Double(fine.outputs["avg-ms"] ?? "") ?? 0 >= 50)
  }

  @Test func expectedJSONProvesTheNewVersionAnswers() async throws {
    let ok = try await run(["INPUT_URL": server.url("/version/1.2.3").absoluteString, "INPUT_EXPECTED-JSON": "version=1.2.3\nready=true", "INPUT_PROBES": "2"])
    #expect(ok.outputs["healthy"] == "true")
    let old = try await run(["INPUT_URL": server.url("/version/1.2.2").absoluteString, "INPUT_EXPECTED-JSON": "version=1.2.3", "INPUT_WAIT-TIMEOUT": "2s"])
    #expect(old.failure?.contains("JSON version is '1.2.2', expected '1.2.3'") == true)
  }

  @Test func resetsCountAsFailuresWithAReason() async throws {
    let r = try await run(["INPUT_URL": server.url("/reset").absoluteString, "INPUT_WAIT-TIMEOUT": "2s"])
    #expect(r.failure?.contains("connection reset or closed without an answer") == true)
  }

  @Test func headerValuesAreMaskedAndSent() async throws {
    let log = MemoryLogSink()
    let r = try await run(
      ["INPUT_URL": server.url("/headers").absoluteString, "INPUT_HEADERS": "Authorization: Bearer s3cr3t-token\nX-Env: prod", "INPUT_EXPECTED-BODY": "s3cr3t-token", "INPUT_PROBES": "1"], log: log)
    #expect(r.outputs["healthy"] == "true")
    #expect(log.lines.contains("::add-mask::Bearer s3cr3t-token"))
  }

  @Test(arguments: [
    (["INPUT_URL": "not a url"], "url"),
    (["INPUT_URL": "ftp://x/y"], "url"),
    (["INPUT_URL": "http://127.0.0.1:1/", "INPUT_EXPECTED-STATUS": "399-200"], "expected-status"),
    (["INPUT_URL": "http://127.0.0.1:1/", "INPUT_MIN-SUCCESS-RATE": "101"], "min-success-rate"),
    (["INPUT_URL": "http://127.0.0.1:1/", "INPUT_WAIT-TIMEOUT": "soon"], "wait-timeout"),
    (["INPUT_URL": "http://127.0.0.1:1/", "INPUT_PROBES": "0"], "probes"),
    (["INPUT_URL": "http://127.0.0.1:1/", "INPUT_EXPECTED-BODY": "/[bad/"], "expected-body"),
    (["INPUT_URL": "http://127.0.0.1:1/", "INPUT_HEADERS": "NoColon"], "headers"),
  ])
  func badInputNamesTheInput(_ env: [String: String], _ input: String) async {
    await #expect { _ = try await runStage(HealthCheckStage.self, env) } throws: { ($0 as? InputError)?.input == input }
  }
}
