import ActionsCore
import Basics
import Foundation
import GantryCLI
import HTTP
import OCI
import TestSupport
import Testing

@testable import Stages

/// Release trains played by the hostile party: a manifest a pull request wrote, inputs that
/// name one repository twice, registries that refuse every request.
@Suite("release trains against a hostile party", .serialized)
struct ReleaseHostileTests {
  let workspace: TempDirectory

  init() throws {
    workspace = try TempDirectory(prefix: "gantry-release-hostile")
  }

  func manifestFile(_ text: String, name: String = "release.yml") throws -> String {
    try text.write(toFile: workspace.file(name), atomically: true, encoding: .utf8)
    return name
  }

  /// Two fresh registries, staging and production, and a client of each (its side named).
  func registries() async throws -> (staging: RegistryProcess, production: RegistryProcess, src: RegistryClient, dst: RegistryClient) {
    let staging = try await RegistryProcess()
    let production = try await RegistryProcess()
    return (staging, production, testRegistryClient(staging.host, side: "source"), testRegistryClient(production.host))
  }

  /// Runs the binary's entry point; its exit status and the `::error` lines it printed.
  func run(_ env: [String: String]) async -> (status: Int32, errors: [String]) {
    let out = MemoryLogSink()
    let status = await GantryCLIHarness.run(env.merging(["GITHUB_WORKSPACE": workspace.path]) { a, _ in a }, out)
    return (status, out.lines.filter { $0.hasPrefix("::error") })
  }

  /// `tags` as one string is split like the `tags` input: before, that form had no cap
  /// (8 KiB of `a,b,…` is 4,000 tags per image, 4 million tag writes in a release of 1,000),
  /// though the list form is capped at 100.
  @Test func tagsGivenAsOneStringAreCappedAsAListIs() async throws {
    let many = (0..<101).map { "t\($0)" }.joined(separator: ",")
    for text in [
      "images:\n  - source: 127.0.0.1:9/b:1\n    target: 127.0.0.1:9/d\n    tags: \"\(many)\"\n",
      "images:\n  - source: 127.0.0.1:9/b:1\n    target: 127.0.0.1:9/d\n    tags: \(many)\n",
      "{\"images\": [{\"source\": \"127.0.0.1:9/b:1\", \"target\": \"127.0.0.1:9/d\", \"tags\": \"\(many)\"}]}",
    ] {
      let path = try manifestFile(text)
      let r = await run(["INPUT_STAGE": "promote", "INPUT_MANIFEST": path])
      #expect(r.status == 2, "\(r.errors)")
      #expect(r.errors.count == 1 && r.errors.first?.contains("input 'manifest': images[0].tags has more than 100 tags") == true, "\(r.errors)")
    }
    // 100 still pass the reader (nothing here reaches a registry: port 9 of loopback at most).
    let hundred = (0..<100).map { "t\($0)" }.joined(separator: ",")
    #expect(try ReleaseManifest.parse(Array("images:\n  - source: 127.0.0.1:9/b:1\n    target: 127.0.0.1:9/d\n    tags: \"\(hundred)\"\n".utf8)).images.first?.tags.count == 100)
  }

