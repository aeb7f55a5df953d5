import ActionsCore
import Foundation
import OCI
import TestSupport
import Testing

@testable import Stages

@Suite("promotion history, rollback and quarantine against a real registry", .serialized)
struct RollbackStageTests {
  let staging: RegistryProcess
  let production: RegistryProcess
  let prod: RegistryClient

  init() async throws {
    staging = try await RegistryProcess()
    production = try await RegistryProcess()
    prod = testRegistryClient(production.host)
  }

  /// Pushes `version` to staging and promotes it into production; returns its digest.
  func release(_ version: String, force: Bool = false, existing: Digest? = nil) async throws -> (Digest, StageResult) {
    var digest = existing
    if digest == nil { digest = try await ImageFactory(client: testRegistryClient(staging.host), repository: "app").pushImage(tag: version, layerSizes: [4000]).digest }
    let r = try await runStage(
      PromoteStage.self,
      [
        "INPUT_SOURCE": "\(staging.host)/app@\(digest!)", "INPUT_TAGS": version, "INPUT_TARGET": "\(production.host)/app", "INPUT_ENVIRONMENT": "production",
        "INPUT_VERSION": version, "INPUT_FORCE": String(force), "GITHUB_REPOSITORY": "acme/app", "GITHUB_RUN_ID": "7", "GITHUB_ACTOR": "octocat",
      ])
    return (digest!, r)
  }

  func rollback(_ extra: [String: String] = [:]) async throws -> StageResult {
    try await runStage(RollbackStage.self, ["INPUT_TARGET": "\(production.host)/app", "INPUT_ENVIRONMENT": "production", "INPUT_REASON": "p95 over budget"].merging(extra) { $1 })
  }

  /// Before, a promotion without `version` recorded none, though a target tag named it: the
  /// history showed no version and rollback's `version` output was empty. Now the one tag that
  /// is a version is recorded; tags naming two versions name none.
  @Test func theVersionATargetTagNamesIsRecorded() async throws {
    let factory = ImageFactory(client: testRegistryClient(staging.host), repository: "app")
    func promote(_ tags: String) async throws {
      let digest = try await factory.pushImage(tag: nil, layerSizes: [4000]).digest
      let r = try await runStage(
        PromoteStage.self,
        ["INPUT_SOURCE": "\(staging.host)/app@\(digest)", "INPUT_TAGS": tags, "INPUT_TARGET": "\(production.host)/app", "INPUT_ENVIRONMENT": "production"])
      #expect(r.failure == nil)
    }
    try await promote("v2.1.0\n2.1\nlatest")
    try await promote("2.2.0-rc.1\n2.2.0")
    try await promote("2.3.0")
    let versions = try await History(client: prod, repository: "app", environment: "production").entries().entries.filter { $0.record.state == .completed }.map(\.record.version)
    #expect(versions == ["2.3.0", nil, "2.1.0"], "\(versions)")
    #expect(try await rollback().outputs["version"] == "")
    #expect(try await rollback().outputs["version"] == "2.1.0")
  }

  @Test func rollbackRestoresThePreviousImageAndQuarantinesTheBadOne() async throws {
    let (v1, _) = try await release("1.0.1")
    let (v2, _) = try await release("1.0.2")
    let (v3, r3) = try await release("1.0.3")
    #expect(r3.outputs["tags"] == "1.0.3\nproduction")
    // Before, the promote summary did not say what the environment held (what a rollback restores).
    #expect(r3.summary.render().contains("| Environment | production (before: `\(v2.short)`) |"), "\(r3.summary.render())")
    #expect(try await prod.resolve("app", "production")?.digest == v3)

    let r = try await rollback()
    #expect(r.outputs["digest"] == v2.description)
    #expect(r.outputs["rolled-back-digest"] == v3.description)
    #expect(r.outputs["version"] == "1.0.2")
    #expect(try await prod.resolve("app", "production")?.digest == v2)
    #expect(r.summary.render().contains("Reason: p95 over budget"))
    // Which repository, and what the rollback means for the next promote (before: "Rolled back
    // production", whichever of a matrix's services it was).
    #expect(r.summary.render().contains("## Rolled back production in \(production.host)/app\n"), "\(r.summary.render())")
    #expect(r.summary.render().contains("`\(v3.short)` is quarantined in production: promote refuses it there unless `force: true`."))

    let entries = try await History(client: prod, repository: "app", environment: "production").entries().entries
    #expect(entries.first?.record.state == .completed)
    #expect(entries.first?.record.digest == v2)
    #expect(entries[1].record.state == .rolledBack)
    #expect(entries[1].record.digest == v3)
    #expect(entries.last { $0.record.state == .inProgress }?.record.runURL == "https://github.com/acme/app/actions/runs/7")
    #expect(entries.last { $0.record.state == .inProgress }?.record.actor == "octocat")
    // Three promotions and the rollback each took the lease with an intent.
    #expect(entries.filter { $0.record.state == .inProgress }.count == 4)
    #expect(entries.filter { $0.record.state == .completed }.allSatisfy { c in entries.contains { $0.tag == c.record.intent && $0.record.state == .inProgress } })

    // v3 is quarantined: promoting it again is refused, and no tag moves.
    let (_, again) = try await release("1.0.3", existing: v3)
    #expect(again.failure?.contains("was rolled back from production (") == true)
    #expect(again.failure?.contains("record gantry-production-") == true)
    #expect(try await prod.resolve("app", "production")?.digest == v2)
    let (_, forced) = try await release("1.0.3", force: true, existing: v3)
    #expect(forced.failure == nil)
    #expect(try await prod.resolve("app", "production")?.digest == v3)

    // Records are plain OCI artifacts: skopeo reads them.
    if let skopeo = which("skopeo") {
      let x = try await awaitCommand(skopeo, ["inspect", "--raw", "--tls-verify=false", "docker://\(production.host)/app:\(entries[0].tag)"])
      #expect(x.stdout.contains(PromotionRecord.artifactType))
      #expect(x.stdout.contains(#""subject""#))
    }

    // history lists them, newest first.
    let h = try await runStage(HistoryStage.self, ["INPUT_TARGET": "\(production.host)/app", "INPUT_ENVIRONMENT": "production"])
    let rows = try JSONSerialization.jsonObject(with: Data(h.outputs["history"]!.utf8)) as! [[String: Any]]
    #expect((rows.first?["record"] as? [String: Any])?["state"] as? String == "completed")
    #expect(rows.count >= 10)
    _ = v1
  }

