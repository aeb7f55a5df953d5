import ActionsCore
import Basics
import Foundation
import GantryCLI
import OCI
import TestSupport
import Testing

@testable import Stages

/// `promote` of a set (issue 18) against real registries: all or nothing.
@Suite("release trains: promote of a set, all or nothing", .serialized)
struct ReleaseTests {
  let staging: RegistryProcess
  let production: RegistryProcess
  let src: RegistryClient
  let dst: RegistryClient
  let workspace: TempDirectory

  init() async throws {
    staging = try await RegistryProcess()
    production = try await RegistryProcess()
    src = testRegistryClient(staging.host, side: "source")
    dst = testRegistryClient(production.host)
    workspace = try TempDirectory(prefix: "gantry-release")
  }

  /// Pushes `svc-<name>:1.0.0` for each name (three layers each); their digests.
  func pushServices(_ names: [String], tag: String = "1.0.0", labels: [String: String] = ["org.opencontainers.image.revision": "abc"]) async throws -> [String: Digest] {
    var out: [String: Digest] = [:]
    for n in names {
      out[n] = try await ImageFactory(client: src, repository: "svc-\(n)").pushImage(tag: tag, layerSizes: [1024, 2048, 4096], labels: labels).digest
    }
    return out
  }

  func manifestFile(_ text: String, name: String = "release.yml") throws -> String {
    try text.write(toFile: workspace.file(name), atomically: true, encoding: .utf8)
    return name
  }

  func env(_ extra: [String: String], target: String? = nil) -> [String: String] {
    ["GITHUB_WORKSPACE": workspace.path].merging(extra) { $1 }
  }

  @Test func promotesEveryImageMovesEnvironmentTagsAndLinksTheRecords() async throws {
    let digests = try await pushServices(["a", "b", "c"])
    let path = try manifestFile(
      """
      # the release of three services
      images:
        - source: \(staging.host)/svc-a:1.0.0
          target: \(production.host)/prod/svc-a
          tags: [1.0.0, stable]
        - source: "\(staging.host)/svc-b:1.0.0"
          target: \(production.host)/prod/svc-b
          tags:
            - 1.0.0
          required-labels: [org.opencontainers.image.revision]
        - source: \(staging.host)/svc-c:1.0.0   # tags default to the source tag
          target: \(production.host)/prod/svc-c
      """)
    let log = MemoryLogSink()
    let r = try await runStage(
      PromoteStage.self, env(["INPUT_MANIFEST": path, "INPUT_ENVIRONMENT": "production", "INPUT_RELEASE-ID": "train-42", "INPUT_CONCURRENCY": "2"]), log: log)
    #expect(r.failure == nil, "\(log.lines)")
    #expect(r.outputs["status"] == "promoted")
    #expect(r.outputs["release-id"] == "train-42")
    let map = try JSONDecoder().decode([String: String].self, from: Data((r.outputs["digests"] ?? "").utf8))
    #expect(map.count == 3)
    for n in ["a", "b", "c"] {
      let repo = "prod/svc-\(n)"
      #expect(map["\(production.host)/\(repo)"] == digests[n]?.description)
      for tag in ["1.0.0", "production"] + (n == "a" ? ["stable"] : []) {
        #expect(try await dst.resolve(repo, tag)?.digest == digests[n], "\(repo):\(tag)")
      }
      let records = try await History(client: dst, repository: repo, environment: "production").entries().entries
      let completed = records.filter { $0.record.state == .completed }
      #expect(completed.count == 1)
      #expect(completed.first?.record.release == "train-42")
      #expect(completed.first?.record.digest == digests[n])
    }
    let markdown = r.summary.render()
    #expect(markdown.contains("Release train-42: promoted"))
    #expect(markdown.contains("✓ promoted"))
  }

