import ActionsCore
import Foundation
import OCI
import TestSupport
import Testing

@testable import Stages

/// `deployment: true`: promote and rollback record GitHub deployments, against real registries
/// and the GitHub API stand-in (Tests/Fixtures/github_api.py) over a real socket.
@Suite("GitHub deployments of promote and rollback", .serialized)
struct DeploymentTests: DeploymentSuite {
  let world: DeploymentWorld

  init() async throws { world = try await DeploymentWorld() }

  func environment(sha: String, run: String, _ extra: [String: String] = [:]) -> [String: String] {
    [
      "INPUT_TARGET": "\(production.host)/app", "INPUT_ENVIRONMENT": "production", "INPUT_DEPLOYMENT": "true", "INPUT_ENVIRONMENT-URL": "https://app.example.com",
      "INPUT_GITHUB-TOKEN": api.token, "GITHUB_REPOSITORY": "acme/app", "GITHUB_API_URL": api.apiURL(), "GITHUB_SHA": sha, "GITHUB_RUN_ID": run,
    ].merging(extra) { $1 }
  }

  /// Pushes `version` to staging (unless given) and promotes it with `deployment: true`.
  func promote(_ version: String, sha: String, run: String, existing: Digest? = nil, log: MemoryLogSink = MemoryLogSink()) async throws -> (Digest, StageResult) {
    var digest = existing
    if digest == nil { digest = try await ImageFactory(client: testRegistryClient(staging.host), repository: "app").pushImage(tag: version, layerSizes: [3000]).digest }
    let d = try #require(digest)
    let r = try await runStage(
      PromoteStage.self, environment(sha: sha, run: run, ["INPUT_SOURCE": "\(staging.host)/app@\(d)", "INPUT_TAGS": version, "INPUT_VERSION": version]), log: log)
    return (d, r)
  }

  /// The same digest promoted from one commit to two repositories (two steps of one job): the
  /// second reused the first's deployment, so the Environments page showed one image; each is
  /// now its own deployment, and a re-run of either still finds its own.
  @Test func theSameDigestInAnotherRepositoryIsAnotherDeployment() async throws {
    let (digest, r) = try await promote("1.0.0", sha: first, run: "41")
    #expect(r.outputs["deployment-id"] == "1001")
    let mirror = try await runStage(
      PromoteStage.self,
      environment(sha: first, run: "41", ["INPUT_TARGET": "\(production.host)/mirror", "INPUT_SOURCE": "\(staging.host)/app@\(digest)", "INPUT_TAGS": "1.0.0"]))
    #expect(mirror.outputs["deployment-id"] == "1002")
    #expect(try await promote("1.0.0", sha: first, run: "41", existing: digest).1.outputs["deployment-id"] == "1001")
    let (deployments, _) = try api.deployments()
    #expect(deployments.count == 2)
  }

  @Test func promoteCreatesOneDeploymentWithStatusesInOrderAndAReRunReusesIt() async throws {
    let log = MemoryLogSink()
    let (digest, r) = try await promote("1.0.0", sha: first, run: "41", log: log)
    #expect(r.failure == nil)
    #expect(r.outputs["deployment-id"] == "1001")
    #expect(r.summary.render().contains("| GitHub deployment | 1001 to production: success |"), "\(r.summary.render())")

    var (deployments, statuses) = try api.deployments()
    #expect(deployments.count == 1)
    let d = try #require(deployments.first)
    #expect(d["ref"] as? String == first)
    #expect(d["environment"] as? String == "production")
    #expect(d["task"] as? String == "deploy")
    #expect(d["auto_merge"] as? Bool == false)
    #expect((d["required_contexts"] as? [Any])?.isEmpty == true)
    let payload = try #require(d["payload"] as? [String: Any])
    #expect(payload["digest"] as? String == digest.description)
    #expect(payload["image"] as? String == "\(production.host)/app@\(digest)")
    #expect(payload["tags"] as? [String] == ["1.0.0", "production"])
    #expect(payload["run"] as? String == "https://github.com/acme/app/actions/runs/41")
    #expect(states(statuses, of: 1001) == ["in_progress", "success"])
    for s in statuses {
      #expect(s["log_url"] as? String == "https://github.com/acme/app/actions/runs/41")
      #expect(s["environment_url"] as? String == "https://app.example.com")
    }

    // A re-run (same commit, environment and digest) finds the deployment instead of adding one.
    let (_, again) = try await promote("1.0.0", sha: first, run: "41", existing: digest, log: log)
    #expect(again.failure == nil)
    #expect(again.outputs["deployment-id"] == "1001")
    (deployments, statuses) = try api.deployments()
    #expect(deployments.count == 1)
    #expect(states(statuses, of: 1001) == ["in_progress", "success", "in_progress", "success"])
    #expect(try await api.requests().contains { $0.hasPrefix("GET /repos/acme/app/deployments?") && $0.contains("sha=\(first)") })
    #expect(!log.lines.contains { $0.contains(api.token) })
  }

