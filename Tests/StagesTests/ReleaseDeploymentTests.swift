import ActionsCore
import Foundation
import GitHub
import HTTP
import OCI
import TestSupport
import Testing

@testable import Stages

/// `deployment: true` with a set of images: ONE GitHub deployment of the whole release, against
/// real registries and the GitHub API stand-in (Tests/Fixtures/github_api.py) over a real socket.
@Suite("GitHub deployments of a release", .serialized)
struct ReleaseDeploymentTests: DeploymentSuite {
  let world: DeploymentWorld
  let dst: RegistryClient

  init() async throws {
    world = try await DeploymentWorld()
    dst = testRegistryClient(world.production.host)
  }

  /// Pushes `svc-<name>:<tag>` for each name; their digests.
  func push(_ names: [String], tag: String) async throws -> [String: Digest] {
    var out: [String: Digest] = [:]
    for n in names {
      out[n] = try await ImageFactory(client: testRegistryClient(staging.host, side: "source"), repository: "svc-\(n)").pushImage(tag: tag, layerSizes: [1024, 2048]).digest
    }
    return out
  }

  func images(_ names: [String], tag: String, to host: String? = nil) -> String {
    names.map { "\(staging.host)/svc-\($0):\(tag) -> \(host ?? production.host)/prod/svc-\($0)" }.joined(separator: "\n")
  }

  func env(sha: String, run: String, _ extra: [String: String]) -> [String: String] {
    [
      "INPUT_ENVIRONMENT": "production", "INPUT_DEPLOYMENT": "true", "INPUT_ENVIRONMENT-URL": "https://app.example.com", "INPUT_GITHUB-TOKEN": api.token,
      "GITHUB_REPOSITORY": "acme/app", "GITHUB_API_URL": api.apiURL(), "GITHUB_SHA": sha, "GITHUB_RUN_ID": run,
    ].merging(extra) { $1 }
  }

  func release(_ names: [String], tag: String, id: String, sha: String, run: String, _ extra: [String: String] = [:], log: MemoryLogSink = MemoryLogSink()) async throws -> StageResult {
    try await runStage(PromoteStage.self, env(sha: sha, run: run, ["INPUT_PROMOTE-IMAGES": images(names, tag: tag), "INPUT_RELEASE-ID": id].merging(extra) { $1 }), log: log)
  }

  /// The payload's images, by target repository.
  func listed(_ deployment: [String: Any]) -> [String: [String: Any]] {
    let images = ((deployment["payload"] as? [String: Any])?["images"] as? [[String: Any]]) ?? []
    return Dictionary(images.map { ($0["image"] as? String ?? "", $0) }, uniquingKeysWith: { a, _ in a })
  }