  /// What a release asks each registry, per image (issue 18's benchmark is bound by the
  /// registries' work, not by Gantry's): every blob read once, the config's GET its presence
  /// check too, the config put from memory without asking, the root put only under its tags,
  /// the history's records written without asking, not read back, not indexed (only
  /// rolled-back records are), and no more requests in all than the rules need.
  @Test func aReleaseAsksEachRegistryOnlyWhatItsRulesNeed() async throws {
    let digests = try await pushServices(["a", "b"])
    let source = try await FaultProxy(upstreamPort: staging.port)
    let target = try await FaultProxy(upstreamPort: production.port)
    defer {
      source.stop()
      target.stop()
    }
    let r = try await runStage(
      PromoteStage.self,
      env([
        "INPUT_PROMOTE-IMAGES": "\(source.host)/svc-a:1.0.0 -> \(target.host)/prod/svc-a\n\(source.host)/svc-b:1.0.0 -> \(target.host)/prod/svc-b",
        "INPUT_ENVIRONMENT": "production", "INPUT_RELEASE-ID": "train-9",
      ]))
    #expect(r.failure == nil)
    // A code span (it was escaped into literal backticks).
    #expect(r.summary.render().contains("Environment: `production` (its tags moved last)"), "\(r.summary.render())")
    let read = try await source.requestLines()
    let written = try await target.requestLines()
    for n in ["a", "b"] {
      let digest = try #require(digests[n])
      guard case .image(let config, let layers, _, _) = try await src.manifest("svc-\(n)", digest.description).content else {
        Issue.record("not an image manifest")
        return
      }
      let (from, to) = ("/v2/svc-\(n)/", "/v2/prod/svc-\(n)/")
      for blob in [config] + layers {
        #expect(read.filter { $0 == "GET \(from)blobs/\(blob.digest) 200" }.count == 1, "\(blob.digest) \(read)")
      }
      #expect(!read.contains { $0.hasPrefix("HEAD \(from)blobs/\(config.digest)") }, "\(read)")
      // At most one HEAD per layer and one for the empty config of the records: none for the
      // image's config, none for a record's JSON.
      #expect(written.filter { $0.hasPrefix("HEAD \(to)blobs/") }.count <= layers.count + 1, "\(written)")
      #expect(!written.contains { $0.hasPrefix("HEAD \(to)blobs/\(config.digest)") })
      #expect(!written.contains { $0.hasPrefix("PUT \(to)manifests/\(digest)") }, "\(written)")
      #expect(written.contains("PUT \(to)manifests/production 201"))
      #expect(!written.contains { $0.hasPrefix("GET \(to)manifests/gantry-production-") }, "\(written)")
      #expect(!written.contains { $0.contains("\(to)manifests/sha256-") && !$0.hasPrefix("GET ") }, "\(written)")
      #expect(try await dst.resolve("prod/svc-\(n)", "production")?.digest == digest)
      let records = try await History(client: dst, repository: "prod/svc-\(n)", environment: "production").entries().entries
      #expect(records.map(\.record.state) == [.completed, .inProgress])
      #expect(records.allSatisfy { $0.record.release == "train-9" })
    }
    // Per image of 3 layers into a new environment (2026-11-30): 10 requests at the source
    // (the manifest, the tag list and referrers for attachments, a HEAD per layer, a GET per
    // blob); 34 at the target, 11 of them the history's.
    #expect(read.count <= 2 * 10, "\(read.count): \(read)")
    #expect(written.count <= 2 * 34, "\(written.count): \(written)")
  }

  @Test func oneFailingImageStopsTheWholeReleaseAndEveryFailureIsListed() async throws {
    let good = try await pushServices(["a", "c"])
    _ = try await pushServices(["b"], labels: [:])
    let r = try await runStage(
      PromoteStage.self,
      env([
        "INPUT_PROMOTE-IMAGES": """
        \(staging.host)/svc-a:1.0.0 -> \(production.host)/prod/svc-a 1.0.0
        \(staging.host)/svc-b:1.0.0 -> \(production.host)/prod/svc-b 1.0.0
        \(staging.host)/svc-c:9.9.9 -> \(production.host)/prod/svc-c 1.0.0
        """,
        "INPUT_REQUIRED-LABELS": "org.opencontainers.image.revision", "INPUT_ENVIRONMENT": "production",
      ]))
    let failure = try #require(r.failure)
    #expect(failure.contains("validation failed for 2 of 3 images"), "\(failure)")
    #expect(failure.contains("[1] \(production.host)/prod/svc-b: required labels"), "\(failure)")
    #expect(failure.contains("[2] \(production.host)/prod/svc-c:"), "\(failure)")
    #expect(!failure.contains("[0]"))
    #expect(failure.hasSuffix("nothing was copied and no tag moved"))
    // No `digests`: nothing was promoted (a step run on failure must not read them as live).
    #expect(r.outputs["status"] == "validation failed" && r.outputs["release-id"] != nil)
    #expect(r.outputs["digests"] == nil, "\(r.outputs)")
    // Nothing moved, not even the image that passed.
    for n in ["a", "b", "c"] {
      // Not even history bookkeeping (an intent, the one-time index marker).
      let left = (try? await dst.tags("prod/svc-\(n)")) ?? []
      #expect(left.isEmpty, "\(left)")
    }
    #expect(try await dst.resolve("prod/svc-a", good["a"]!.description) == nil)
    #expect(r.summary.render().contains("Why the release stopped"))
    // Before, the summary said "Environment: `production` (its tags moved last)" of a release
    // that moved nothing.
    #expect(r.summary.render().contains("Environment: `production` (its tags move last, after every copy; no tag moved)"), "\(r.summary.render())")
  }