  /// A promotion stopped (its timeout, a cancelled run) while its tags move: the deployment's
  /// last status says how it ended, not `in_progress` for ever.
  @Test func aStoppedPromotionStillClosesItsDeployment() async throws {
    _ = try await promote("1.0.0", sha: first, run: "41")
    let next = try await ImageFactory(client: testRegistryClient(staging.host), repository: "app").pushImage(tag: "1.1.0", layerSizes: [3100]).digest
    let proxy = try await FaultProxy(upstreamPort: production.port, hold: .init("PUT", "/manifests/production$"))
    defer { proxy.stop() }
    let env = environment(sha: second, run: "42", ["INPUT_TARGET": "\(proxy.host)/app", "INPUT_SOURCE": "\(staging.host)/app@\(next)", "INPUT_TAGS": "1.1.0"])
    let run = Task { try await runStage(PromoteStage.self, env) }
    try await proxy.waitUntilHeld()
    run.cancel()
    try await proxy.release()
    _ = await run.result
    let live = try await testRegistryClient(production.host).resolve("app", "production")?.digest
    let (_, statuses) = try api.deployments()
    #expect(states(statuses, of: 1002) == ["in_progress", live == next ? "success" : "failure"])
  }

  /// A tag move refused midway: the deployment's failure says what went back and what did not
  /// (it said "the tags did not move" though the new version tag stayed moved), and the intent's
  /// record gives the restore's own words.
  @Test func aRefusedTagMoveSaysInItsDeploymentWhatWentBack() async throws {
    let (live, _) = try await promote("1.0.0", sha: first, run: "41")
    let next = try await ImageFactory(client: testRegistryClient(staging.host), repository: "app").pushImage(tag: "1.1.0", layerSizes: [3100]).digest
    let proxy = try await FaultProxy(upstreamPort: production.port, deny: .init("PUT", "/manifests/production$"))
    defer { proxy.stop() }
    let env = environment(sha: second, run: "42", ["INPUT_TARGET": "\(proxy.host)/app", "INPUT_SOURCE": "\(staging.host)/app@\(next)", "INPUT_TAGS": "1.1.0"])
    let error = await #expect(throws: StageFailure.self) { _ = try await runStage(PromoteStage.self, env) }
    #expect(error?.message.contains("\(proxy.host)/app:1.1.0 NOT restored: it did not exist before") == true, "\(String(describing: error))")
    #expect(try await testRegistryClient(production.host).resolve("app", "production")?.digest == live)
    let (_, statuses) = try api.deployments()
    let last = statuses.last { $0["deployment"] as? Int == 1002 }
    #expect(last?["state"] as? String == "failure")
    #expect(last?["description"] as? String == "promotion failed: 1 tag put back, 1 NOT restored (see the run)", "\(String(describing: last))")
    let records = try await History(client: testRegistryClient(production.host), repository: "app", environment: "production").entries().entries
    let failed = try #require(records.first { $0.record.state == .failed })
    let reason = failed.record.reason ?? ""
    #expect(reason.contains("NOT restored: it did not exist before") && !reason.contains("Failed(failure:"), "\(reason)")
  }