  /// A registry's port with leading zeros is the same port (curl reads `:05000` as 5000), so
  /// the same repository: before, `127.0.0.1:05000/app` and `127.0.0.1:5000/app` were two
  /// targets of one release, both claiming its environment tag and its history.
  @Test func oneRepositorySpeltTwoWaysIsOneTarget() async throws {
    for (a, b) in [("127.0.0.1:9/d", "127.0.0.1:09/d"), ("127.0.0.1:9/d", "127.0.0.1:00009/d"), ("LOCALHOST:9/d", "localhost:009/d")] {
      let path = try manifestFile("images:\n  - source: 127.0.0.1:9/a:1\n    target: \(a)\n  - source: 127.0.0.1:9/b:1\n    target: \(b)\n")
      let r = await run(["INPUT_STAGE": "promote", "INPUT_MANIFEST": path, "INPUT_ENVIRONMENT": "production"])
      #expect(r.status == 2, "\(a) and \(b): \(r.errors)")
      #expect(r.errors.first?.contains("images[0] and images[1] both promote to \(a.lowercased()): a release takes one image per target repository") == true, "\(r.errors)")
    }
    // https' own port written out is the same server too (two names, one repository).
    let https = try manifestFile("images:\n  - source: 127.0.0.1:9/a:1\n    target: ghcr.io/acme/d\n  - source: 127.0.0.1:9/b:1\n    target: ghcr.io:443/acme/d\n")
    let r = await run(["INPUT_STAGE": "promote", "INPUT_MANIFEST": https, "INPUT_ENVIRONMENT": "production"])
    #expect(r.status == 2 && r.errors.first?.contains("images[0] and images[1] both promote to ghcr.io:443/acme/d: a release takes one") == true, "\(r.errors)")
    #expect(try Reference(parsing: "127.0.0.1:0443/a").description == "127.0.0.1:443/a")
    #expect(try Reference(parsing: "[::1]:05000/a:1").description == "[::1]:5000/a:1")
  }

  /// Rollback of a release reads its targets from the same inputs as promote: the same caps
  /// (1,000 images) and one image per target repository (two items of one repository took two
  /// leases of one environment in one run).
  @Test func rollbackTargetsAreCappedAndOneEachAsPromote() async throws {
    let rollback = ["INPUT_STAGE": "rollback", "INPUT_ENVIRONMENT": "production", "INPUT_RELEASE-ID": "r1"]
    let many = (0...1000).map { "127.0.0.1:9/svc-\($0)" }.joined(separator: "\n")
    let capped = await run(rollback.merging(["INPUT_PROMOTE-IMAGES": many]) { $1 })
    #expect(capped.status == 2 && capped.errors.first?.contains("input 'promote-images': more than 1000 images") == true, "\(capped.errors)")
    for targets in ["127.0.0.1:9/svc\n127.0.0.1:9/svc", "127.0.0.1:9/svc\n127.0.0.1:9/other\n127.0.0.1:09/svc:1.0"] {
      let twice = await run(rollback.merging(["INPUT_PROMOTE-IMAGES": targets]) { $1 })
      #expect(twice.status == 2, "\(twice.errors)")
      #expect(twice.errors.first?.contains("input 'promote-images': ") == true && twice.errors.first?.contains("both name 127.0.0.1:9/svc") == true, "\(twice.errors)")
    }
    let https = await run(rollback.merging(["INPUT_PROMOTE-IMAGES": "ghcr.io/acme/svc\nghcr.io:443/acme/svc"]) { $1 })
    #expect(https.status == 2 && https.errors.first?.contains("lines 1 and 2 both name ghcr.io:443/acme/svc") == true, "\(https.errors)")
  }