  @Test func aTagPutRefusedMidwayPutsBackEveryMovedTag() async throws {
    // Before: svc-a and svc-b are live in production at 0.9.0.
    let old = try await pushServices(["a", "b"], tag: "0.9.0")
    let first = try await runStage(
      PromoteStage.self,
      env([
        "INPUT_PROMOTE-IMAGES": "\(staging.host)/svc-a:0.9.0 -> \(production.host)/prod/svc-a\n\(staging.host)/svc-b:0.9.0 -> \(production.host)/prod/svc-b",
        "INPUT_ENVIRONMENT": "production",
      ]))
    #expect(first.failure == nil)
    let new = try await pushServices(["a", "b"])
    // The registry refuses svc-b's production tag: the last phase, after every other tag moved.
    let proxy = try await FaultProxy(upstreamPort: production.port, deny: .init("PUT", "^/v2/prod/svc-b/manifests/production$"))
    defer { proxy.stop() }
    let log = MemoryLogSink()
    let r: Result<StageResult, any Error>
    do {
      r = .success(
        try await runStage(
          PromoteStage.self,
          env([
            "INPUT_PROMOTE-IMAGES": "\(staging.host)/svc-a:1.0.0 -> \(proxy.host)/prod/svc-a\n\(staging.host)/svc-b:1.0.0 -> \(proxy.host)/prod/svc-b",
            "INPUT_ENVIRONMENT": "production", "INPUT_RELEASE-ID": "train-7",
          ]), log: log))
    } catch {
      r = .failure(error)
    }
    guard case .failure(let error as StageFailure) = r else {
      Issue.record("expected a failure, got \(r)")
      return
    }
    let m = error.message
    #expect(m.contains("\(proxy.host)/prod/svc-b:production"), "\(m)")
    #expect(m.contains("\(proxy.host)/prod/svc-a:production restored to \(old["a"]!.short)"), "\(m)")
    #expect(m.contains("\(proxy.host)/prod/svc-b:production unchanged"), "\(m)")
    // 1.0.0 did not exist before: docker-registry refuses to delete tags, and the message says so.
    #expect(m.contains("\(proxy.host)/prod/svc-a:1.0.0 NOT restored: it did not exist before"), "\(m)")
    #expect(try await proxy.faults() == 1)
    #expect(try await dst.resolve("prod/svc-a", "production")?.digest == old["a"])
    #expect(try await dst.resolve("prod/svc-b", "production")?.digest == old["b"])
    // The environment tags moved last: svc-a's 1.0.0 (an other tag) was put before the refusal.
    #expect(try await dst.resolve("prod/svc-a", "1.0.0")?.digest == new["a"])
    // Both leases were closed as failed, linked by the release id.
    for n in ["a", "b"] {
      let records = try await History(client: dst, repository: "prod/svc-\(n)", environment: "production").entries().entries
      let failed = records.filter { $0.record.state == .failed && $0.record.release == "train-7" }
      #expect(failed.count == 1, "\(records.map(\.record.state))")
      // The record gives the restore's words (it held a dump of the error's fields).
      let reason = failed.first?.record.reason ?? ""
      #expect(reason.contains("prod/svc-a:production restored to") && !reason.contains("Failed(failure:"), "\(reason)")
    }
  }