  @Test func rollbackMarksTheRolledBackDeploymentFailedAndTheRestoredOneSuccessful() async throws {
    let (good, _) = try await promote("1.0.0", sha: first, run: "41")
    let (bad, r2) = try await promote("1.1.0", sha: second, run: "42")
    #expect(r2.outputs["deployment-id"] == "1002")

    // The rollback runs in the bad release's run (its commit, its run id).
    let log = MemoryLogSink()
    let r = try await runStage(RollbackStage.self, environment(sha: second, run: "42", ["INPUT_REASON": "health check failed"]), log: log)
    #expect(r.outputs["digest"] == good.description)
    #expect(r.outputs["rolled-back-digest"] == bad.description)
    #expect(r.outputs["deployment-id"] == "1003")
    // The summary names both, as promote's does (before, a rollback's said nothing of them).
    #expect(
      r.summary.render().contains("GitHub deployment 1003 (deploy:rollback) to production: success; deployment 1002 of the bad image marked failure"), "\(r.summary.render())")

    let (deployments, statuses) = try api.deployments()
    #expect(deployments.count == 3)
    #expect(states(statuses, of: 1002) == ["in_progress", "success", "failure"])
    let marked = try #require(statuses.last { $0["deployment"] as? Int == 1002 })
    #expect((marked["description"] as? String)?.hasPrefix("rolled back: health check failed") == true)
    // The restored image is a deployment of its own, for the commit that first promoted it.
    let restored = try #require(deployments.last)
    #expect(restored["ref"] as? String == first)
    #expect(restored["task"] as? String == "deploy:rollback")
    #expect((restored["payload"] as? [String: Any])?["digest"] as? String == good.description)
    #expect(states(statuses, of: 1003) == ["in_progress", "success"])
    #expect(states(statuses, of: 1001) == ["in_progress", "success"])
    // The order across deployments: the restored one is live before the bad one is marked.
    let order = statuses.suffix(3).map { "\($0["deployment"] as? Int ?? 0) \($0["state"] as? String ?? "")" }
    #expect(order == ["1003 in_progress", "1002 failure", "1003 success"])
    #expect(!log.lines.contains { $0.contains(api.token) })
  }

  /// Hostile: the rollback's `reason` is text from elsewhere (an issue title, an alert): one
  /// of letters each carrying combining marks is under 140 Characters but over GitHub's 140
  /// code points, so the failure status was refused (422) and the bad deployment stayed
  /// `success`. Descriptions are now cut by code points, at a character boundary.
  @Test func aReasonOfCombiningMarksStillMarksTheDeploymentFailure() async throws {
    _ = try await promote("1.0.0", sha: first, run: "41")
    _ = try await promote("1.1.0", sha: second, run: "42")
    let reason = String(repeating: "e\u{301}\u{302}", count: 100)
    let log = MemoryLogSink()
    let r = try await runStage(RollbackStage.self, environment(sha: second, run: "42", ["INPUT_REASON": reason]), log: log)
    #expect(r.failure == nil)
    let (_, statuses) = try api.deployments()
    #expect(states(statuses, of: 1002) == ["in_progress", "success", "failure"], "\(log.lines)")
    let marked = try #require(statuses.last { $0["deployment"] as? Int == 1002 })
    let description = try #require(marked["description"] as? String)
    #expect(description.unicodeScalars.count <= 140 && description.hasPrefix("rolled back: e\u{301}\u{302}"))
    #expect(description.unicodeScalars.count % 3 == "rolled back: ".count % 3, "cut inside a character: \(description.unicodeScalars.count)")
  }

  @Test func deploymentsOfOtherToolsAreNeverReused() async throws {
    // Another tool's deployment of the same commit and environment: a string payload, and an
    // object without a digest. Neither is Gantry's, so promote makes its own.
    for payload in [#""deployed by hand""#, #"{"image":"elsewhere"}"#] {
      let body = #"{"ref":"\#(first)","environment":"production","payload":\#(payload),"required_contexts":[]}"#
      let r = try runCommand(
        "/usr/bin/curl",
        [
          "-sf", "-X", "POST", "-H", "Authorization: Bearer \(api.token)", "-H", "Accept: application/vnd.github+json", "-d", body,
          "\(api.apiURL())/repos/acme/app/deployments",
        ])
      #expect(r.status == 0)
    }
    let (_, r) = try await promote("1.0.0", sha: first, run: "41")
    #expect(r.outputs["deployment-id"] == "1003")
    let (deployments, statuses) = try api.deployments()
    #expect(deployments.count == 3)
    #expect(states(statuses, of: 1001).isEmpty && states(statuses, of: 1002).isEmpty)
    #expect(states(statuses, of: 1003) == ["in_progress", "success"])
  }

  @Test func aRefusedDeploymentWarnsAndThePromotionGoesOn() async throws {
    try api.refuseDeployments(true)
    let log = MemoryLogSink()
    let (digest, r) = try await promote("1.0.0", sha: first, run: "41", log: log)
    #expect(r.failure == nil)
    #expect(r.outputs["status"] == "promoted")
    #expect(r.outputs["deployment-id"] == "")
    #expect(r.summary.render().contains("| GitHub deployment | not recorded (GitHub refused"), "\(r.summary.render())")
    #expect(try await testRegistryClient(production.host).resolve("app", "production")?.digest == digest)
    #expect(log.lines.contains { $0.hasPrefix("::warning") && $0.contains("deployments: write") && $0.contains("the registry is unaffected") })
    #expect(try api.deployments().deployments.isEmpty)
    #expect(!log.lines.contains { $0.contains(api.token) })
  }

  @Test func theTokenIsMaskedAndNeverPrintedByTheCLI() async throws {
    let digest = try await ImageFactory(client: testRegistryClient(staging.host), repository: "app").pushImage(tag: "1.0.0", layerSizes: [3000]).digest
    let out = MemoryLogSink()
    var env = environment(sha: first, run: "41", ["INPUT_SOURCE": "\(staging.host)/app@\(digest)", "INPUT_TAGS": "1.0.0", "INPUT_STAGE": "promote"])
    env["RUNNER_DEBUG"] = "1"
    let status = await GantryCLIHarness.run(env, out)
    #expect(status == 0)
    let withToken = out.lines.filter { $0.contains(api.token) }
    #expect(withToken == ["::add-mask::\(api.token)"])
    #expect(try api.deployments().deployments.count == 1)
  }

  @Test func badDeploymentInputsStopTheStageBeforeAnyRequest() async throws {
    let digest = try await ImageFactory(client: testRegistryClient(staging.host), repository: "app").pushImage(tag: "1.0.0", layerSizes: [3000]).digest
    let base = environment(sha: first, run: "41", ["INPUT_SOURCE": "\(staging.host)/app@\(digest)", "INPUT_TAGS": "1.0.0"])
    for (change, input) in [
      (["INPUT_ENVIRONMENT-URL": "ftp://app.example.com"], "environment-url"), (["INPUT_ENVIRONMENT": ""], "environment"), (["INPUT_GITHUB-TOKEN": ""], "github-token"),
      (["GITHUB_SHA": ""], "deployment"),
    ] {
      do {
        _ = try await runStage(PromoteStage.self, base.merging(change) { $1 })
        Issue.record("\(change) was accepted")
      } catch let e as InputError {
        #expect(e.input == input, "\(change)")
      }
    }
    #expect(try await api.requests().isEmpty)
    #expect(try await testRegistryClient(production.host).resolve("app", "1.0.0") == nil)
  }
}
