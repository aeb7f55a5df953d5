import ActionsCore
import Foundation
import HTTP
import OCI
import TestSupport
import Testing

@testable import Stages

/// "Nothing is lost", request by request: a promotion, a release and a rollback are run once
/// through a counting proxy, then once more for every request of that run with exactly that
/// request failing (refused, or done by the registry with the answer lost), each against a
/// repository of its own that holds a previous promotion. Whatever fails, after the run:
/// - the stage failed (or, when the failure was harmless, succeeded completely);
/// - on failure every tag is where it was, or the failure names every tag it could not put
///   back, or — past the point of no return — says the tags moved and history says so;
/// - every tag resolves to a whole image (manifests, children, blobs);
/// - history has no open intent and no `completed` record of a change that did not happen;
/// - the same run without faults then succeeds, and history records it completed.
@Suite("every request of a promotion fails in turn", .serialized, .timeLimit(.minutes(8)))
struct RequestSweepTests {
  let staging: RegistryProcess
  let production: RegistryProcess
  let prod: RegistryClient
  let stage: RegistryClient
  let workspace: TempDirectory

  init() async throws {
    staging = try await RegistryProcess()
    production = try await RegistryProcess()
    prod = testRegistryClient(production.host)
    stage = testRegistryClient(staging.host, side: "source")
    workspace = try TempDirectory(prefix: "gantry-sweep")
  }

  /// One run of a stage: its failure text (nil: it succeeded).
  struct Outcome {
    var failure: String?
    var result: StageResult?
  }

  func run<S: Stage>(_ stage: S.Type, _ env: [String: String]) async -> Outcome {
    do {
      let r = try await runStage(stage, env)
      return Outcome(failure: r.failure, result: r)
    } catch {
      return Outcome(failure: "\(error)", result: nil)
    }
  }

  // MARK: The scenarios

  /// What a scenario sets up, runs and expects.
  struct Scenario: Sendable {
    /// Repositories (in production) the scenario changes, relative to its prefix.
    var repositories: [String]
    /// Pushes what it needs to production directly (the previous state).
    var prepare: @Sendable (_ prefix: String) async throws -> Void
    /// The run under test; `host` is the production registry's address (the proxy's or not),
    /// `source` staging's.
    var act: @Sendable (_ prefix: String, _ host: String, _ source: String, _ retries: Int) async -> Outcome
    /// Tag -> digest expected after a complete run.
    var done: @Sendable (_ prefix: String) -> [String: [String: Digest]]
    /// Whether a fault-free run after a failed one is expected to succeed (a rollback that
    /// succeeded has nothing further to go back to).
    var reRunsAfterSuccess = true
  }

  /// Staging's images: app 1.0.0 and 2.0.0 (an index of two platforms: its children must be
  /// whole wherever a tag names it), svc-a and svc-b 1.0.0 and 2.0.0.
  func pushStaging() async throws -> [String: Digest] {
    var out: [String: Digest] = [:]
    for repo in ["app", "svc-a", "svc-b"] {
      for (i, v) in ["1.0.0", "2.0.0"].enumerated() {
        let factory = ImageFactory(client: stage, repository: repo)
        out["\(repo):\(v)"] =
          repo == "app" && v == "2.0.0"
          ? try await factory.pushIndex(tag: v, platforms: [Platform(os: "linux", architecture: "amd64"), Platform(os: "linux", architecture: "arm64")], layerSizes: [1600]).index.digest
          : try await factory.pushImage(tag: v, layerSizes: [1500 + i * 10, 700], labels: ["v": "\(repo)-\(v)"]).digest
      }
    }
    return out
  }

  func promoteEnv(_ source: String, _ target: String, _ version: String, retries: Int = 0) -> [String: String] {
    [
      "INPUT_SOURCE": source, "INPUT_TARGET": target, "INPUT_TAGS": "\(version)\nlatest", "INPUT_ENVIRONMENT": "production", "GITHUB_REPOSITORY": "acme/app", "GITHUB_RUN_ID": "70",
      "INPUT_RETRIES": String(retries),
    ]
  }