  @Test func rollbackOfAReleaseRestoresEveryImageAndQuarantinesThem() async throws {
    let old = try await pushServices(["a", "b"], tag: "0.9.0")
    let new = try await pushServices(["a", "b"])
    func release(_ tag: String, _ id: String) -> [String: String] {
      env([
        "INPUT_PROMOTE-IMAGES": "\(staging.host)/svc-a:\(tag) -> \(production.host)/prod/svc-a\n\(staging.host)/svc-b:\(tag) -> \(production.host)/prod/svc-b",
        "INPUT_ENVIRONMENT": "production", "INPUT_RELEASE-ID": id,
      ])
    }
    #expect(try await runStage(PromoteStage.self, release("0.9.0", "r1")).failure == nil)
    #expect(try await runStage(PromoteStage.self, release("1.0.0", "r2")).failure == nil)
    let targets = "\(staging.host)/svc-a:1.0.0 -> \(production.host)/prod/svc-a\n\(staging.host)/svc-b:1.0.0 -> \(production.host)/prod/svc-b"
    // Rollback reads only the targets: bare target lines will do (before: "line 1: expected
    // `SOURCE -> TARGET [TAG …]`", though the input said "rollback: its targets").
    let bareTargets = "\(production.host)/prod/svc-a\n\(production.host)/prod/svc-b"
    let r = try await runStage(
      RollbackStage.self, env(["INPUT_PROMOTE-IMAGES": bareTargets, "INPUT_ENVIRONMENT": "production", "INPUT_RELEASE-ID": "r2", "INPUT_REASON": "checkout errors"]))
    let map = try JSONDecoder().decode([String: String].self, from: Data((r.outputs["digests"] ?? "").utf8))
    for n in ["a", "b"] {
      #expect(try await dst.resolve("prod/svc-\(n)", "production")?.digest == old[n])
      #expect(map["\(production.host)/prod/svc-\(n)"] == old[n]?.description)
      let records = try await History(client: dst, repository: "prod/svc-\(n)", environment: "production").entries().entries
      #expect(records.contains { $0.record.state == .rolledBack && $0.record.digest == new[n] && $0.record.release == "r2" && $0.record.reason == "checkout errors" })
    }
    // The release's images are quarantined: promoting release r2's images again is refused for both.
    let again = try await runStage(PromoteStage.self, release("1.0.0", "r3"))
    #expect(again.failure?.contains("validation failed for 2 of 2 images") == true, "\(again.failure ?? "")")
    #expect(again.failure?.contains("not quarantined") == true)
    // Rolling r2 back twice: production is no longer at the release's images; nothing changes,
    // and the summary lists why for each image (before, it was dropped with the error).
    let twice = try await runStage(RollbackStage.self, env(["INPUT_PROMOTE-IMAGES": targets, "INPUT_ENVIRONMENT": "production", "INPUT_RELEASE-ID": "r2"]))
    #expect(twice.failure?.hasPrefix("rollback of release r2: 2 of 2 images cannot be rolled back: [0] ") == true, "\(twice.failure ?? "")")
    #expect(twice.outputs["digests"] == nil)
    let why = twice.summary.render()
    #expect(why.contains("### Why nothing was rolled back\n\n- \\[0\\] \(production.host)/prod/svc-a: production is at "), "\(why)")
    #expect(why.contains("\n- \\[1\\] \(production.host)/prod/svc-b: production is at "), "\(why)")
    #expect(try await dst.resolve("prod/svc-a", "production")?.digest == old["a"])
    // The manifest is a file a pull request can change: `force: true` in it does not lift the
    // quarantine (before, it re-promoted the rolled-back image), nor does `no-clobber: false`
    // open a tag the step keeps. The step's own `force` does.
    let forced = try manifestFile(
      "images:\n  - source: \(staging.host)/svc-a:1.0.0\n    target: \(production.host)/prod/svc-a\n    force: true\n    no-clobber: false\n", name: "forced.yml")
    let forcing = env(["INPUT_MANIFEST": forced, "INPUT_ENVIRONMENT": "production", "INPUT_RELEASE-ID": "r4"])
    for (extra, field) in [([:], "force"), (["INPUT_FORCE": "true", "INPUT_NO-CLOBBER": "true"], "no-clobber")] {
      do {
        let r = try await runStage(PromoteStage.self, forcing.merging(extra) { $1 })
        Issue.record("images[0].\(field) was accepted: \(r.failure ?? "promoted")")
      } catch let e as InputError {
        #expect(e.input == "manifest" && e.message.hasPrefix("images[0].\(field): "), "\(e)")
      }
    }
    #expect(try await dst.resolve("prod/svc-a", "production")?.digest == old["a"])
    let byStep = try await runStage(PromoteStage.self, forcing.merging(["INPUT_FORCE": "true"]) { $1 })
    #expect(byStep.failure == nil, "\(byStep.failure ?? "")")
    #expect(try await dst.resolve("prod/svc-a", "production")?.digest == new["a"])
    // A release after it, rolled back, restores what was live before it: that rolled-back
    // image, forced back in, but not in silence (before, nothing said it was quarantined).
    let next = try await pushServices(["a"], tag: "1.1.0")
    let r5 = env(["INPUT_PROMOTE-IMAGES": "\(staging.host)/svc-a:1.1.0 -> \(production.host)/prod/svc-a", "INPUT_ENVIRONMENT": "production", "INPUT_RELEASE-ID": "r5"])
    #expect(try await runStage(PromoteStage.self, r5).failure == nil)
    #expect(try await dst.resolve("prod/svc-a", "production")?.digest == next["a"])
    let log = MemoryLogSink()
    let back = try await runStage(
      RollbackStage.self, env(["INPUT_PROMOTE-IMAGES": "\(production.host)/prod/svc-a", "INPUT_ENVIRONMENT": "production", "INPUT_RELEASE-ID": "r5"]), log: log)
    #expect(back.failure == nil, "\(back.failure ?? "")")
    #expect(try await dst.resolve("prod/svc-a", "production")?.digest == new["a"])
    let warning = log.lines.filter { $0.contains("Restoring a rolled-back image") }
    #expect(warning.count == 1, "\(log.lines)")
    #expect(warning.first?.contains("\(new["a"]?.short ?? "?"), live before release r5, was rolled back from production (") == true, "\(warning)")
    #expect(back.summary.render().contains(", live again since)"), "\(back.summary.render())")
  }

  @Test func aJobMatrixValidatesOnceCopiesShardsAndFinishesOnce() async throws {
    let digests = try await pushServices(["a", "b", "c"])
    let list = ["a", "b", "c"].map { "\(staging.host)/svc-\($0):1.0.0 -> \(production.host)/prod/svc-\($0)" }.joined(separator: "\n")
    func phase(_ p: String, _ extra: [String: String] = [:]) -> [String: String] {
      env(["INPUT_PROMOTE-IMAGES": list, "INPUT_ENVIRONMENT": "production", "INPUT_RELEASE-ID": "m1", "INPUT_RELEASE-PHASE": p].merging(extra) { $1 })
    }
    let validated = try await runStage(PromoteStage.self, phase("validate"))
    #expect(validated.outputs["status"] == "validated")
    let pins = try #require(validated.outputs["digests"])
    // The source tag moves after validation: the jobs still promote what was validated.
    _ = try await pushServices(["b"])
    // finish before every copy: refused, nothing moves.
    let early = try await runStage(PromoteStage.self, phase("finish", ["INPUT_RELEASE-DIGESTS": pins]))
    #expect(early.failure?.contains("3 of 3 images are not at their target") == true, "\(early.failure ?? "")")
    for shard in ["1/2", "2/2"] {
      let copied = try await runStage(PromoteStage.self, phase("copy", ["INPUT_RELEASE-DIGESTS": pins, "INPUT_SHARD": shard]))
      #expect(copied.outputs["status"] == "copied")
      #expect(try JSONDecoder().decode([String: String].self, from: Data((copied.outputs["digests"] ?? "").utf8)).count == (shard == "1/2" ? 2 : 1))
    }
    for n in ["a", "b", "c"] {
      #expect(try await dst.resolve("prod/svc-\(n)", digests[n]!.description)?.digest == digests[n])
      #expect(try await dst.resolve("prod/svc-\(n)", "production") == nil)
    }
    let finished = try await runStage(PromoteStage.self, phase("finish", ["INPUT_RELEASE-DIGESTS": pins]))
    #expect(finished.failure == nil)
    #expect(finished.outputs["digests"] == pins)
    for n in ["a", "b", "c"] {
      #expect(try await dst.resolve("prod/svc-\(n)", "production")?.digest == digests[n])
    }
    // copy without the pins is bad input.
    await #expect(throws: InputError.self) { try await runStage(PromoteStage.self, phase("copy")) }
  }