  @Test func noClobberLetsTheEnvironmentTagMove() async throws {
    _ = try await release("5.0.0")
    let image = try await ImageFactory(client: testRegistryClient(staging.host), repository: "app").pushImage(tag: "5.0.1")
    let r = try await runStage(
      PromoteStage.self,
      [
        "INPUT_SOURCE": "\(staging.host)/app:5.0.1", "INPUT_TARGET": "\(production.host)/app", "INPUT_ENVIRONMENT": "production", "INPUT_NO-CLOBBER": "true",
      ])
    #expect(r.failure == nil)
    #expect(try await prod.resolve("app", "production")?.digest == image.digest)
  }

  @Test func rollbackSkipsImagesThatWereDeleted() async throws {
    let (v1, _) = try await release("2.0.1")
    let (v2, _) = try await release("2.0.2")
    _ = try await release("2.0.3")
    let del = try await awaitCommand("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE", "http://\(production.host)/v2/app/manifests/\(v2)"])
    #expect(del.stdout == "202")
    let log = MemoryLogSink()
    let r = try await runStage(RollbackStage.self, ["INPUT_TARGET": "\(production.host)/app", "INPUT_ENVIRONMENT": "production"], log: log)
    #expect(r.outputs["digest"] == v1.description)
    #expect(log.lines.contains { $0.hasPrefix("::warning::skipped \(v2.short) (2.0.2") && $0.contains("its manifest no longer exists") })
    #expect(r.summary.render().contains("no longer exists"))
  }

  @Test func rollbackWithoutHistoryChangesNothing() async throws {
    let image = try await ImageFactory(client: prod, repository: "app").pushImage(tag: "production")
    let r = try await rollback()
    #expect(r.failure?.contains("no earlier promotion of production recorded in \(production.host)/app; nothing was changed") == true, "\(r.failure ?? "")")
    #expect(r.outputs["digest"] == nil)
    #expect(try await prod.resolve("app", "production")?.digest == image.digest)
    #expect(try await prod.tags("app") == ["production"])
  }

  /// A first release rolled back: before, "no earlier image … is whole and not quarantined",
  /// as if earlier images existed but were damaged.
  @Test func rollbackAfterTheFirstPromotionSaysThereIsNothingEarlier() async throws {
    let (v1, _) = try await release("1.0.0")
    let r = try await rollback()
    #expect(
      r.failure?.contains(
        "only the live image \(v1.short) was ever promoted to production in \(production.host)/app: there is no earlier one to go back to; nothing was changed (`to:` restores") == true,
      "\(r.failure ?? "")")
    // The summary says so too, with what is live and the history (before, none was written).
    let md = r.summary.render()
    #expect(md.contains("## Rollback of production in \(production.host)/app: nothing to restore\n\nLive, left as it is: `\(v1)`"), "\(md)")
    #expect(md.contains("### Recent history of production"))
    #expect(try await prod.resolve("app", "production")?.digest == v1)
    // Before: "'sha256:abc' is not a valid image reference: …", for a digest.
    await #expect { _ = try await rollback(["INPUT_TO": "sha256:abc"]) } throws: {
      "\($0)" == "input 'to': 'sha256:abc' is not a digest: sha256 digests have 64 lower-case hex digits"
    }
  }

  @Test func rollbackToAnExplicitVersionAndDryRun() async throws {
    let (v1, _) = try await release("3.0.1")
    _ = try await release("3.0.2")
    let (v3, _) = try await release("3.0.3")
    let dry = try await rollback(["INPUT_TO": "3.0.1", "INPUT_DRY-RUN": "true"])
    #expect(dry.outputs["digest"] == v1.description)
    #expect(try await prod.resolve("app", "production")?.digest == v3)
    let r = try await rollback(["INPUT_TO": "3.0.1"])
    #expect(r.outputs["digest"] == v1.description)
    #expect(try await prod.resolve("app", "production")?.digest == v1)
    // Back to 3.0.3, which the rollback above quarantined: `to:` restores it, with a warning
    // (before, in silence, though promote refuses that image without force).
    let log = MemoryLogSink()
    let back = try await runStage(RollbackStage.self, ["INPUT_TARGET": "\(production.host)/app", "INPUT_ENVIRONMENT": "production", "INPUT_TO": "3.0.3"], log: log)
    #expect(back.outputs["digest"] == v3.description)
    #expect(
      log.lines.contains { $0.hasPrefix("::warning title=Restoring a rolled-back image::\(production.host)/app:3.0.3 (\(v3.short)) was rolled back from production (") },
      "\(log.lines)")
    #expect(!log.lines.contains { $0.contains("title=Restoring") && $0.contains("3.0.1") })
  }
}