  @Test func aReleaseRecordsOneDeploymentOfEveryImageAndAReRunReusesIt() async throws {
    let digests = try await push(["a", "b", "c"], tag: "1.0.0")
    let log = MemoryLogSink()
    let r = try await release(["a", "b", "c"], tag: "1.0.0", id: "train-1", sha: first, run: "41", log: log)
    #expect(r.failure == nil, "\(log.lines)")
    #expect(r.outputs["status"] == "promoted")
    #expect(r.outputs["deployment-id"] == "1001")

    var (deployments, statuses) = try api.deployments()
    #expect(deployments.count == 1)
    let d = try #require(deployments.first)
    #expect(d["ref"] as? String == first)
    #expect(d["environment"] as? String == "production")
    #expect(d["task"] as? String == "deploy")
    let payload = try #require(d["payload"] as? [String: Any])
    #expect(payload["release"] as? String == "train-1")
    #expect(payload["images_total"] as? Int == 3)
    #expect(payload["run"] as? String == "https://github.com/acme/app/actions/runs/41")
    #expect(payload["tool"] as? String == "gantry")
    #expect(payload["digest"] == nil)
    let images = listed(d)
    #expect(images.count == 3)
    for n in ["a", "b", "c"] {
      let image = try #require(images["\(production.host)/prod/svc-\(n)"], "\(images.keys)")
      #expect(image["digest"] as? String == digests[n]?.description)
      #expect(image["tags"] as? [String] == ["1.0.0", "production"])
      #expect(try await dst.resolve("prod/svc-\(n)", "production")?.digest == digests[n])
    }
    #expect(states(statuses, of: 1001) == ["in_progress", "success"])
    // The status comes after every tag moved: the success is the last request to GitHub.
    #expect(try await api.requests().last == "POST /repos/acme/app/deployments/1001/statuses")
    #expect(r.summary.render().contains("GitHub deployment 1001"))

    // A re-run of the same release (same commit, same id) finds its deployment.
    let again = try await release(["a", "b", "c"], tag: "1.0.0", id: "train-1", sha: first, run: "41")
    #expect(again.failure == nil)
    #expect(again.outputs["deployment-id"] == "1001")
    (deployments, statuses) = try api.deployments()
    #expect(deployments.count == 1)
    #expect(states(statuses, of: 1001) == ["in_progress", "success", "in_progress", "success"])
    // Another release of the same commit is a deployment of its own.
    let other = try await release(["a", "b", "c"], tag: "1.0.0", id: "train-2", sha: first, run: "42")
    #expect(other.outputs["deployment-id"] == "1002")
    #expect(!log.lines.contains { $0.contains(api.token) })
  }

  @Test func aTagPutRefusedMidwayEndsTheDeploymentFailure() async throws {
    _ = try await push(["a", "b"], tag: "0.9.0")
    #expect(try await runStage(PromoteStage.self, ["INPUT_PROMOTE-IMAGES": images(["a", "b"], tag: "0.9.0"), "INPUT_ENVIRONMENT": "production"]).failure == nil)
    _ = try await push(["a", "b"], tag: "1.0.0")
    // The registry refuses svc-b's production tag: the last phase, after every other tag moved.
    let proxy = try await FaultProxy(upstreamPort: production.port, deny: .init("PUT", "^/v2/prod/svc-b/manifests/production$"))
    defer { proxy.stop() }
    do {
      _ = try await runStage(
        PromoteStage.self, env(sha: second, run: "42", ["INPUT_PROMOTE-IMAGES": images(["a", "b"], tag: "1.0.0", to: proxy.host), "INPUT_RELEASE-ID": "train-7"]))
      Issue.record("the release was expected to fail")
    } catch let e as StageFailure {
      #expect(e.message.contains("tags put back"), "\(e.message)")
    }
    #expect(try await proxy.faults() == 1)
    let (deployments, statuses) = try api.deployments()
    #expect(deployments.count == 1)
    #expect(listed(try #require(deployments.first)).count == 2)
    #expect(states(statuses, of: 1001) == ["in_progress", "failure"])
    // What was put back: both production tags (one restored, one never moved); the two new
    // version tags could not be deleted (docker-registry refuses tag deletes).
    let failure = try #require(statuses.last)
    #expect(failure["description"] as? String == "release train-7 failed: 2 tags put back, 2 NOT restored (see the run)")
  }

  /// A failure's status keeps its pointer to the run whatever comes before it: a release id
  /// of 64 characters and what a large release put back left no room for it in GitHub's 140.
  @Test func aFailureStatusKeepsItsPointerToTheRun() async throws {
    let environment = ActionEnvironment(env(sha: second, run: "42", [:]))
    let inputs = try Inputs(declarations: PromoteStage.inputs, environment: environment)
    let context = StageContext(inputs: inputs, environment: environment, log: Log(sink: MemoryLogSink()), connections: .offline)
    let recorder = DeploymentRecorder(settings: try #require(try DeploymentSettings.from(context, environment: "production")), log: context.log)
    let id = String(repeating: "r", count: 64)
    let deployment = try #require(
      await recorder.begin(
        environment: "production", ref: second, task: "deploy", payload: DeploymentPayload(release: id, images: [], run: "42"), description: "release \(id)", sameRunOnly: true))
    await recorder.markFailed(deployment, "rollback of release \(id) failed: 120 tags put back, 115 NOT restored")
    let description = try #require(try api.deployments().1.last?["description"] as? String)
    #expect(description.hasSuffix("(see the run)") && description.unicodeScalars.count == 140, "\(description)")
    #expect(description.hasPrefix("rollback of release \(id) failed: 120 tags put back, 115 NOT"), "\(description)")
  }

