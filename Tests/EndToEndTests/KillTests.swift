import Foundation
import OCI
import TestSupport
import Testing

/// A promotion killed with SIGKILL at each phase, then the next run: the dead run's intent is
/// taken over as `abandoned` once its lease ends, and the history stays consistent.
@Suite("kill -9 during a promotion, then a re-run", .serialized)
struct KillTests {
  enum Phase: String, CaseIterable, Sendable {
    /// Killed while its environment-tag PUT was held: intent written, tag not moved.
    case afterIntent
    /// Killed while its `completed` record PUT was held: the tag already moved.
    case afterTagMove
  }

  @Test(arguments: Phase.allCases) func aKilledPromotionIsAbandonedByTheNextRun(_ phase: Phase) async throws {
    let staging = try await RegistryProcess()
    let production = try await RegistryProcess()
    defer {
      staging.stop()
      production.stop()
    }
    let factory = ImageFactory(client: testRegistryClient(staging.host), repository: "app")
    let v1 = try await factory.pushImage(tag: "1.0.0", layerSizes: [100]).digest
    let v2 = try await factory.pushImage(tag: "2.0.0", layerSizes: [200]).digest
    let v3 = try await factory.pushImage(tag: "3.0.0", layerSizes: [300]).digest
    let dir = try TempDirectory()
    func environment(_ version: String, target: String, run: String) -> [String: String] {
      [
        "PATH": "/usr/bin:/bin", "GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": dir.file("output-\(run)"), "GITHUB_STEP_SUMMARY": dir.file("summary-\(run)"),
        "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/app", "GITHUB_RUN_ID": run, "GANTRY_LEASE_SECONDS": "2",
        "INPUT_STAGE": "promote", "INPUT_SOURCE": "\(staging.host)/app:\(version)", "INPUT_TARGET": "\(target)/app", "INPUT_ENVIRONMENT": "production",
        "INPUT_TAGS": version,
      ]
    }
    let first = try await awaitCommand(RepoPaths.gantryBinary, [], environment: environment("1.0.0", target: production.host, run: "1"))
    #expect(first.status == 0, "\(first.stdout)")

    // The second run goes through a proxy that holds the chosen request; the run is killed
    // while it waits, and the proxy dies with the request (it never reaches the registry).
    let hold = phase == .afterIntent ? FaultProxy.Hold("PUT", "/manifests/production$") : FaultProxy.Hold("PUT", "/manifests/gantry-", nth: 2)
    let proxy = try await FaultProxy(upstreamPort: production.port, hold: hold)
    let doomed = try ChildProcess(RepoPaths.gantryBinary, [], environment: environment("2.0.0", target: proxy.host, run: "2"))
    try await proxy.waitUntilHeld()
    kill(doomed.pid, SIGKILL)
    await doomed.waitForExit()
    #expect(doomed.terminationSignal == SIGKILL)
    proxy.stop()
    let prod = testRegistryClient(production.host)
    #expect(try await prod.resolve("app", "production")?.digest == (phase == .afterIntent ? v1 : v2))

    // The next run, after the dead run's lease (2 s) ended.
    try await Task.sleep(for: .seconds(3))
    let next = try await awaitCommand(RepoPaths.gantryBinary, [], environment: environment("3.0.0", target: production.host, run: "3"))
    #expect(next.status == 0, "\(next.stdout)")
    #expect(next.stdout.contains("https://github.com/acme/app/actions/runs/2") && next.stdout.contains("abandoned"), "\(next.stdout)")
    #expect(try await prod.resolve("app", "production")?.digest == v3)

    let entries = try await History(client: prod, repository: "app", environment: "production").entries().entries
    let abandoned = entries.filter { $0.record.state == .abandoned }
    #expect(abandoned.count == 1)
    #expect(abandoned.first?.record.digest == v2)
    let completed = entries.first { $0.record.state == .completed }
    #expect(completed?.record.digest == v3)
    // What the dead run left live is what the next run records as previous.
    #expect(completed?.record.previousDigest == (phase == .afterIntent ? v1 : v2))
    #expect(HistoryRules.unclosedIntents(entries).isEmpty)
  }
}