  func single(_ d: [String: Digest]) -> Scenario {
    let (staging, production) = (self.staging.host, self.production.host)
    return Scenario(
      repositories: ["app"],
      prepare: { prefix in
        let r = try await runStage(PromoteStage.self, self.promoteEnv("\(staging)/app:1.0.0", "\(production)/\(prefix)/app", "1.0.0", retries: 2))
        guard r.failure == nil else { throw TestSupportError("set-up failed: \(r.failure ?? "")") }
      },
      act: { prefix, host, source, retries in
        await self.run(PromoteStage.self, self.promoteEnv("\(source)/app:2.0.0", "\(host)/\(prefix)/app", "2.0.0", retries: retries))
      },
      done: { _ in ["app": ["production": d["app:2.0.0"]!, "latest": d["app:2.0.0"]!, "2.0.0": d["app:2.0.0"]!, "1.0.0": d["app:1.0.0"]!]] })
  }

  func releaseEnv(_ source: String, _ host: String, _ prefix: String, _ version: String, retries: Int) -> [String: String] {
    [
      "INPUT_PROMOTE-IMAGES": "\(source)/svc-a:\(version) -> \(host)/\(prefix)/svc-a\n\(source)/svc-b:\(version) -> \(host)/\(prefix)/svc-b",
      "INPUT_ENVIRONMENT": "production", "INPUT_RELEASE-ID": "train-\(version)", "GITHUB_REPOSITORY": "acme/app", "GITHUB_RUN_ID": "71", "INPUT_RETRIES": String(retries),
      "GITHUB_WORKSPACE": workspace.path,
    ]
  }

  func release(_ d: [String: Digest]) -> Scenario {
    let (staging, production) = (self.staging.host, self.production.host)
    return Scenario(
      repositories: ["svc-a", "svc-b"],
      prepare: { prefix in
        let r = try await runStage(PromoteStage.self, self.releaseEnv(staging, production, prefix, "1.0.0", retries: 2))
        guard r.failure == nil else { throw TestSupportError("set-up failed: \(r.failure ?? "")") }
      },
      act: { prefix, host, source, retries in await self.run(PromoteStage.self, self.releaseEnv(source, host, prefix, "2.0.0", retries: retries)) },
      done: { _ in
        [
          "svc-a": ["production": d["svc-a:2.0.0"]!, "2.0.0": d["svc-a:2.0.0"]!, "1.0.0": d["svc-a:1.0.0"]!],
          "svc-b": ["production": d["svc-b:2.0.0"]!, "2.0.0": d["svc-b:2.0.0"]!, "1.0.0": d["svc-b:1.0.0"]!],
        ]
      })
  }

  func rollback(_ d: [String: Digest]) -> Scenario {
    let (staging, production) = (self.staging.host, self.production.host)
    var s = Scenario(
      repositories: ["app"],
      prepare: { prefix in
        for v in ["1.0.0", "2.0.0"] {
          let r = try await runStage(PromoteStage.self, self.promoteEnv("\(staging)/app:\(v)", "\(production)/\(prefix)/app", v, retries: 2))
          guard r.failure == nil else { throw TestSupportError("set-up failed: \(r.failure ?? "")") }
        }
      },
      act: { prefix, host, _, retries in
        await self.run(
          RollbackStage.self,
          [
            "INPUT_TARGET": "\(host)/\(prefix)/app", "INPUT_ENVIRONMENT": "production", "INPUT_TAGS": "latest", "GITHUB_REPOSITORY": "acme/app", "GITHUB_RUN_ID": "72",
            "INPUT_RETRIES": String(retries),
          ])
      },
      done: { _ in ["app": ["production": d["app:1.0.0"]!, "latest": d["app:1.0.0"]!, "2.0.0": d["app:2.0.0"]!, "1.0.0": d["app:1.0.0"]!]] })
    s.reRunsAfterSuccess = false
    return s
  }