  /// A copy job has a shard of the images; its messages still number them as the manifest does.
  @Test func aCopyJobNamesImagesByTheirPlaceInTheManifest() async throws {
    let digests = try await pushServices(["a", "b", "c"])
    let list = ["a", "b", "c"].map { "\(staging.host)/svc-\($0):1.0.0 -> \(production.host)/prod/svc-\($0)" }.joined(separator: "\n")
    func phase(_ p: String, _ extra: [String: String] = [:]) -> [String: String] {
      env(["INPUT_PROMOTE-IMAGES": list, "INPUT_RELEASE-ID": "m2", "INPUT_RELEASE-PHASE": p].merging(extra) { $1 })
    }
    let pins = try #require(try await runStage(PromoteStage.self, phase("validate")).outputs["digests"])
    // images[1] loses its manifest between the plan and the copy jobs.
    let b = try #require(digests["b"])
    let del = try await awaitCommand("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE", "http://\(staging.host)/v2/svc-b/manifests/\(b)"])
    #expect(del.stdout == "202")
    // Shard 2/2 holds images[1] alone.
    let copied = try await runStage(PromoteStage.self, phase("copy", ["INPUT_RELEASE-DIGESTS": pins, "INPUT_SHARD": "2/2"]))
    let failure = try #require(copied.failure)
    #expect(failure.contains("validation failed for 1 of 1 images: [1] \(production.host)/prod/svc-b:"), "\(failure)")
    #expect(copied.summary.render().contains("| 1 | `\(production.host)/prod/svc-b`"), "\(copied.summary.render())")
  }

  @Test func hostileManifestsExitTwoNamingTheField() async throws {
    let cases: [(String, String)] = [
      ("images:\n  - source: a/b:1\n    target: c/d\n    colour: red\n", "images[0].colour is not a field"),
      ("images:\n  - source: a/b:1\n", "images[0].target is missing"),
      ("images:\n  - source: [a, b]\n    target: c/d\n", "images[0].source must be a string"),
      ("images:\n  - source: &x a/b:1\n    target: c/d\n", "line 2: '&' starts YAML"),
      ("images:\n\t- source: a\n", "tabs"),
      ("images: []\n", "no images"),
      ("images:\n  - source: a/b:1\n    target: c/d\n    max-size: lots\n", "images[0].max-size"),
      ("images:\n  - source: a/b:1\n    target: c/d\n    tags: [\"bad tag\"]\n", "images[0].tags"),
      ("{\"images\": [{\"source\": \"a/b:1\", \"target\": \"c/d\", \"force\": {\"x\": 1}}]}", "images[0].force: expected a string"),
      ("{\"images\": [[[[[[[[1]]]]]]]]}", "nested deeper"),
      (
        "{\"images\": [{\"source\": \"a/b:1\", \"target\": \"c/d\"}, {\"source\": \"e/f:1\", \"target\": \"c/d\"}]}",
        "images[0] and images[1] both promote to docker.io/c/d: a release takes one image per target repository"
      ),
      ("images:\n  - source: \(String(repeating: "x", count: 9000))\n    target: c/d\n", "longer than 8192 bytes"),
      ("images:\n" + String(repeating: "  - source: a/b:1\n    target: c/d\n", count: 1001), "more than 1000 images"),
      // Before: "not valid JSON", with neither the reason nor the place.
      ("{\"images\": [{\"source\": \"a/b:1\", \"target\": \"c/d\", \"source\": \"e/f:1\"}]}", "not valid JSON: duplicate member \"source\" at byte 49"),
      ("{\"images\": [" + Array(repeating: "{}", count: 200_000).joined(separator: ",") + "]}", "more than 1000 images"),
      ("{\"images\": [{\"source\": \"a/b:1\", \"target\": \"c/d\", \"tags\": [1]}]}", "images[0].tags: list items must be strings"),
      ("images:\n  - source: a/b:1\n    target: *x\n", "line 3: '*' starts YAML"),
      ("images:\n  - source: !!str a/b:1\n    target: c/d\n", "line 2: '!' starts YAML"),
      ("images:\n  - source: a/b:1\n    target: c/d\n    <<: *base\n", "'<<' is not a field name"),
    ]
    for (text, expected) in cases {
      let path = try manifestFile(text, name: "m.yml")
      let out = MemoryLogSink()
      let status = await GantryCLIHarness.run(["INPUT_STAGE": "promote", "INPUT_MANIFEST": path, "GITHUB_WORKSPACE": workspace.path], out)
      #expect(status == 2, "\(expected): \(out.lines)")
      let errors = out.lines.filter { $0.hasPrefix("::error") }
      #expect(errors.count == 1)
      #expect(errors.first?.hasPrefix("::error title=Invalid input::input '") == true)
      #expect(errors.first?.contains(expected) == true, "\(expected) vs \(errors)")
    }
    // A file too large, one that is not there, a link within the workspace (followed: to the
    // large file) and links outside it or into its .git (not read).
    try Data(count: ReleaseManifest.maxBytes + 1).write(to: URL(fileURLWithPath: workspace.file("big.yml")))
    try FileManager.default.createSymbolicLink(atPath: workspace.file("inside.yml"), withDestinationPath: "big.yml")
    try FileManager.default.createSymbolicLink(atPath: workspace.file("outside.yml"), withDestinationPath: "/etc/hostname")
    try FileManager.default.createDirectory(atPath: workspace.file(".git"), withIntermediateDirectories: true)
    try Data("[core]\n".utf8).write(to: URL(fileURLWithPath: workspace.file(".git/config")))
    try FileManager.default.createSymbolicLink(atPath: workspace.file("git.yml"), withDestinationPath: ".git/config")
    for (file, expected) in [
      ("big.yml", "larger than 1 MiB"), ("absent.yml", "does not exist"), ("inside.yml", "larger than 1 MiB"), ("outside.yml", "outside the workspace, into its .git or to nothing"),
      ("git.yml", "into its .git"),
    ] {
      let out = MemoryLogSink()
      #expect(await GantryCLIHarness.run(["INPUT_STAGE": "promote", "INPUT_MANIFEST": file, "GITHUB_WORKSPACE": workspace.path], out) == 2)
      #expect(out.lines.contains { $0.hasPrefix("::error title=Invalid input::input 'manifest'") && $0.contains(expected) }, "\(out.lines)")
    }
    let out = MemoryLogSink()
    #expect(await GantryCLIHarness.run(["INPUT_STAGE": "promote", "INPUT_PROMOTE-IMAGES": "a/b:1 => c/d"], out) == 2)
    #expect(out.lines.contains { $0.contains("input 'promote-images': line 1") }, "\(out.lines)")
  }

  /// A key or trusted root a manifest names is a file of the checkout, as the manifest is:
  /// before, `cosign-public-key: /etc/shadow` (or a link to it) was read, and a FIFO there
  /// blocked the step for ever, `/dev/zero` filled memory. Every file is read up to a limit.
  @Test func aManifestNamesKeysAndRootsOfTheCheckoutOnly() async throws {
    let key = CosignSigner().publicKeyPEM
    try key.write(toFile: workspace.file("cosign.pub"), atomically: true, encoding: .utf8)
    try FileManager.default.createDirectory(atPath: workspace.file(".git"), withIntermediateDirectories: true)
    try key.write(toFile: workspace.file(".git/key.pub"), atomically: true, encoding: .utf8)
    try Data(count: 4 << 20 + 1).write(to: URL(fileURLWithPath: workspace.file("root.json")))
    #expect(mkfifo(workspace.file("fifo.pub"), 0o600) == 0)
    let outside = try TempDirectory(prefix: "gantry-outside")
    try key.write(toFile: outside.file("cosign.pub"), atomically: true, encoding: .utf8)
    try FileManager.default.createSymbolicLink(atPath: workspace.file("linked.pub"), withDestinationPath: outside.file("cosign.pub"))
    // A link to a runner path that is not there reads as one to a path that is.
    try FileManager.default.createSymbolicLink(atPath: workspace.file("dangling.pub"), withDestinationPath: outside.file("absent.pub"))
    func manifest(_ field: String) -> String {
      "images:\n  - source: 127.0.0.1:9/a:1\n    target: 127.0.0.1:9/b\n    require-signature: true\n    \(field)\n"
    }
    for (field, expected) in [
      ("cosign-public-key: \(outside.file("cosign.pub"))", "input 'manifest': images[0].cosign-public-key: '\(outside.file("cosign.pub"))' is outside the workspace"),
      ("cosign-public-key: ../\(URL(fileURLWithPath: outside.path).lastPathComponent)/cosign.pub", "leads outside the workspace, into its .git or to nothing"),
      ("cosign-public-key: dangling.pub", "'dangling.pub' leads outside the workspace"),
      ("cosign-public-key: linked.pub", "'linked.pub' leads outside the workspace"),
      ("cosign-public-key: .git/key.pub", "into its .git"),
      ("cosign-public-key: fifo.pub", "cannot read 'fifo.pub' (a regular file is needed)"),
      ("cosign-public-key: absent.pub", "'absent.pub' does not exist"),
      ("certificate-identity: a@b.c\n    certificate-oidc-issuer: https://x\n    trusted-root: root.json", "images[0].trusted-root: 'root.json' is larger than 4096 KiB"),
    ] {
      let out = MemoryLogSink()
      let path = try manifestFile(manifest(field), name: "m.yml")
      #expect(await GantryCLIHarness.run(["INPUT_STAGE": "promote", "INPUT_MANIFEST": path, "GITHUB_WORKSPACE": workspace.path], out) == 2, "\(field)")
      let errors = out.lines.filter { $0.hasPrefix("::error") }
      #expect(errors.count == 1 && errors.first?.contains(expected) == true, "\(expected) vs \(out.lines)")
    }
    // The step's own key path outside the workspace, repeated by an image, is the step's file.
    let repeated = MemoryLogSink()
    let stepKey = ["INPUT_COSIGN-PUBLIC-KEY": outside.file("cosign.pub"), "INPUT_REQUIRE-SIGNATURE": "true"]
    let same = try manifestFile(manifest("cosign-public-key: \(outside.file("cosign.pub"))"), name: "m.yml")
    #expect(
      await GantryCLIHarness.run(["INPUT_STAGE": "promote", "INPUT_MANIFEST": same, "GITHUB_WORKSPACE": workspace.path].merging(stepKey) { $1 }, repeated) == 1, "\(repeated.lines)")
    #expect(!repeated.lines.contains { $0.contains("Invalid input") }, "\(repeated.lines)")
    // The checkout's own key is read: the run goes on to the (absent) registry, exit 1.
    let out = MemoryLogSink()
    let path = try manifestFile(manifest("cosign-public-key: cosign.pub"), name: "m.yml")
    #expect(await GantryCLIHarness.run(["INPUT_STAGE": "promote", "INPUT_MANIFEST": path, "GITHUB_WORKSPACE": workspace.path], out) == 1, "\(out.lines)")
    #expect(!out.lines.contains { $0.contains("Invalid input") }, "\(out.lines)")
    // The step's own input reads what it names, but no device and nothing too large.
    for (value, expected) in [("/dev/zero", "cannot read '/dev/zero' (a regular file is needed)"), (workspace.file("root.json"), "is larger than 64 KiB")] {
      let out = MemoryLogSink()
      let env = ["INPUT_STAGE": "promote", "INPUT_SOURCE": "127.0.0.1:9/a:1", "INPUT_TARGET": "127.0.0.1:9/b", "INPUT_COSIGN-PUBLIC-KEY": value]
      #expect(await GantryCLIHarness.run(env, out) == 2)
      #expect(out.lines.contains { $0.contains("input 'cosign-public-key'") && $0.contains(expected) }, "\(out.lines)")
    }
  }

  /// The confinement against every spelling of a path past the checkout (session 13 review):
  /// a sibling whose name starts with the workspace's, `//`, `..` behind a directory link, a
  /// NUL byte, a path line after an inline PEM key, a directory, /proc/self; and a workspace
  /// given with a trailing slash or as a symbolic link still reads its own files.
  @Test func aManifestCannotSpellAPathPastTheCheckout() async throws {
    let key = CosignSigner().publicKeyPEM
    try key.write(toFile: workspace.file("cosign.pub"), atomically: true, encoding: .utf8)
    try FileManager.default.createDirectory(atPath: workspace.file("sub"), withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(atPath: workspace.file("etc"), withDestinationPath: "/etc")
    try FileManager.default.createDirectory(atPath: workspace.file(".git"), withIntermediateDirectories: true)
    try key.write(toFile: workspace.file(".git/key.pub"), atomically: true, encoding: .utf8)
    let sibling = workspace.path + "2"
    try FileManager.default.createDirectory(atPath: sibling, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: sibling) }
    try key.write(toFile: sibling + "/cosign.pub", atomically: true, encoding: .utf8)
    let linkedWorkspace = workspace.path + "-link"
    try FileManager.default.createSymbolicLink(atPath: linkedWorkspace, withDestinationPath: workspace.path)
    defer { try? FileManager.default.removeItem(atPath: linkedWorkspace) }
    func json(_ value: String) -> String {
      // Every scalar escaped: NUL and newlines reach the reader as the JSON gives them.
      let quoted = "\"" + value.unicodeScalars.map { String(format: "\\u%04x", $0.value) }.joined() + "\""
      return "{\"images\": [{\"source\": \"127.0.0.1:9/a:1\", \"target\": \"127.0.0.1:9/b\", \"require-signature\": true, \"cosign-public-key\": \(quoted)}]}"
    }
    let refused = [
      sibling + "/cosign.pub", "/" + workspace.path + "/../" + URL(fileURLWithPath: sibling).lastPathComponent + "/cosign.pub", "etc/hostname", "etc/../.git/key.pub",
      "sub/../.git/key.pub", "\u{0}/etc/hostname", "cosign.pub\u{0}/../.git/key.pub".replacingOccurrences(of: "cosign.pub", with: ".git"), key + "\n/etc/hostname",
      "sub", "/proc/self/cwd/.git/key.pub", "/proc/self/root/etc/hostname",
    ]
    for (workspacePath, value) in [workspace.path, workspace.path + "/", linkedWorkspace].flatMap({ w in refused.map { (w, $0) } }) {
      let out = MemoryLogSink()
      let path = try manifestFile(json(value), name: "m.json")
      #expect(await GantryCLIHarness.run(["INPUT_STAGE": "promote", "INPUT_MANIFEST": path, "GITHUB_WORKSPACE": workspacePath], out) == 2, "\(workspacePath) \(value)")
      let errors = out.lines.filter { $0.hasPrefix("::error") }
      #expect(errors.count == 1 && errors.first?.contains("images[0].cosign-public-key") == true, "\(workspacePath) \(value): \(out.lines)")
    }
    // The checkout's own key, however the workspace is spelled: read (then the absent registry, exit 1).
    for (workspacePath, value) in [
      (workspace.path + "/", "cosign.pub"), (linkedWorkspace, "cosign.pub"), (linkedWorkspace, linkedWorkspace + "//sub/../cosign.pub"), (workspace.path, key + "\ncosign.pub"),
    ] {
      let out = MemoryLogSink()
      let path = try manifestFile(json(value), name: "m.json")
      #expect(await GantryCLIHarness.run(["INPUT_STAGE": "promote", "INPUT_MANIFEST": path, "GITHUB_WORKSPACE": workspacePath], out) == 1, "\(workspacePath) \(value): \(out.lines)")
      #expect(!out.lines.contains { $0.contains("Invalid input") }, "\(workspacePath) \(value): \(out.lines)")
    }
  }
}