  @Test func rollbackOfAReleaseMarksItFailureAndRecordsOneDeploymentOfEveryRestoredImage() async throws {
    let old = try await push(["a", "b"], tag: "0.9.0")
    let new = try await push(["a", "b"], tag: "1.0.0")
    #expect(try await release(["a", "b"], tag: "0.9.0", id: "r1", sha: first, run: "41").outputs["deployment-id"] == "1001")
    #expect(try await release(["a", "b"], tag: "1.0.0", id: "r2", sha: second, run: "42").outputs["deployment-id"] == "1002")

    let log = MemoryLogSink()
    let rollback = env(sha: second, run: "43", ["INPUT_PROMOTE-IMAGES": images(["a", "b"], tag: "1.0.0"), "INPUT_RELEASE-ID": "r2", "INPUT_REASON": "checkout errors"])
    let r = try await runStage(RollbackStage.self, rollback, log: log)
    #expect(r.outputs["deployment-id"] == "1003", "\(log.lines)")
    for n in ["a", "b"] { #expect(try await dst.resolve("prod/svc-\(n)", "production")?.digest == old[n]) }

    let (deployments, statuses) = try api.deployments()
    #expect(deployments.count == 3)
    #expect(states(statuses, of: 1001) == ["in_progress", "success"])
    #expect(states(statuses, of: 1002) == ["in_progress", "success", "failure"])
    let marked = try #require(statuses.last { $0["deployment"] as? Int == 1002 })
    #expect(marked["description"] as? String == "rolled back: checkout errors")
    let restored = try #require(deployments.last)
    #expect(restored["task"] as? String == "deploy:rollback")
    // The images restored were promoted from the first commit (their records say so).
    #expect(restored["ref"] as? String == first)
    let payload = try #require(restored["payload"] as? [String: Any])
    #expect(payload["rolled_back_release"] as? String == "r2")
    #expect(payload["release"] == nil)
    let images = listed(restored)
    #expect(images.count == 2)
    for n in ["a", "b"] {
      let image = try #require(images["\(production.host)/prod/svc-\(n)"])
      #expect(image["digest"] as? String == old[n]?.description)
      #expect(image["digest"] as? String != new[n]?.description)
      #expect(image["tags"] as? [String] == ["production"])
    }
    #expect(states(statuses, of: 1003) == ["in_progress", "success"])
    // The restored images are live before the release is marked: 1003 in progress, 1002 failure, 1003 success.
    let order = statuses.suffix(3).map { "\($0["deployment"] as? Int ?? 0) \($0["state"] as? String ?? "")" }
    #expect(order == ["1003 in_progress", "1002 failure", "1003 success"])
    #expect(r.summary.render().contains("GitHub deployment 1003"))
    #expect(!log.lines.contains { $0.contains(api.token) })
  }

  /// One image of a release rolled back on its own: the release's deployment is marked
  /// failure naming that image, and the rollback records its own deployment of the restored image.
  @Test func rollingBackOneImageOfAReleaseMarksTheReleasesDeployment() async throws {
    let old = try await push(["a", "b"], tag: "0.9.0")
    let new = try await push(["a", "b"], tag: "1.0.0")
    #expect(try await release(["a", "b"], tag: "0.9.0", id: "r1", sha: first, run: "41").outputs["deployment-id"] == "1001")
    #expect(try await release(["a", "b"], tag: "1.0.0", id: "r2", sha: second, run: "42").outputs["deployment-id"] == "1002")

    let log = MemoryLogSink()
    let one = env(sha: second, run: "43", ["INPUT_TARGET": "\(production.host)/prod/svc-a", "INPUT_REASON": "checkout errors"])
    let r = try await runStage(RollbackStage.self, one, log: log)
    #expect(r.failure == nil, "\(log.lines)")
    #expect(try await dst.resolve("prod/svc-a", "production")?.digest == old["a"])
    #expect(try await dst.resolve("prod/svc-b", "production")?.digest == new["b"])

    let (deployments, statuses) = try api.deployments()
    #expect(states(statuses, of: 1001) == ["in_progress", "success"])
    #expect(states(statuses, of: 1002) == ["in_progress", "success", "failure"])
    let marked = try #require(statuses.last { $0["deployment"] as? Int == 1002 })
    #expect(marked["description"] as? String == "\(production.host)/prod/svc-a rolled back: checkout errors")
    let restored = try #require(deployments.last)
    #expect(restored["task"] as? String == "deploy:rollback")
    #expect((restored["payload"] as? [String: Any])?["digest"] as? String == old["a"]?.description)
    #expect(r.outputs["deployment-id"] == "\(restored["id"] as? Int ?? 0)")
  }

  /// Hostile: an API answer that ignores the query lists a deployment of ANOTHER commit whose
  /// payload is this release's exactly. A re-run reused it (marked it in progress and success);
  /// now the commit and task are checked again and the release gets its own deployment.
  @Test func hostileListingOfAnotherCommitsDeploymentIsNotReused() async throws {
    let digests = try await push(["a", "b"], tag: "1.0.0")
    let images: [[String: Any]] = ["a", "b"].map { ["image": "\(production.host)/prod/svc-\($0)", "digest": digests[$0]?.description ?? "", "tags": ["1.0.0", "production"]] }
    try api.plant(
      [["sha": second, "task": "deploy", "payload": ["tool": "gantry", "release": "train-1", "images": images, "images_total": 2] as [String: Any]]], ignoreFilters: true)
    let r = try await release(["a", "b"], tag: "1.0.0", id: "train-1", sha: first, run: "41")
    #expect(r.failure == nil)
    #expect(r.outputs["deployment-id"] == "1002")
    let (deployments, statuses) = try api.deployments()
    #expect(states(statuses, of: 1001).isEmpty)
    #expect(deployments.last?["ref"] as? String == first)
    #expect(states(statuses, of: 1002) == ["in_progress", "success"])
  }

  /// Hostile: a deployment of this commit and task naming this release id, made by someone
  /// else (or an earlier promotion of a reused id) with OTHER digests, a huge `images_total`
  /// and a negative one. A re-run reused it; now only a deployment of the same images at the
  /// same digests is reused, and the odd totals decode without a trap.
  @Test func hostileDeploymentWithOurReleaseIdButOtherDigestsIsNotReused() async throws {
    let digests = try await push(["a", "b"], tag: "1.0.0")
    let bad = "sha256:" + String(repeating: "e", count: 64)
    let forged: [String: Any] = [
      "tool": "gantry", "release": "train-1", "images": [["image": "\(production.host)/prod/svc-a", "digest": bad]], "images_total": 1,
    ]
    var huge = forged
    huge["images_total"] = 1e20
    var negative = forged
    negative["images_total"] = -5
    try api.plant([first, first, first].enumerated().map { i, sha in ["sha": sha, "task": "deploy", "payload": [forged, huge, negative][i]] })
    let log = MemoryLogSink()
    let r = try await release(["a", "b"], tag: "1.0.0", id: "train-1", sha: first, run: "41", log: log)
    #expect(r.failure == nil, "\(log.lines)")
    #expect(r.outputs["deployment-id"] == "1004")
    var (deployments, statuses) = try api.deployments()
    for planted in 1001...1003 { #expect(states(statuses, of: planted).isEmpty) }
    #expect(listed(try #require(deployments.last)).mapValues { $0["digest"] as? String } == ["a", "b"].reduce(into: [:]) { $0["\(production.host)/prod/svc-\($1)"] = digests[$1]?.description })
    // Its own deployment is still found by a re-run.
    #expect(try await release(["a", "b"], tag: "1.0.0", id: "train-1", sha: first, run: "41").outputs["deployment-id"] == "1004")
    (deployments, statuses) = try api.deployments()
    #expect(deployments.count == 4)
  }

  /// Hostile: a deployment the listing cannot decode (an `id` past Int64, an `environment` that
  /// is a number) listed above the release's own. The whole page failed to decode, so a re-run
  /// recorded nothing (a warning, no `deployment-id`); now the unreadable entries are skipped
  /// and the release's deployment is found and reused.
  @Test func unreadableDeploymentsInTheListingAreSkipped() async throws {
    _ = try await push(["a", "b"], tag: "1.0.0")
    #expect(try await release(["a", "b"], tag: "1.0.0", id: "train-1", sha: first, run: "41").outputs["deployment-id"] == "1001")
    try api.plant([["sha": first, "environment": 7], ["sha": first, "id_override": 1e30]], ignoreFilters: true)
    let log = MemoryLogSink()
    let r = try await release(["a", "b"], tag: "1.0.0", id: "train-1", sha: first, run: "41", log: log)
    #expect(r.failure == nil, "\(log.lines)")
    #expect(r.outputs["deployment-id"] == "1001", "\(log.lines)")
    #expect(!log.lines.contains { $0.hasPrefix("::warning") }, "\(log.lines)")
    let (deployments, statuses) = try api.deployments()
    #expect(deployments.count == 3)
    #expect(states(statuses, of: 1001) == ["in_progress", "success", "in_progress", "success"])
  }

  /// Hostile: rolling back svc-a, the newest deployments of its live digest are another tool's
  /// (the same `{digest, image, tags}` shape, no `"tool": "gantry"`) and Gantry's of the same
  /// digest in ANOTHER repository. Each was marked failure; now the release's deployment that
  /// put that digest on svc-a is.
  @Test func hostileRollbackMarksOnlyGantrysDeploymentOfThatRepository() async throws {
    _ = try await push(["a", "b"], tag: "0.9.0")
    let new = try await push(["a", "b"], tag: "1.0.0")
    #expect(try await release(["a", "b"], tag: "0.9.0", id: "r1", sha: first, run: "41").outputs["deployment-id"] == "1001")
    #expect(try await release(["a", "b"], tag: "1.0.0", id: "r2", sha: second, run: "42").outputs["deployment-id"] == "1002")
    let live = new["a"]?.description ?? ""
    try api.plant([
      ["sha": second, "payload": ["digest": live, "image": "\(production.host)/prod/svc-a@\(live)", "tags": ["production"]]],
      ["sha": second, "payload": ["tool": "gantry", "digest": live, "image": "\(production.host)/prod/other@\(live)", "tags": ["production"]]],
    ])
    let log = MemoryLogSink()
    let r = try await runStage(RollbackStage.self, env(sha: second, run: "43", ["INPUT_TARGET": "\(production.host)/prod/svc-a", "INPUT_REASON": "errors"]), log: log)
    #expect(r.failure == nil, "\(log.lines)")
    let (_, statuses) = try api.deployments()
    #expect(states(statuses, of: 1003).isEmpty)
    #expect(states(statuses, of: 1004).isEmpty)
    #expect(states(statuses, of: 1002) == ["in_progress", "success", "failure"])
  }

  /// Hostile: a `deploy:rollback` deployment of the restored images' commit naming this
  /// rollback's release and run (a run URL is easy to guess) but other digests. The rollback
  /// reused it; now only one listing the images it restores, at their digests, is reused.
  @Test func hostileRollbackDeploymentWithOtherDigestsIsNotReused() async throws {
    _ = try await push(["a", "b"], tag: "0.9.0")
    _ = try await push(["a", "b"], tag: "1.0.0")
    #expect(try await release(["a", "b"], tag: "0.9.0", id: "r1", sha: first, run: "41").outputs["deployment-id"] == "1001")
    #expect(try await release(["a", "b"], tag: "1.0.0", id: "r2", sha: second, run: "42").outputs["deployment-id"] == "1002")
    let forged: [String: Any] = [
      "tool": "gantry", "rolled_back_release": "r2", "images": [["image": "\(production.host)/prod/svc-a", "digest": "sha256:" + String(repeating: "e", count: 64)]],
      "images_total": 1, "run": "https://github.com/acme/app/actions/runs/43",
    ]
    try api.plant([["sha": first, "task": "deploy:rollback", "payload": forged]])
    let rollback = env(sha: second, run: "43", ["INPUT_PROMOTE-IMAGES": images(["a", "b"], tag: "1.0.0"), "INPUT_RELEASE-ID": "r2", "INPUT_REASON": "errors"])
    let log = MemoryLogSink()
    let r = try await runStage(RollbackStage.self, rollback, log: log)
    #expect(r.outputs["deployment-id"] == "1004", "\(log.lines)")
    let (_, statuses) = try api.deployments()
    #expect(states(statuses, of: 1003).isEmpty)
  }

  /// Hostile: the newest deployment naming release r2 is not Gantry's promotion of it (it
  /// lists svc-a at a digest that was never live). The rollback of r2 marked that one failure
  /// and left the real one success; now the deployment marked lists what was live.
  @Test func hostileDeploymentNamingTheReleaseIsNotMarkedRolledBack() async throws {
    _ = try await push(["a", "b"], tag: "0.9.0")
    _ = try await push(["a", "b"], tag: "1.0.0")
    #expect(try await release(["a", "b"], tag: "0.9.0", id: "r1", sha: first, run: "41").outputs["deployment-id"] == "1001")
    #expect(try await release(["a", "b"], tag: "1.0.0", id: "r2", sha: second, run: "42").outputs["deployment-id"] == "1002")
    let forged: [String: Any] = [
      "tool": "gantry", "release": "r2", "images": [["image": "\(production.host)/prod/svc-a", "digest": "sha256:" + String(repeating: "e", count: 64)]], "images_total": 1,
    ]
    try api.plant([["sha": second, "task": "deploy", "payload": forged]])
    let rollback = env(sha: second, run: "43", ["INPUT_PROMOTE-IMAGES": images(["a", "b"], tag: "1.0.0"), "INPUT_RELEASE-ID": "r2", "INPUT_REASON": "errors"])
    let log = MemoryLogSink()
    _ = try await runStage(RollbackStage.self, rollback, log: log)
    let (_, statuses) = try api.deployments()
    #expect(states(statuses, of: 1003).isEmpty, "\(log.lines)")
    #expect(states(statuses, of: 1002) == ["in_progress", "success", "failure"])
  }

  /// The job matrix of promote-release.yml: validate and copy jobs record nothing; the finish
  /// job, which moves the tags, records the release's one deployment.
  @Test func onlyTheJobThatMovesTheTagsRecordsTheDeployment() async throws {
    _ = try await push(["a", "b", "c"], tag: "1.0.0")
    func phase(_ p: String, _ extra: [String: String] = [:]) -> [String: String] {
      env(sha: first, run: "41", ["INPUT_PROMOTE-IMAGES": images(["a", "b", "c"], tag: "1.0.0"), "INPUT_RELEASE-ID": "m1", "INPUT_RELEASE-PHASE": p].merging(extra) { $1 })
    }
    let pins = try #require(try await runStage(PromoteStage.self, phase("validate")).outputs["digests"])
    for shard in ["1/2", "2/2"] {
      let copied = try await runStage(PromoteStage.self, phase("copy", ["INPUT_RELEASE-DIGESTS": pins, "INPUT_SHARD": shard]))
      #expect(copied.outputs["status"] == "copied")
      #expect(copied.outputs["deployment-id"] == nil)
    }
    #expect(try await api.requests().isEmpty)
    let finished = try await runStage(PromoteStage.self, phase("finish", ["INPUT_RELEASE-DIGESTS": pins]))
    #expect(finished.failure == nil)
    #expect(finished.outputs["deployment-id"] == "1001")
    let (deployments, statuses) = try api.deployments()
    #expect(deployments.count == 1)
    #expect(listed(try #require(deployments.first)).count == 3)
    #expect(states(statuses, of: 1001) == ["in_progress", "success"])
  }

  @Test func badDeploymentInputsStopAReleaseBeforeAnyRequest() async throws {
    _ = try await push(["a", "b"], tag: "1.0.0")
    let list = images(["a", "b"], tag: "1.0.0")
    func refused<S: Stage>(_ stage: S.Type, _ change: [String: String]) async -> String? {
      do {
        _ = try await runStage(stage, env(sha: first, run: "41", ["INPUT_PROMOTE-IMAGES": list, "INPUT_RELEASE-ID": "r1"].merging(change) { $1 }))
        return nil
      } catch let e as InputError {
        return e.input
      } catch {
        return "\(error)"
      }
    }
    #expect(await refused(PromoteStage.self, ["INPUT_ENVIRONMENT": ""]) == "environment")
    #expect(await refused(PromoteStage.self, ["INPUT_ENVIRONMENT-URL": "ftp://app.example.com"]) == "environment-url")
    #expect(await refused(PromoteStage.self, ["INPUT_RELEASE-PHASE": "validate", "INPUT_GITHUB-TOKEN": ""]) == "github-token")
    #expect(await refused(RollbackStage.self, ["INPUT_GITHUB-TOKEN": ""]) == "github-token")
    #expect(await refused(RollbackStage.self, ["GITHUB_SHA": ""]) == "deployment")
    #expect(try await api.requests().isEmpty)
    #expect(try await dst.resolve("prod/svc-a", "1.0.0") == nil)
  }

  @Test func gitHubFailingOrUnreachableIsAWarningAndTheReleaseLands() async throws {
    let old = try await push(["a", "b"], tag: "0.9.0")
    let new = try await push(["a", "b"], tag: "1.0.0")
    // GitHub answers 500 to every deployments request.
    try api.failDeployments(500)
    let log = MemoryLogSink()
    let r1 = try await release(["a", "b"], tag: "0.9.0", id: "r1", sha: first, run: "41", log: log)
    #expect(r1.failure == nil)
    #expect(r1.outputs["status"] == "promoted")
    #expect(r1.outputs["deployment-id"] == "")
    #expect(log.lines.contains { $0.hasPrefix("::warning title=GitHub deployment::") && $0.contains("the registry is unaffected") })
    #expect(r1.summary.render().contains("not recorded"))
    for n in ["a", "b"] { #expect(try await dst.resolve("prod/svc-\(n)", "production")?.digest == old[n]) }
    // GitHub cannot be reached at all (nothing listens there).
    let closed = try freePort()
    let r2 = try await release(["a", "b"], tag: "1.0.0", id: "r2", sha: second, run: "42", ["GITHUB_API_URL": "http://127.0.0.1:\(closed)"], log: log)
    #expect(r2.failure == nil)
    #expect(r2.outputs["deployment-id"] == "")
    for n in ["a", "b"] { #expect(try await dst.resolve("prod/svc-\(n)", "production")?.digest == new[n]) }
    // The rollback of a release lands the same way.
    let rolledBack = try await runStage(
      RollbackStage.self, env(sha: second, run: "43", ["INPUT_PROMOTE-IMAGES": images(["a", "b"], tag: "1.0.0"), "INPUT_RELEASE-ID": "r2"]), log: log)
    #expect(rolledBack.outputs["deployment-id"] == "")
    for n in ["a", "b"] { #expect(try await dst.resolve("prod/svc-\(n)", "production")?.digest == old[n]) }
    try api.failDeployments(0)
    #expect(try api.deployments().deployments.isEmpty)
    #expect(!log.lines.contains { $0.contains(api.token) })
  }

  /// A release of hundreds of images: the payload is cut to fit (tags left out, then the list
  /// cut with its count kept), and the deployment is still found by the release id, through
  /// the real API stand-in.
  @Test func aLargeReleaseFitsItsPayloadAndIsStillFoundByItsID() async throws {
    func payload(_ count: Int) -> DeploymentPayload {
      DeploymentPayload(
        release: "big-1",
        images: (0..<count).map {
          DeploymentPayload.Image(
            image: "registry.example.com/acme/service-\($0)", digest: "sha256:" + String(repeating: "ab", count: 32), tags: ["1.2.3", "1.2", "1", "production", "stable-\($0)"])
        }, run: "https://github.com/acme/app/actions/runs/41")
    }
    let whole = payload(50)
    #expect(whole.bounded().leftOut == nil)
    #expect(whole.bounded().payload == whole)
    // 400 images fit without their tags.
    let (noTags, note) = payload(400).bounded()
    #expect(note?.contains("digests without tags") == true)
    #expect(noTags.images.count == 400 && noTags.images.allSatisfy { $0.tags == nil })
    // 2000 do not: the first ones are listed, images_total says how many there are.
    let (cut, cutNote) = payload(2000).bounded()
    #expect(cutNote?.contains("images_total: 2000") == true)
    #expect(cut.images.count > 100 && cut.images.count < 2000)
    #expect(cut.imagesTotal == 2000)

    var configuration = GitHubConfiguration(apiURL: try #require(URL(string: api.apiURL())), repository: "acme/app", token: api.token)
    configuration.requestTimeout = .seconds(30)
    let deployments = GitHubDeployments(client: GitHubClient(configuration: configuration, transport: CurlTransport()))
    let created = try await deployments.create(ref: first, environment: "production", task: "deploy", payload: cut, description: "Gantry: release big-1")
    let (stored, _) = try api.deployments()
    let body = try JSONSerialization.data(withJSONObject: try #require(stored.first?["payload"]))
    #expect(body.count <= DeploymentPayload.maxBytes)
    let found = try await deployments.first(environment: "production", sha: first, task: "deploy") { $0.payload?.release == "big-1" }
    #expect(found?.id == created.id)
    #expect(found?.payload?.imagesTotal == 2000)
    #expect(found?.payload?.images.count == cut.images.count)
  }

  @Test func payloadsOfOtherToolsWithAReleaseKeyAreNotGantrys() throws {
    let foreign = #"{"release":"r1","images":[]}"#
    #expect((try? JSONDecoder().decode(DeploymentPayload.self, from: Data(foreign.utf8))) == nil)
    let ours = #"{"release":"r1","images":[{"image":"x/y","digest":"sha256:00"}],"tool":"gantry"}"#
    #expect(try JSONDecoder().decode(DeploymentPayload.self, from: Data(ours.utf8)).release == "r1")
    // Single-image payloads as Gantry has always written them (with "tool") still decode;
    // the same shape without it is another tool's.
    let single = #"{"digest":"sha256:00","image":"x/y@sha256:00","tags":["1.0.0"],"run":"u","tool":"gantry"}"#
    #expect(try JSONDecoder().decode(DeploymentPayload.self, from: Data(single.utf8)) == DeploymentPayload(digest: "sha256:00", image: "x/y@sha256:00", tags: ["1.0.0"], run: "u"))
    let other = #"{"digest":"sha256:00","image":"x/y@sha256:00","tags":["1.0.0"]}"#
    #expect((try? JSONDecoder().decode(DeploymentPayload.self, from: Data(other.utf8))) == nil)
  }
}