  func releaseRollback(_ d: [String: Digest]) -> Scenario {
    let (staging, production) = (self.staging.host, self.production.host)
    var s = Scenario(
      repositories: ["svc-a", "svc-b"],
      prepare: { prefix in
        for v in ["1.0.0", "2.0.0"] {
          let r = try await runStage(PromoteStage.self, self.releaseEnv(staging, production, prefix, v, retries: 2))
          guard r.failure == nil else { throw TestSupportError("set-up failed: \(r.failure ?? "")") }
        }
      },
      act: { prefix, host, _, retries in
        await self.run(
          RollbackStage.self,
          [
            "INPUT_PROMOTE-IMAGES": "\(host)/\(prefix)/svc-a\n\(host)/\(prefix)/svc-b", "INPUT_ENVIRONMENT": "production", "INPUT_RELEASE-ID": "train-2.0.0",
            "GITHUB_REPOSITORY": "acme/app", "GITHUB_RUN_ID": "73", "INPUT_RETRIES": String(retries), "GITHUB_WORKSPACE": self.workspace.path,
          ])
      },
      done: { _ in
        [
          "svc-a": ["production": d["svc-a:1.0.0"]!, "2.0.0": d["svc-a:2.0.0"]!, "1.0.0": d["svc-a:1.0.0"]!],
          "svc-b": ["production": d["svc-b:1.0.0"]!, "2.0.0": d["svc-b:2.0.0"]!, "1.0.0": d["svc-b:1.0.0"]!],
        ]
      })
    s.reRunsAfterSuccess = false
    return s
  }

  // MARK: Reading the state

  /// Every tag of `repository` and its digest, history's records excepted (``entries(_:)``
  /// reads those, and says which are damaged).
  func tags(_ repository: String) async throws -> [String: Digest] {
    let names = ((try? await prod.tags(repository)) ?? []).filter { !$0.hasPrefix("gantry-") }
    let prod = self.prod
    let digests = try await boundedMap(names, concurrency: 8) { try await prod.resolve(repository, $0)?.digest }
    var out: [String: Digest] = [:]
    for (tag, digest) in zip(names, digests) { out[tag] = digest }
    return out
  }

  /// The tags that are not history's own (records, the fallback referrers indexes).
  func plainTags(_ all: [String: Digest]) -> [String: Digest] {
    all.filter { !$0.key.hasPrefix("gantry-") && !$0.key.hasPrefix("sha256-") }
  }

  func entries(_ repository: String, label: String = "") async throws -> [HistoryEntry] {
    let page = try await History(client: prod, repository: repository, environment: "production").entries(limit: 500)
    #expect(page.skipped.isEmpty, "\(label): damaged records in \(repository): \(page.skipped.map(\.tag))")
    return page.entries
  }

  // MARK: The invariants