/// The manifest reader and the budget, without registries.
@Suite("release manifest and copy budget")
struct ReleaseManifestTests {
  @Test func yamlAndJSONGiveTheSameImages() throws {
    let yaml = try ReleaseManifest.parse(
      Array(
        """
        ---
        images:
        - source: 'r/a:1'   # single quotes
          target: r/prod/a
          tags:
          - "1"
          - latest
          no-clobber: true
          max-size: 10MB
        """.utf8))
    let json = try ReleaseManifest.parse(
      Array(#"{"images": [{"source": "r/a:1", "target": "r/prod/a", "tags": ["1", "latest"], "no-clobber": true, "max-size": "10MB"}]}"#.utf8))
    #expect(yaml == json)
    #expect(yaml.images.first?.overrides == ["no-clobber": "true", "max-size": "10MB"])
    #expect(try ReleaseManifest.parseList(["r/a:1 -> r/prod/a 1 latest"]).images.first?.tags == ["1", "latest"])
  }

  /// Before, a misspelt field got the 29 accepted names to read through; now the one meant.
  @Test(arguments: [("traget", "target"), ("max_size", "max-size"), ("tag", "tags")])
  func aMisspeltFieldNamesTheFieldMeant(_ key: String, _ meant: String) throws {
    #expect { _ = try ReleaseManifest.parse(Array("images:\n- source: r/a:1\n  target: r/b\n  \(key): x\n".utf8)) } throws: {
      "\($0)".contains("images[0].\(key) is not a field of an image; did you mean '\(meant)'? (accepted: source, target, tags, ")
    }
    #expect { _ = try ReleaseManifest.parse(Array("images:\n- source: r/a:1\n  target: r/b\n  colour: red\n".utf8)) } throws: {
      "\($0)".contains("images[0].colour is not a field of an image (accepted: source, target, tags, ")
    }
  }