  /// A registry that answers 429 to every request, for ever: each request waits out its own
  /// retries (up to 30 s each), so a release of 1,000 images asked for hours. Once the origin
  /// has refused everything for `giveUpAfter` (2 min; 3 s here), every further request fails
  /// at once, and the release stops naming it.
  @Test(.timeLimit(.minutes(2))) func aRegistryRefusingEveryRequestStopsTheReleaseSoon() async throws {
    let staging = try await RegistryProcess()
    let production = try await RegistryProcess()
    let src = testRegistryClient(staging.host, side: "source")
    let count = 24
    for i in 0..<count { _ = try await ImageFactory(client: src, repository: "svc-\(i)").pushImage(tag: "1.0.0", layerSizes: [512]) }
    // The first manifest GET starts a limited period that never ends; every answer says "1 s".
    let proxy = try await RateLimitProxy(upstreamPort: staging.port, throttleAt: 1, retryAfter: 1e9, retryAfterValue: "1")
    defer { proxy.stop() }
    var policy = RateLimitPolicy()
    policy.giveUpAfter = .seconds(3)
    let connections = Connections(rateLimits: RateLimits(policy: policy)) { CurlTransport.shared($0) }
    let list = (0..<count).map { "\(proxy.host)/svc-\($0):1.0.0 -> \(production.host)/prod/svc-\($0)" }.joined(separator: "\n")
    let r = try await runStage(
      PromoteStage.self, ["INPUT_PROMOTE-IMAGES": list, "INPUT_ENVIRONMENT": "production", "GITHUB_WORKSPACE": workspace.path], connections: connections)
    let failure = try #require(r.failure)
    #expect(failure.contains("validation failed for \(count) of \(count) images"), "\(failure)")
    #expect(failure.contains("\(proxy.host) has answered every request with HTTP 429 or 503 for "), "\(failure)")
    // The error names the first ten images (a release of 1,000 failing ones made one line of
    // 200 KB); the summary has every one.
    #expect(failure.contains("[9] \(production.host)/prod/svc-9: ") && !failure.contains("[10] "), "\(failure)")
    #expect(failure.contains(" | and 14 more (the step summary lists every image and why); nothing was copied and no tag moved"), "\(failure)")
    let summary = r.summary.render()
    for i in 0..<count { #expect(summary.contains("| \(i) | `\(production.host)/prod/svc-\(i)`"), "\(i)") }
    let refused = try await proxy.log().filter { $0.status == 429 }.count
    // Before: every request of every image made its 4 attempts (192 refusals here), and a
    // release of 1,000 images at Retry-After: 30 asked for hours.
    #expect(refused < 4 * count, "\(refused) refused requests")
    #expect(r.outputs["digests"] == nil)
    for i in 0..<count { #expect(try await testRegistryClient(production.host).resolve("prod/svc-\(i)", "production") == nil) }
  }

  /// Giving up on a registry that refuses everything stops a run from asking on for hours, but
  /// not what a failure must put back: here the environment tag's PUT starts 6 s of 429s
  /// (Retry-After: 1, give-up after 1.5 s), the PUT fails, and the tag moved before it is put
  /// back once the registry answers again, and the failed promotion recorded. Without the
  /// exemption (``RateLimits/unwinding``) the put-back failed at once, given up on, and
  /// `stable` stayed at the image that failed.
  @Test(.timeLimit(.minutes(1))) func whatAFailureMovedIsPutBackThroughARegistryRefusingForLong() async throws {
    let (staging, production, src, dst) = try await registries()
    let old = try await ImageFactory(client: src, repository: "svc").pushImage(tag: "0.9.0", layerSizes: [512], labels: ["v": "0.9"]).digest
    let new = try await ImageFactory(client: src, repository: "svc").pushImage(tag: "1.0.0", layerSizes: [512], labels: ["v": "1.0"]).digest
    func promote(_ tag: String, target: String, connections: Connections? = nil) async throws -> StageResult {
      let env = [
        "INPUT_SOURCE": "\(staging.host)/svc:\(tag)", "INPUT_TARGET": "\(target)/prod/svc", "INPUT_ENVIRONMENT": "production", "INPUT_TAGS": "stable",
        "GITHUB_WORKSPACE": workspace.path,
      ]
      if let connections { return try await runStage(PromoteStage.self, env, connections: connections) }
      return try await runStage(PromoteStage.self, env)
    }
    #expect(try await promote("0.9.0", target: production.host).failure == nil)
    let proxy = try await RateLimitProxy(upstreamPort: production.port, throttleOn: "^PUT /v2/prod/svc/manifests/production$", retryAfter: 6, retryAfterValue: "1")
    defer { proxy.stop() }
    var policy = RateLimitPolicy()
    policy.giveUpAfter = .milliseconds(1500)
    let connections = Connections(rateLimits: RateLimits(policy: policy)) { CurlTransport.shared($0) }
    let failure: String
    do {
      let r = try await promote("1.0.0", target: proxy.host, connections: connections)
      failure = r.failure ?? "promoted"
    } catch let e as StageFailure { failure = e.message }
    #expect(failure.contains("\(proxy.host)/prod/svc:stable restored to \(old.short)"), "\(failure)")
    #expect(try await dst.resolve("prod/svc", "stable")?.digest == old)
    #expect(try await dst.resolve("prod/svc", "production")?.digest == old)
    // The registry refused for a while, and the environment tag's PUT was refused throughout.
    let log = try await proxy.log()
    #expect(log.contains { $0.method == "PUT" && $0.path == "/v2/prod/svc/manifests/production" && $0.status == 429 })
    #expect(!log.contains { $0.method == "PUT" && $0.path == "/v2/prod/svc/manifests/production" && $0.status == 201 })
    // The promotion is recorded as failed (the closing record was written through the refusals too).
    let records = try await History(client: dst, repository: "prod/svc", environment: "production").entries().entries
    #expect(records.contains { $0.record.state == .failed && $0.record.digest == new }, "\(records.map(\.record.state))")
  }

  /// A release where one image was already live (its digest unchanged: no lease, no record):
  /// rolling the release back restores the others and leaves that one where it was, which is
  /// what it pointed at before the release. Before, the rollback refused the whole release
  /// ("no completed promotion of release r2"): an incident's rollback needed the target list
  /// edited first.
  @Test func rollbackOfAReleaseLeavesTheImagesItDidNotChange() async throws {
    let (staging, production, src, dst) = try await registries()
    var old: [String: Digest] = [:]
    var new: [String: Digest] = [:]
    for n in ["a", "b"] {
      old[n] = try await ImageFactory(client: src, repository: "svc-\(n)").pushImage(tag: "0.9.0", layerSizes: [512], labels: ["v": "0.9"]).digest
      new[n] = try await ImageFactory(client: src, repository: "svc-\(n)").pushImage(tag: "1.0.0", layerSizes: [512], labels: ["v": "1.0"]).digest
    }
    func release(_ a: String, _ b: String, _ id: String) -> [String: String] {
      [
        "INPUT_PROMOTE-IMAGES": "\(staging.host)/svc-a:\(a) -> \(production.host)/prod/svc-a\n\(staging.host)/svc-b:\(b) -> \(production.host)/prod/svc-b",
        "INPUT_ENVIRONMENT": "production", "INPUT_RELEASE-ID": id, "INPUT_TAGS": "live", "GITHUB_WORKSPACE": workspace.path,
      ]
    }
    #expect(try await runStage(PromoteStage.self, release("0.9.0", "0.9.0", "r1")).failure == nil)
    // r2 changes svc-a only: svc-b's 0.9.0 is live already.
    #expect(try await runStage(PromoteStage.self, release("1.0.0", "0.9.0", "r2")).failure == nil)
    #expect(try await dst.resolve("prod/svc-a", "production")?.digest == new["a"])
    let targets = "\(production.host)/prod/svc-a\n\(production.host)/prod/svc-b"
    let r = try await runStage(
      RollbackStage.self, ["INPUT_PROMOTE-IMAGES": targets, "INPUT_ENVIRONMENT": "production", "INPUT_RELEASE-ID": "r2", "GITHUB_WORKSPACE": workspace.path])
    #expect(try await dst.resolve("prod/svc-a", "production")?.digest == old["a"])
    #expect(try await dst.resolve("prod/svc-b", "production")?.digest == old["b"])
    let map = try JSONDecoder().decode([String: String].self, from: Data((r.outputs["digests"] ?? "").utf8))
    #expect(map == ["\(production.host)/prod/svc-a": old["a"]?.description, "\(production.host)/prod/svc-b": old["b"]?.description], "\(map)")
    #expect(r.summary.render().contains("not changed by release r2"), "\(r.summary.render())")
    // svc-b's live image was not the release's: it is not quarantined by its rollback.
    let records = try await History(client: dst, repository: "prod/svc-b", environment: "production").entries().entries
    #expect(!records.contains { $0.record.state == .rolledBack }, "\(records.map(\.record.state))")
    // A release id no target knows is still refused whole, nothing changed.
    // (A refusal is the stage's failure with its summary of why, not a thrown error.)
    let unknown = try await runStage(
      RollbackStage.self, ["INPUT_PROMOTE-IMAGES": targets, "INPUT_ENVIRONMENT": "production", "INPUT_RELEASE-ID": "r9", "GITHUB_WORKSPACE": workspace.path])
    #expect(unknown.failure?.hasPrefix("rollback of release r9: 2 of 2 images cannot be rolled back") == true, "\(unknown.failure ?? "")")
    // r5 changes svc-a only; then r6 moves svc-b: rolling r5 back would leave svc-b on an image
    // live since the release, not before it. Refused whole, nothing changed.
    var forced = release("1.0.0", "0.9.0", "r5")
    forced["INPUT_FORCE"] = "true"  // svc-a's 1.0.0 was rolled back from production with r2
    #expect(try await runStage(PromoteStage.self, forced).failure == nil)
    var onlyB = release("1.0.0", "1.0.0", "r6")
    onlyB["INPUT_PROMOTE-IMAGES"] = "\(staging.host)/svc-b:1.0.0 -> \(production.host)/prod/svc-b"
    #expect(try await runStage(PromoteStage.self, onlyB).failure == nil)
    let refused = try await runStage(
      RollbackStage.self, ["INPUT_PROMOTE-IMAGES": targets, "INPUT_ENVIRONMENT": "production", "INPUT_RELEASE-ID": "r5", "GITHUB_WORKSPACE": workspace.path]
    ).failure
    #expect(refused?.contains("[1] \(production.host)/prod/svc-b: the release has no record here, and ") == true, "\(refused ?? "")")
    #expect(refused?.contains("after the release began: it changed since") == true, "\(refused ?? "")")
    #expect(try await dst.resolve("prod/svc-a", "production")?.digest == new["a"])
    #expect(try await dst.resolve("prod/svc-b", "production")?.digest == new["b"])
  }

  /// A manifest (a file a pull request can change) that tags an image with a history record's
  /// tag overwrote the record: the rollback after it had nothing to go back to. With the tag of
  /// the referrers fallback index (`sha256-<hex>`), it overwrote the index the quarantine check
  /// reads. Both namespaces are Gantry's own: refused (exit 2) before any request.
  @Test func aManifestCannotTagOverTheHistory() async throws {
    let (staging, production, src, dst) = try await registries()
    let old = try await ImageFactory(client: src, repository: "svc-a").pushImage(tag: "0.9.0", layerSizes: [512], labels: ["v": "0.9"])
    _ = try await ImageFactory(client: src, repository: "svc-a").pushImage(tag: "1.0.0", layerSizes: [512], labels: ["v": "1.0"])
    let first = try await runStage(
      PromoteStage.self,
      [
        "INPUT_PROMOTE-IMAGES": "\(staging.host)/svc-a:0.9.0 -> \(production.host)/prod/svc-a", "INPUT_ENVIRONMENT": "production", "INPUT_RELEASE-ID": "r1",
        "GITHUB_WORKSPACE": workspace.path,
      ])
    #expect(first.failure == nil)
    let records = try await dst.tags("prod/svc-a").filter { $0.hasPrefix("gantry-production-") }
    let record = try #require(records.last)
    let index = "sha256-" + old.digest.description.dropFirst("sha256:".count)
    for (i, tag) in [record, index].enumerated() {
      let path = try manifestFile(
        "images:\n  - source: \(staging.host)/svc-a:1.0.0\n    target: \(production.host)/prod/svc-a\n    tags: [1.0.0, \(tag)]\n", name: "over\(i).yml")
      let r = await run(["INPUT_STAGE": "promote", "INPUT_MANIFEST": path, "INPUT_ENVIRONMENT": "production", "INPUT_RELEASE-ID": "r2"])
      #expect(r.status == 2, "\(tag): \(r.errors)")
      #expect(r.errors.first?.contains("input 'manifest': images[0].tags: '\(tag)': names starting with ") == true, "\(r.errors)")
    }
    // The record is still a record, and production still at 0.9.0.
    let entries = try await History(client: dst, repository: "prod/svc-a", environment: "production").entries()
    #expect(entries.entries.contains { $0.tag == record } && entries.skipped.isEmpty, "\(entries.skipped.map(\.description))")
    #expect(try await dst.resolve("prod/svc-a", "production")?.digest == old.digest)
    // The step's own tags and rollback's are held to the same rule.
    for env in [
      ["INPUT_STAGE": "promote", "INPUT_SOURCE": "\(staging.host)/svc-a:1.0.0", "INPUT_TARGET": "\(production.host)/prod/svc-a", "INPUT_TAGS": record],
      ["INPUT_STAGE": "rollback", "INPUT_TARGET": "\(production.host)/prod/svc-a", "INPUT_ENVIRONMENT": "production", "INPUT_TAGS": index],
    ] {
      let r = await run(env)
      #expect(r.status == 2 && r.errors.first?.contains("input 'tags': '") == true, "\(r.errors)")
    }
    // Rolling back `to` a record's tag made the record artifact the live "image".
    let to = await run(["INPUT_STAGE": "rollback", "INPUT_TARGET": "\(production.host)/prod/svc-a", "INPUT_ENVIRONMENT": "production", "INPUT_TO": record])
    #expect(to.status == 2 && to.errors.first?.contains("input 'to': '\(record)': names starting with gantry- are reserved for history records") == true, "\(to.errors)")
    #expect(try await dst.resolve("prod/svc-a", "production")?.digest == old.digest)
  }

  /// The job matrix's last job trusts no earlier job: pins (`release-digests`) naming a digest
  /// the validate job never saw — copied to the target by a tampered copy job — are validated
  /// again by every gate before any tag moves, and a pin for a target the manifest does not
  /// name changes nothing.
  @Test func theFinishingJobValidatesEveryPinnedDigestAgain() async throws {
    let (staging, production, src, dst) = try await registries()
    let good = try await ImageFactory(client: src, repository: "svc").pushImage(tag: "1.0.0", layerSizes: [512], labels: ["org.opencontainers.image.revision": "abc"])
    // An image without the label the release requires, pushed to both sides by digest.
    let bad = try await ImageFactory(client: src, repository: "svc").pushImage(tag: "evil", layerSizes: [256], labels: ["x": "y"])
    let copied = try await runStage(PromoteStage.self, ["INPUT_SOURCE": "\(staging.host)/svc:evil", "INPUT_TARGET": "\(production.host)/prod/svc:evil"])
    #expect(copied.failure == nil)
    #expect(try await dst.resolve("prod/svc", bad.digest.description)?.digest == bad.digest)
    let path = try manifestFile(
      "images:\n  - source: \(staging.host)/svc:1.0.0\n    target: \(production.host)/prod/svc\n    required-labels: [org.opencontainers.image.revision]\n")
    func phase(_ p: String, _ pins: String) -> [String: String] {
      [
        "INPUT_MANIFEST": path, "INPUT_ENVIRONMENT": "production", "INPUT_RELEASE-ID": "m1", "INPUT_RELEASE-PHASE": p, "INPUT_RELEASE-DIGESTS": pins,
        "GITHUB_WORKSPACE": workspace.path,
      ]
    }
    let validated = try await runStage(PromoteStage.self, phase("validate", "").filter { $0.key != "INPUT_RELEASE-DIGESTS" })
    #expect(validated.outputs["digests"] == "{\"\(production.host)/prod/svc\":\"\(good.digest)\"}")
    let forged = "{\"\(production.host)/prod/svc\":\"\(bad.digest)\",\"\(production.host)/prod/other\":\"\(bad.digest)\"}"
    let finished = try await runStage(PromoteStage.self, phase("finish", forged))
    let failure = try #require(finished.failure)
    #expect(failure.contains("validation failed for 1 of 1 images") && failure.contains("org.opencontainers.image.revision"), "\(failure)")
    #expect(try await dst.resolve("prod/svc", "production") == nil)
    #expect(try await dst.resolve("prod/other", "production") == nil)
  }

  /// An intent record nobody could have written now — dated 2099, or with a lease to 9999 —
  /// sorted as the youngest run holding the environment, and every promotion and rollback
  /// after it waited for it for ever (a step without `timeout` until the job's 6 h). Such an
  /// intent is no run's: recorded abandoned, and the release goes on.
  @Test(.timeLimit(.minutes(2))) func anIntentFromTheFutureHoldsNoLease() async throws {
    let (staging, production, src, dst) = try await registries()
    let image = try await ImageFactory(client: src, repository: "svc").pushImage(tag: "1.0.0", layerSizes: [512])
    let other = try await ImageFactory(client: dst, repository: "prod/svc").pushImage(tag: "old", layerSizes: [256])
    let details = History.Details(operation: "promote", previous: nil, version: "6.6.6", tags: ["production"], source: nil)
    let future = History(
      client: dst, repository: "prod/svc", environment: "production", run: HistoryRun(runURL: "https://example.invalid/run", actor: nil, sha: nil),
      clock: FixedClock(date: Date(timeIntervalSince1970: 4_102_444_800)))  // 2100-01-01
    let intent = try await future.append(.inProgress, other.descriptor, details, intent: nil)
    let r = await run([
      "INPUT_STAGE": "promote", "INPUT_PROMOTE-IMAGES": "\(staging.host)/svc:1.0.0 -> \(production.host)/prod/svc", "INPUT_ENVIRONMENT": "production",
      "INPUT_TIMEOUT": "20s",
    ])
    #expect(r.status == 0, "\(r.errors)")
    #expect(try await dst.resolve("prod/svc", "production")?.digest == image.digest)
    let entries = try await History(client: dst, repository: "prod/svc", environment: "production").entries().entries
    #expect(entries.contains { $0.record.state == .abandoned && $0.record.intent == intent.tag && $0.record.reason?.contains("later than any run could date it now") == true })
    // A lease written to run until 9999 ends a day after its intent at the latest.
    let record = PromotionRecord(
      environment: "production", state: .inProgress, digest: other.digest, previousDigest: nil, version: nil, tags: ["production"], source: nil,
      time: Date(timeIntervalSince1970: 1_700_000_000), leaseExpires: Date(timeIntervalSince1970: 253_402_300_799))
    #expect(HistoryRules.leaseEnd(HistoryEntry(tag: "t", record: record), timeout: 600) == Date(timeIntervalSince1970: 1_700_086_400))
  }

  /// The job matrix passes the validate job's `digests` to every later job as one input, and
  /// Linux execs no environment string over 128 KiB: 1,000 images of ECR-length names made
  /// ~150 KiB of pins, and the copy jobs could not start ("Argument list too long") after the
  /// validate job passed. The validate phase refuses such a release before any request.
  @Test func pinsTooLongForAStepInputAreRefusedBeforeTheJobMatrix() async throws {
    let long = String(repeating: "x", count: 60)
    let images = (0..<1000).map { "  - source: 127.0.0.1:9/a:1\n    target: 127.0.0.1:9/\(long)-\($0)\n" }.joined()
    let path = try manifestFile("images:\n" + images)
    let r = await run(["INPUT_STAGE": "promote", "INPUT_MANIFEST": path, "INPUT_RELEASE-PHASE": "validate"])
    #expect(r.status == 2, "\(r.errors)")
    let expected =
      "input 'manifest': the release's pins (the `digests` output the later jobs take as `release-digests`) would be 149 KiB, "
      + "more than one step input can hold (128 KiB with its name, Linux's limit): split the 1000 images into smaller releases"
    #expect(r.errors.first?.contains(expected) == true, "\(r.errors)")
    // The bound is the kernel's: the largest pins exec, one byte more does not.
    for (extra, status) in [(0, Int32(0)), (1, Int32(-1))] {
      let value = String(repeating: "a", count: ReleaseSettings.maxPinsBytes + extra)
      let ran = try? runCommand("/bin/true", [], environment: ["INPUT_RELEASE-DIGESTS": value])
      #expect((ran?.status ?? -1) == status, "\(extra)")
    }
    // The pins' size as computed is the output's.
    let settingsPins = "{\"127.0.0.1:9/a\":\"sha256:\(String(repeating: "0", count: 64))\"}"
    #expect(settingsPins.utf8.count == 1 + "127.0.0.1:9/a".utf8.count + ReleaseSettings.pinOverhead)
  }
}