  /// Checks what the brief asks of a run that failed (or succeeded) at `label`.
  /// Returns whether an intent was left open (only an outage may leave one, and the
  /// failure must name it).
  @discardableResult
  func expectInvariants(
    _ scenario: Scenario, prefix: String, label: String, outcome: Outcome, before: [String: [String: Digest]], recordsBefore: [String: [HistoryEntry]], outage: Bool
  ) async throws -> Bool {
    var leftOpen = false
    let done = scenario.done(prefix)
    for repo in scenario.repositories {
      let path = "\(prefix)/\(repo)"
      let all = try await tags(path)
      let now = plainTags(all)
      let was = before[repo] ?? [:]
      let want = done[repo] ?? [:]
      if outcome.failure == nil {
        for (tag, digest) in want { #expect(now[tag] == digest, "\(label): succeeded, but \(path):\(tag) is at \(now[tag]?.short ?? "nothing"), expected \(digest.short)") }
      } else {
        let text = outcome.failure ?? ""
        let pastNoReturn = text.contains("the tags moved")
        for (tag, digest) in now where was[tag] != digest {
          let moved = want[tag] == digest
          // A tag that did not exist before cannot be deleted from docker-registry: the
          // failure names it. Past the point of no return, every tag is where it goes.
          // In an outage, putting back fails too: the failure names every such tag.
          let named = (was[tag] == nil || outage) && text.contains("\(tag) NOT restored")
          #expect(moved && (named || pastNoReturn), "\(label): failed (\(text.prefix(600))) but \(path):\(tag) moved from \(was[tag]?.short ?? "nothing") to \(digest.short)")
        }
        for (tag, digest) in was where now[tag] == nil { #expect(Bool(false), "\(label): \(path):\(tag) (was \(digest.short)) is gone") }
      }
      // Every tag names a whole image (and every record is readable: below).
      let store = HistoryStore(client: prod, repository: path)
      for digest in Set(all.values) {
        if let missing = try await store.missingPart(of: digest) { #expect(Bool(false), "\(label): \(path) has a tag on \(digest.short): \(missing)") }
      }
      // History: no open intent, and a completed record only of a change that happened.
      let records = try await entries(path, label: label)
      let open = HistoryRules.unclosedIntents(records)
      var openHere = false
      if outage {
        // The registry is gone: an intent may stay open, and the failure says which.
        for intent in open {
          leftOpen = true
          openHere = true
          #expect(outcome.failure?.contains(intent.tag) == true, "\(label): \(intent.tag) is left open and the failure does not say so: \(outcome.failure ?? "succeeded")")
        }
      } else {
        #expect(open.isEmpty, "\(label): open intents in \(path) after the run: \(open.map(\.tag)) (\(outcome.failure?.prefix(400) ?? "succeeded"))")
      }
      let known = Set((recordsBefore[repo] ?? []).map(\.tag))
      let new = records.filter { !known.contains($0.tag) }
      let completed = new.filter { $0.record.state == .completed }
      let live = now["production"]
      if live == was["production"] {
        #expect(completed.isEmpty, "\(label): \(path):production did not change, yet history has completed records \(completed.map(\.tag))")
      } else {
        // In an outage the record cannot be written: the failure names the intent left
        // open (checked above), and the tags it could not put back.
        let unrecorded = outage && openHere
        #expect(
          (completed.count == 1 && completed.first?.record.digest == live) || (unrecorded && completed.isEmpty),
          "\(label): \(path):production moved to \(live?.short ?? "nothing"); new completed records: \(completed.map { "\($0.tag) \($0.record.digest.short)" })")
      }
    }
    return leftOpen
  }

  /// Runs `scenario` once through `proxy` (in front of production, or of staging), failing
  /// `fault`; checks everything, and converges.
  func once(_ scenario: Scenario, prefix: String, proxy: FaultProxy, fault: FaultProxy.FailAt?, onStaging: Bool = false, retries: Int = 0) async throws -> [FaultProxy.Recorded] {
    try await scenario.prepare(prefix)
    var before: [String: [String: Digest]] = [:]
    var recordsBefore: [String: [HistoryEntry]] = [:]
    for repo in scenario.repositories {
      before[repo] = plainTags(try await tags("\(prefix)/\(repo)"))
      recordsBefore[repo] = try await entries("\(prefix)/\(repo)")
    }
    try await proxy.arm(fault)
    let outcome = await scenario.act(prefix, onStaging ? production.host : proxy.host, onStaging ? proxy.host : staging.host, retries)
    let log = try await proxy.requests()
    let hit = log.first { $0.fault != nil }.map { "\($0.method) \($0.path.prefix(120))" } ?? "no request"
    let label = "\(prefix) [\(fault.map { "request \($0.nth) \($0.mode.rawValue)\($0.outage ? " and after" : "")" } ?? "no fault"): \(hit)]"
    if let fault {
      #expect(log.contains { $0.fault != nil }, "\(label): no request was failed (\(log.count) requests)")
      // A failure worth a retry, retried: harmless.
      if fault.mode == .status500, !fault.outage, retries > 0 { #expect(outcome.failure == nil, "\(label): a retried 500 failed the run: \(outcome.failure ?? "")") }
    } else {
      #expect(outcome.failure == nil, "\(label): \(outcome.failure ?? "")")
    }
    let outage = fault?.outage ?? false
    let leftOpen = try await expectInvariants(scenario, prefix: prefix, label: label, outcome: outcome, before: before, recordsBefore: recordsBefore, outage: outage)
    // Converges: the same run without faults (a rollback that succeeded is done). An intent
    // an outage left open holds the environment until its lease ends (said above).
    // A run that wrote nothing (it failed while reading) left the state of the clean run's
    // start: the run after it is the clean run, already checked.
    let wrote = log.contains { !["GET", "HEAD"].contains($0.method) && ($0.status ?? 0) < 400 }
    if !leftOpen && (wrote || outcome.failure == nil) && (outcome.failure != nil || scenario.reRunsAfterSuccess) {
      let again = await scenario.act(prefix, production.host, staging.host, 0)
      #expect(again.failure == nil, "\(label): the run after it failed: \(again.failure ?? "")")
      let done = scenario.done(prefix)
      for repo in scenario.repositories {
        let now = try await tags("\(prefix)/\(repo)")
        for (tag, digest) in done[repo] ?? [:] { #expect(now[tag] == digest, "\(label): after the run after it, \(prefix)/\(repo):\(tag) is at \(now[tag]?.short ?? "nothing")") }
        let records = try await entries("\(prefix)/\(repo)")
        #expect(HistoryRules.unclosedIntents(records).isEmpty, "\(label): open intents after the run after it")
        #expect(records.first { $0.record.state == .completed }?.record.digest == done[repo]?["production"], "\(label): history's newest completed record is not the live image")
      }
    }
    return log
  }

  /// One way to fail the requests of a sweep: which of them (every `every`th from `first`).
  struct Plan: Sendable {
    var mode: FaultProxy.FaultMode
    var outage = false
    var every = 1
    var first = 1
    var retries = 0
    /// Which requests of the clean run: all, only those that change something (not GET or
    /// HEAD: a lost answer to a read is a refused read), or only the reads.
    var of = Kind.all
    enum Kind: Sendable { case all, writes, reads }
  }

  /// The sweep: the clean run's requests, then each planned request failed in turn (three
  /// runs at a time: each has its own repositories, and each lane its proxy). Returns the
  /// number of runs.
  @discardableResult
  func sweep(_ name: String, _ scenario: Scenario, _ plans: [Plan], onStaging: Bool = false, minimum: Int) async throws -> Int {
    let lanes = 3
    var proxies: [FaultProxy] = []
    defer { for p in proxies { p.stop() } }
    for _ in 0..<lanes { proxies.append(try await FaultProxy(upstreamPort: onStaging ? staging.port : production.port)) }
    let clean = try await once(scenario, prefix: "\(name)-clean", proxy: proxies[0], fault: nil, onStaging: onStaging)
    let count = clean.count
    // The sweep is over the clean run's requests: a change of their number is seen here.
    #expect(count >= minimum, "\(name): the clean run made \(count) requests: \(clean.map { "\($0.method) \($0.path.prefix(100))" })")
    let writes = clean.enumerated().filter { !["GET", "HEAD"].contains($0.element.method) }.map { $0.offset + 1 }
    let reads = Array(1...count).filter { !writes.contains($0) }
    let all = plans.flatMap { plan in
      let numbers = plan.of == .all ? Array(1...count) : plan.of == .writes ? writes : reads
      return stride(from: plan.first - 1, to: numbers.count, by: plan.every).map { numbers[$0] }.map { n in
        (prefix: "\(name)-\(plan.mode.rawValue)\(plan.outage ? "-out" : "")\(plan.retries > 0 ? "-r" : "")-\(n)", fault: FaultProxy.FailAt(n, plan.mode, outage: plan.outage), retries: plan.retries)
      }
    }
    // Plans may pick a request twice (the same mode): each run has a repository of its own.
    var seen = Set<String>()
    let runs = all.filter { seen.insert($0.prefix).inserted }
    // Three lanes, each a proxy of its own and runs one after another.
    let lanesOfRuns = (0..<lanes).map { lane in Array(runs.enumerated().filter { $0.offset % lanes == lane }.map(\.element)) }
    let ready = proxies
    _ = try await boundedMap(Array(zip(ready, lanesOfRuns)), concurrency: lanes) { proxy, lane in
      for r in lane { _ = try await self.once(scenario, prefix: r.prefix, proxy: proxy, fault: r.fault, onStaging: onStaging, retries: r.retries) }
      return lane.count
    }
    return runs.count
  }

  /// The smallest realistic case, swept whole: every request refused, and every request that
  /// changes something done by the registry with its answer lost.
  @Test func aPromotionIntoAnEnvironment() async throws {
    let d = try await pushStaging()
    let runs = try await sweep("single", single(d), [Plan(mode: .denied), Plan(mode: .resetAfter, of: .writes)], minimum: 30)
    #expect(runs >= 40)
  }

  /// Sampled: a 500 retried once passes (every fourth request), and an outage from a request
  /// on (every fifth) leaves every tag where it was, or names it and the intent left open.
  @Test func aPromotionThroughRetriesAndOutages() async throws {
    let d = try await pushStaging()
    try await sweep("retry", single(d), [Plan(mode: .status500, every: 6, retries: 1), Plan(mode: .status500, outage: true, every: 6, first: 4)], minimum: 30)
  }

  /// The source registry fails instead: production must not change at all.
  @Test func aPromotionWithTheSourceFailing() async throws {
    let d = try await pushStaging()
    try await sweep("source", single(d), [Plan(mode: .denied), Plan(mode: .reset, every: 4, first: 2)], onStaging: true, minimum: 5)
  }

  /// Two images as one release, sampled: a failure among the tag moves puts back those that
  /// moved.
  @Test func aReleaseOfTwoImages() async throws {
    let d = try await pushStaging()
    try await sweep(
      "release", release(d), [Plan(mode: .denied, every: 2, of: .writes), Plan(mode: .resetAfter, every: 4, first: 2, of: .writes), Plan(mode: .denied, every: 10, first: 5, of: .reads)], minimum: 40)
  }

  /// A rollback, sampled: its reads are many and alike; every write is failed.
  @Test func aRollback() async throws {
    let d = try await pushStaging()
    try await sweep("rollback", rollback(d), [Plan(mode: .denied, of: .writes), Plan(mode: .resetAfter, every: 2, of: .writes), Plan(mode: .denied, every: 10, first: 5, of: .reads)], minimum: 10)
  }

  /// The rollback of a release (two images), sampled.
  @Test func aRollbackOfARelease() async throws {
    let d = try await pushStaging()
    try await sweep(
      "unrelease", releaseRollback(d), [Plan(mode: .denied, every: 4, of: .writes), Plan(mode: .resetAfter, every: 4, first: 3, of: .writes), Plan(mode: .denied, every: 15, first: 7, of: .reads)],
      minimum: 20)
  }
}

/// The faults the sweep found, one by one, by what they are (not by their number).
@Suite("promote and rollback: the faults the request sweep found", .serialized)
struct RequestSweepFindingsTests {
  let staging: RegistryProcess
  let production: RegistryProcess
  let prod: RegistryClient
  let old: Digest
  let new: Digest

  init() async throws {
    staging = try await RegistryProcess()
    production = try await RegistryProcess()
    prod = testRegistryClient(production.host)
    let stage = testRegistryClient(staging.host, side: "source")
    old = try await ImageFactory(client: stage, repository: "app").pushImage(tag: "1.0.0", layerSizes: [1200]).digest
    new = try await ImageFactory(client: stage, repository: "app").pushImage(tag: "2.0.0", layerSizes: [1300]).digest
    let r = try await promote("1.0.0", host: production.host)
    guard r.failure == nil else { throw TestSupportError("set-up: \(r.failure ?? "")") }
  }

  func promote(_ version: String, host: String) async throws -> RequestSweepTests.Outcome {
    do {
      let r = try await runStage(
        PromoteStage.self,
        [
          "INPUT_SOURCE": "\(staging.host)/app:\(version)", "INPUT_TARGET": "\(host)/app", "INPUT_TAGS": "\(version)\nlatest", "INPUT_ENVIRONMENT": "production",
          "GITHUB_REPOSITORY": "acme/app", "GITHUB_RUN_ID": "80", "INPUT_RETRIES": "0",
        ])
      return .init(failure: r.failure, result: r)
    } catch { return .init(failure: "\(error)", result: nil) }
  }

  func records() async throws -> [HistoryEntry] { try await History(client: prod, repository: "app", environment: "production").entries().entries }

  /// Before: the tags were put all at once and none put back; `latest` stayed on the new image
  /// of a promotion that failed, and history said failed.
  @Test func aRefusedEnvironmentTagPutsTheOtherTagsBack() async throws {
    let proxy = try await FaultProxy(upstreamPort: production.port, deny: .init("PUT", "/manifests/production$"))
    defer { proxy.stop() }
    let r = try await promote("2.0.0", host: proxy.host)
    let failure = try #require(r.failure)
    #expect(failure.contains("\(proxy.host)/app:latest restored to \(old.short)"), "\(failure)")
    #expect(failure.contains("\(proxy.host)/app:production unchanged"), "\(failure)")
    // docker-registry deletes no tag: the new version tag stays, and the failure says so.
    #expect(failure.contains("\(proxy.host)/app:2.0.0 NOT restored: it did not exist before"), "\(failure)")
    #expect(try await prod.resolve("app", "latest")?.digest == old)
    #expect(try await prod.resolve("app", "production")?.digest == old)
    let entries = try await records()
    #expect(HistoryRules.unclosedIntents(entries).isEmpty)
    #expect(!entries.contains { $0.record.state == .completed && $0.record.digest == new })
  }

  /// Before: an error after the intent was written (here the window's tag listing) left it
  /// open, and the next promotion was refused ("another run is promoting") for 10 minutes.
  @Test func aFailureAfterTheIntentClosesIt() async throws {
    let proxy = try await FaultProxy(upstreamPort: production.port, deny: .init("GET", "/tags/list", nth: 2))
    defer { proxy.stop() }
    let r = try await promote("2.0.0", host: proxy.host)
    #expect(r.failure?.contains("DENIED") == true, "\(r.failure ?? "succeeded")")
    #expect(try await proxy.faults() == 1)
    let entries = try await records()
    #expect(HistoryRules.unclosedIntents(entries).isEmpty)
    #expect(entries.contains { $0.record.state == .failed && $0.record.reason?.hasPrefix("nothing moved: the lease could not be taken") == true })
    #expect(try await promote("2.0.0", host: production.host).failure == nil)
    #expect(try await prod.resolve("app", "production")?.digest == new)
  }

  /// Before: one refused write of the `completed` record failed a promotion whose tags had
  /// moved and left its intent open. Now the record is written again under the same tag.
  @Test func aRefusedCompletedRecordIsWrittenAgain() async throws {
    let proxy = try await FaultProxy(upstreamPort: production.port, deny: .init("PUT", "/manifests/gantry-production-", nth: 2))
    defer { proxy.stop() }
    let r = try await promote("2.0.0", host: proxy.host)
    #expect(r.failure == nil, "\(r.failure ?? "")")
    #expect(try await proxy.faults() == 1)
    let entries = try await records()
    #expect(HistoryRules.unclosedIntents(entries).isEmpty)
    #expect(entries.filter { $0.record.state == .completed && $0.record.digest == new }.count == 1)
  }

  /// The registry refuses every record write after the tags moved: past the point of no
  /// return, the failure says what is live and which intent stays open until when.
  @Test func recordsRefusedAfterTheTagsMovedAreSaidPrecisely() async throws {
    let proxy = try await FaultProxy(upstreamPort: production.port, failing: .init("PUT", "/manifests/gantry-production-", nth: 2))
    defer { proxy.stop() }
    let r = try await promote("2.0.0", host: proxy.host)
    let failure = try #require(r.failure)
    let entries = try await records()
    // Said in full when it fails (once, under a load of 14: the run's own words tell why).
    let intent = try #require(entries.first { $0.record.state == .inProgress && $0.record.digest == new }, "\(failure) | \(entries.map { "\($0.tag) \($0.record.state) \($0.record.digest)" })")
    #expect(failure.contains("the tags moved (\(proxy.host)/app:2.0.0, latest, production point at \(new))"), "\(failure)")
    #expect(failure.contains("the intent record \(intent.tag) stays open"), "\(failure)")
    #expect(failure.contains("refused until its lease ends at"), "\(failure)")
    #expect(try await prod.resolve("app", "production")?.digest == new)
  }
}