  @Test func yamlSubsetEdges() throws {
    let m = try ReleaseManifest.parse(
      Array(
        """
        images:   # a comment
        - source: "r/a:1 # not a comment"
          target: r/b
          tags:
          - one
          - 'it''s'
          version: 1.0
        """.utf8))
    #expect(m.images.first?.source == "r/a:1 # not a comment")
    #expect(m.images.first?.tags == ["one", "it's"])
    #expect(m.images.first?.overrides["version"] == "1.0")
    // Flow mappings are refused by line.
    #expect(throws: InputError.self) { try ReleaseManifest.parse(Array("images:\n- {source: r/c, target: r/d}\n".utf8)) }
    #expect(throws: InputError.self) { try ReleaseManifest.parse(Array("images:\n  - source: a\n    target: b\n  x: 1\n".utf8)) }
  }

  @Test(arguments: ["0/2", "3/2", "a/b", "1/0", "1/257", "1", "1/2/3", ""])
  func badShardsAreRefused(_ text: String) {
    #expect(throws: InputError.self) { try ReleaseSettings.shard(text) }
  }

  @Test func pinsMustBeDigests() throws {
    #expect(try ReleaseSettings.pins(#"{"r/a": "sha256:\#(String(repeating: "a", count: 64))"}"#).count == 1)
    for bad in [#"{"r/a": "latest"}"#, #"["sha256:x"]"#, #"{"r/a": 1}"#, "not json"] {
      #expect(throws: InputError.self) { try ReleaseSettings.pins(bad) }
    }
    #expect(!ReleaseSettings.isValidID("a/b") && !ReleaseSettings.isValidID(String(repeating: "x", count: 65)) && ReleaseSettings.isValidID("train-42.1_a"))
  }

  /// The published JSON Schema names exactly the fields the reader accepts.
  @Test func thePublishedSchemaMatchesTheReader() throws {
    let data = try Data(contentsOf: RepoPaths.root.appendingPathComponent("docs/promote-manifest.schema.json"))
    let schema = try JSONDecoder().decode(JSONValue.self, from: data)
    guard case .object(let properties)? = schema["$defs"]?["image"]?["properties"] else {
      Issue.record("no $defs.image.properties")
      return
    }
    #expect(Set(properties.keys) == ReleaseManifest.overridable.union(["source", "target", "tags"]))
  }

  @Test func theBudgetBoundsCopiesPerRegistry() async throws {
    let budget = CopyBudget(limit: 3)
    let peak = Peak()
    try await withThrowingTaskGroup(of: Void.self) { group in
      for i in 0..<30 {
        group.addTask {
          try await budget.withPermits(["src", i % 2 == 0 ? "dst1" : "dst2"]) {
            peak.enter(budget.inUse("src"))
            try await Task.sleep(for: .milliseconds(5))
          }
        }
      }
      try await group.waitForAll()
    }
    #expect(peak.value == 3)
    #expect(budget.inUse("src") == 0)
  }

  final class Peak: @unchecked Sendable {
    let lock = NSLock()
    var value = 0
    func enter(_ n: Int) { lock.withLock { value = max(value, n) } }
  }
}
