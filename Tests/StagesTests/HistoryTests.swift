import ActionsCore
import Foundation
import OCI
import TestSupport
import Testing

@testable import Stages

/// A clock the test sets.
struct FixedClock: HistoryClock {
  var date: Date
  func now() -> Date { date }
  func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}

/// History against real registries: exact environments, lasting quarantine, damaged records,
/// legacy records, dead runs, and every forced interleaving of two runs.
@Suite("history: environments, quarantine, damage, leases", .serialized, .timeLimit(.minutes(3)))
struct HistoryTests {
  let staging: RegistryProcess
  let production: RegistryProcess
  let prod: RegistryClient
  let stage: RegistryClient

  init() async throws {
    staging = try await RegistryProcess()
    production = try await RegistryProcess()
    prod = testRegistryClient(production.host)
    stage = testRegistryClient(staging.host)
  }

  /// Pushes an image to staging.
  func image(_ tag: String) async throws -> Digest {
    try await ImageFactory(client: stage, repository: "app").pushImage(tag: tag, layerSizes: [3000]).digest
  }

  /// Promotes staging's `version` to `environment` (through `host`, production by default).
  func promote(_ version: String, _ environment: String = "production", host: String? = nil, run: String = "7", extra: [String: String] = [:], log: MemoryLogSink = MemoryLogSink())
    async -> Result<StageResult, any Error>
  {
    do {
      return .success(
        try await runStage(
          PromoteStage.self,
          [
            "INPUT_SOURCE": "\(staging.host)/app:\(version)", "INPUT_TAGS": version, "INPUT_TARGET": "\(host ?? production.host)/app", "INPUT_ENVIRONMENT": environment,
            "INPUT_VERSION": version, "GITHUB_REPOSITORY": "acme/app", "GITHUB_RUN_ID": run,
          ].merging(extra) { $1 }, log: log))
    } catch { return .failure(error) }
  }

  func rollback(_ environment: String = "production", host: String? = nil, run: String = "9", log: MemoryLogSink = MemoryLogSink()) async -> Result<StageResult, any Error> {
    do {
      return .success(
        try await runStage(
          RollbackStage.self, ["INPUT_TARGET": "\(host ?? production.host)/app", "INPUT_ENVIRONMENT": environment, "GITHUB_REPOSITORY": "acme/app", "GITHUB_RUN_ID": run], log: log))
    } catch { return .failure(error) }
  }

  func history(_ environment: String = "production") -> History { History(client: prod, repository: "app", environment: environment) }
  func live(_ environment: String = "production") async throws -> Digest? { try await prod.resolve("app", environment)?.digest }
  func failure(_ r: Result<StageResult, any Error>) -> String? {
    switch r {
    case .success(let s): s.failure
    case .failure(let e): "\(e)"
    }
  }
  func runURL(_ run: String) -> String { "https://github.com/acme/app/actions/runs/\(run)" }

  /// The invariants a race must keep: the environment tag is the newest completed record's
  /// image, and each completed record's `previous` is the image of the completed one before it.
  func expectConsistent(_ environment: String = "production") async throws {
    let entries = try await history(environment).entries(limit: 200).entries
    let completed = entries.filter { $0.record.state == .completed }
    #expect(try await live(environment) == completed.first?.record.digest)
    for (newer, older) in zip(completed, completed.dropFirst()) {
      #expect(newer.record.previousDigest == older.record.digest, "\(newer.tag) names previous \(newer.record.previousDigest?.short ?? "-"), expected \(older.record.digest.short)")
    }
    #expect(HistoryRules.unclosedIntents(entries).isEmpty)
  }

  // MARK: Environments

  @Test func prodAndProdEuAreSeparateEnvironments() async throws {
    let v1 = try await image("1.0.1")
    let eu = try await image("1.0.9")
    _ = try await image("1.0.2")
    #expect(failure(await promote("1.0.1", "prod")) == nil)
    #expect(failure(await promote("1.0.9", "prod-eu")) == nil)
    #expect(failure(await promote("1.0.2", "prod")) == nil)
    let r = try await rollback("prod").get()
    #expect(r.outputs["digest"] == v1.description)
    #expect(try await live("prod") == v1)
    #expect(try await live("prod-eu") == eu)
    // prod-eu has one image only: nothing to roll back to (prod's records are not its own).
    #expect(failure(await rollback("prod-eu"))?.contains("only the live image \(eu.short) was ever promoted to prod-eu") == true)
    // v2 is quarantined for prod, not for prod-eu.
    #expect(failure(await promote("1.0.2", "prod"))?.contains("was rolled back from prod (") == true)
    #expect(failure(await promote("1.0.2", "prod-eu")) == nil)
    #expect(try await history("prod").entries().entries.allSatisfy { $0.record.environment == "prod" })
  }

  @Test func recordTagsFitTheTagGrammarForEveryName() throws {
    for name in ["p", "prod-eu", String(repeating: "e", count: 91), String(repeating: "x", count: 92), "A_" + String(repeating: "z.-", count: 42)] {
      #expect(EnvironmentName.problem(name) == nil, "\(name)")
      let tag = RecordTag.make(environment: name, time: Date())
      #expect(Reference.isValidTag(tag) && tag.count <= 128, "\(tag)")
      #expect(RecordTag(tag)?.key == EnvironmentName.key(name))
    }
    #expect(EnvironmentName.key(String(repeating: "x", count: 92)) != EnvironmentName.key(String(repeating: "x", count: 93)))
    #expect(RecordTag("gantry-prod-eu-20261122T031500.123Z-1a2b3c4d")?.key == "prod-eu")
    #expect(RecordTag("gantry-prod-eu-20261122T031500.123Z-1A2B3C4D") == nil)
    let t = Date(timeIntervalSince1970: 1_795_000_000.123)
    #expect(RecordTime.parseCompact(RecordTime.compact(t)).map { abs($0.timeIntervalSince(t)) < 0.001 } == true)
    #expect(RecordTime.parseCompact("20240229T235959.999Z")?.timeIntervalSince1970 == 1_709_251_199.999)
    #expect(RecordTime.parseCompact("20241301T000000.000Z") == nil)
    #expect(EnvironmentName.problem("gantry-x") != nil)
    #expect(EnvironmentName.problem("sha256-x") != nil)
  }

  // MARK: Quarantine

  @Test func quarantineHoldsAfterSixtyMoreRecords() async throws {
    let v1 = try await image("2.0.1")
    _ = try await image("2.0.2")
    #expect(failure(await promote("2.0.1")) == nil)
    #expect(failure(await promote("2.0.2")) == nil)
    #expect(try await rollback().get().outputs["digest"] == v1.description)
    // 60 promotions' worth of records written straight to the registry.
    let h = history()
    let subject = try #require(try await prod.resolve("app", v1.description))
    let details = History.Details(operation: "promote", previous: v1, version: "2.0.1", tags: ["production"], source: nil)
    for _ in 0..<60 { try await h.append(.completed, subject, details, intent: nil) }
    let refused = failure(await promote("2.0.2"))
    #expect(refused?.contains("was rolled back from production (") == true)
    #expect(try await live() == v1)
    #expect(failure(await promote("2.0.2", extra: ["INPUT_FORCE": "true"])) == nil)
  }

  // MARK: Damage

  /// Stores a record-shaped artifact with `blob` as its record under a tag of `environment`.
  func storeRaw(_ blob: Data, environment: String = "production", subject: Digest, time: Date = Date(), tag: String? = nil) async throws -> String {
    let layer = try await prod.pushBlob("app", blob, mediaType: PromotionRecord.artifactType)
    let empty = try await prod.pushBlob("app", Data("{}".utf8), mediaType: MediaType.ociEmpty)
    let t = tag ?? RecordTag.make(environment: environment, time: time)
    let subjectDescriptor = try #require(try await prod.resolve("app", subject.description))
    let doc: [String: Any] = [
      "schemaVersion": 2, "mediaType": MediaType.ociManifest, "artifactType": PromotionRecord.artifactType,
      "config": ["mediaType": MediaType.ociEmpty, "digest": empty.digest.description, "size": empty.size],
      "layers": [["mediaType": PromotionRecord.artifactType, "digest": layer.digest.description, "size": layer.size]],
      "subject": ["mediaType": subjectDescriptor.mediaType, "digest": subject.description, "size": subjectDescriptor.size],
    ]
    _ = try await ImageFactory(client: prod, repository: "app").pushManifest(tag: t, document: doc)
    return t
  }

  func curl(_ method: String, _ path: String) throws -> String {
    try runCommand("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", method, "http://\(production.host)\(path)"]).stdout
  }

  @Test func damagedRecordsAreSkippedWithOneWarningEach() async throws {
    let v1 = try await image("3.0.1")
    _ = try await image("3.0.2")
    _ = try await image("3.0.3")
    for v in ["3.0.1", "3.0.2", "3.0.3"] { #expect(failure(await promote(v)) == nil) }
    // The blob of 3.0.2's completed record is garbage-collected...
    let entries = try await history().entries().entries
    let gone = try #require(entries.first { $0.record.state == .completed && $0.record.version == "3.0.2" })
    let m = try await prod.manifest("app", gone.tag)
    guard case .image(_, let layers, _, _) = m.content else { Issue.record("not an image"); return }
    #expect(try curl("DELETE", "/v2/app/blobs/\(layers[0].digest)") == "202")
    // ... and three more records are damaged: too large, not JSON, from a future Gantry.
    let big = try await storeRaw(Data(repeating: 0x20, count: 100_000) + Data("{}".utf8), subject: v1)
    let junk = try await storeRaw(Data("not json".utf8), subject: v1)
    let future = try await storeRaw(Data(#"{"format":99,"environment":"production"}"#.utf8), subject: v1)

    let log = MemoryLogSink()
    let h = try await runStage(HistoryStage.self, ["INPUT_TARGET": "\(production.host)/app", "INPUT_ENVIRONMENT": "production"], log: log)
    let warnings = log.lines.filter { $0.hasPrefix("::warning::history record") }
    #expect(warnings.count == 4, "\(warnings)")
    #expect(warnings.contains { $0.contains(gone.tag) && $0.contains("is gone") })
    #expect(warnings.contains { $0.contains(big) && $0.contains("over the") })
    #expect(warnings.contains { $0.contains(junk) && $0.contains("not a valid record") })
    #expect(warnings.contains { $0.contains(future) && $0.contains("format 99") })
    #expect(h.summary.render().contains("Damaged records skipped"))

    // Rollback still works: 3.0.2's completed record is unreadable, so 3.0.1 is restored.
    let rlog = MemoryLogSink()
    let r = try await rollback(log: rlog).get()
    #expect(r.outputs["digest"] == v1.description)
    #expect(rlog.lines.filter { $0.hasPrefix("::warning::history record") }.count == 4)
    // And promote with an environment too.
    _ = try await image("3.0.4")
    #expect(failure(await promote("3.0.4")) == nil)
  }

  /// Records whose reasons are long (60 KB each, under the 64 KiB record limit) make the
  /// history table over GitHub's 1 MiB summary limit: before, the whole table was dropped and
  /// the summary said only what is live. Now it shows the newest records that fit.
  @Test func aHistoryOverTheSummaryLimitKeepsItsNewestRows() async throws {
    let live = try await ImageFactory(client: prod, repository: "app").pushImage(tag: "9.0.1", layerSizes: [100])
    let h = history()
    let reason = String(repeating: "<|", count: 30_000)
    for i in 0..<20 {
      let details = History.Details(operation: "rollback", previous: nil, version: "9.0.\(i)", tags: ["production"], source: nil, reason: reason)
      try await h.append(.rolledBack, live.descriptor, details, intent: nil, reason: reason)
    }
    let log = MemoryLogSink()
    let r = try await runStage(HistoryStage.self, ["INPUT_TARGET": "\(production.host)/app", "INPUT_ENVIRONMENT": "production"], log: log)
    // The output too holds the newest records that fit in 1 MiB (it held all 20, 1.2 MB),
    // still a JSON array, and the log says so.
    let output = try #require(r.outputs["history"])
    #expect(output.utf8.count <= 1 << 20)
    let decoded = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]])
    #expect(decoded.count > 10 && decoded.count < 20, "\(decoded.count)")
    #expect((decoded.first?["record"] as? [String: Any])?["version"] as? String == "9.0.19")
    #expect(log.lines.contains { $0.hasPrefix("::warning::the history output holds the newest \(decoded.count) of 20 records (1024 KiB)") }, "\(log.lines.map { $0.prefix(200) })")
    let summary = r.summary.render()
    #expect(summary.utf8.count <= StepSummary.byteLimit)
    let rows = summary.split(separator: "\n").filter { $0.hasPrefix("| ") && $0.contains("rolled-back") }
    #expect(rows.count >= 5, "\(summary.prefix(500))")
    #expect(rows.first?.contains("9.0.19") == true)
    #expect(summary.contains("the table above shows \(rows.count) of its 20 rows"))
  }

  @Test func rollbackPassesOverAnImageWithALayerGone() async throws {
    let v1 = try await image("4.0.1")
    _ = try await image("4.0.2")
    _ = try await image("4.0.3")
    for v in ["4.0.1", "4.0.2", "4.0.3"] { #expect(failure(await promote(v)) == nil) }
    let broken = try await prod.manifest("app", "4.0.2")
    guard case .image(_, let layers, _, _) = broken.content else { Issue.record("not an image"); return }
    #expect(try curl("DELETE", "/v2/app/blobs/\(layers[0].digest)") == "202")
    let log = MemoryLogSink()
    let r = try await rollback(log: log).get()
    #expect(r.outputs["digest"] == v1.description)
    #expect(log.lines.contains { $0.hasPrefix("::warning::skipped \(broken.digest.short) (4.0.2") && $0.contains("layer of image \(layers[0].digest.short) no longer exists") })
    let md = r.summary.render()
    #expect(md.contains("Candidates passed over"))
    #expect(md.contains("no longer exists"))
  }

  // MARK: Legacy records

  /// A rolled-back record of the earlier format (never in the fallback index), followed by
  /// more records than the recent window holds: still quarantined, through the one-time index.
  @Test func earlierRecordsStayQuarantinedHoweverOld() async throws {
    let v1 = try await image("5.1.1")
    let v3 = try await image("5.1.3")
    for (v, d) in [("5.1.1", v1), ("5.1.3", v3)] {
      let m = try await stage.manifest("app", d.description)
      for case .image(let config, let layers, _, _) in [m.content] {
        for b in [config] + layers { _ = try await prod.pushBlob("app", try await stage.blob("app", b.digest)) }
      }
      try await prod.putManifest("app", v, m)
    }
    for i in 0..<26 {
      let time = Date(timeIntervalSince1970: 1_790_000_000 + Double(i))
      let (state, d) = i == 0 ? ("rolled-back", v3) : ("completed", v1)
      let json = #"{"digest":"\#(d)","environment":"production","state":"\#(state)","tags":["production"],"time":"\#(ISO8601DateFormatter().string(from: time))"}"#
      _ = try await storeRaw(Data(json.utf8), subject: d, tag: "gantry-production-\(RecordTime.compact(time))-\(String(format: "%08x", i))")
    }
    try await prod.putManifest("app", "production", try await prod.manifest("app", v1.description))
    #expect(try await prod.resolve("app", HistoryStore.indexedMarker("production")) == nil)
    // A dry run finds it too, and writes nothing (no marker, no index).
    #expect(failure(await promote("5.1.3", extra: ["INPUT_DRY-RUN": "true"]))?.contains("was rolled back from production (") == true)
    #expect(try await prod.resolve("app", HistoryStore.indexedMarker("production")) == nil)
    #expect(try await prod.resolve("app", Cosign.referrersTag(v3)) == nil)
    // A refused promotion writes nothing either: the index is written by the next run that
    // passes its checks, before its intent record.
    #expect(failure(await promote("5.1.3"))?.contains("was rolled back from production (") == true)
    #expect(try await prod.resolve("app", HistoryStore.indexedMarker("production")) == nil)
    let v4 = try await image("5.1.4")
    #expect(failure(await promote("5.1.4")) == nil)
    #expect(try await prod.resolve("app", HistoryStore.indexedMarker("production")) != nil)
    #expect(try await prod.resolve("app", Cosign.referrersTag(v3)) != nil)
    // Indexed once: the next run finds it through the index alone.
    #expect(failure(await promote("5.1.3"))?.contains("was rolled back from production (") == true)
    #expect(try await live() == v4)
  }

  @Test func recordsOfTheEarlierFormatAreReadShownAndUsed() async throws {
    let v1 = try await image("5.0.1")
    let v2 = try await image("5.0.2")
    let v3 = try await image("5.0.3")
    let eu = try await image("5.0.9")
    for (v, d) in [("5.0.1", v1), ("5.0.2", v2), ("5.0.3", v3), ("5.0.9", eu)] {
      let m = try await stage.manifest("app", d.description)
      let doc = try #require(try JSONSerialization.jsonObject(with: m.bytes) as? [String: Any])
      for case .image(let config, let layers, _, _) in [m.content] {
        for b in [config] + layers { _ = try await prod.pushBlob("app", try await stage.blob("app", b.digest)) }
      }
      _ = try await ImageFactory(client: prod, repository: "app").pushManifest(tag: v, document: doc)
    }
    // The JSON and tags Gantry wrote before format 2: ISO dates without fractions, no format,
    // no intent, no lease, no index entry.
    var count = 0
    func legacy(_ env: String, _ state: String, _ d: Digest, _ version: String, _ seconds: Int) async throws {
      count += 1
      let time = Date(timeIntervalSince1970: 1_790_000_000 + Double(seconds))
      let iso = ISO8601DateFormatter().string(from: time)
      let json =
        #"{"actor":"octocat","digest":"\#(d)","environment":"\#(env)","runURL":"https://github.com/acme/app/actions/runs/\#(seconds)","state":"\#(state)","tags":["\#(env)"],"time":"\#(iso)","version":"\#(version)"}"#
      _ = try await storeRaw(Data(json.utf8), environment: env, subject: d, tag: "gantry-\(env)-\(RecordTime.compact(time))-\(String(format: "%08x", count))")
    }
    try await legacy("prod", "completed", v1, "5.0.1", 1)
    try await legacy("prod-eu", "completed", eu, "5.0.9", 2)
    try await legacy("prod", "in-progress", v3, "5.0.3", 3)
    try await legacy("prod", "completed", v3, "5.0.3", 3)
    try await legacy("prod", "rolled-back", v3, "5.0.3", 4)
    try await legacy("prod", "completed", v2, "5.0.2", 5)
    let v2m = try await prod.manifest("app", v2.description)
    try await prod.putManifest("app", "prod", v2m)

    let h = try await runStage(HistoryStage.self, ["INPUT_TARGET": "\(production.host)/app", "INPUT_ENVIRONMENT": "prod"])
    let json = try #require(h.outputs["history"])
    let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
    #expect(rows.count == 5)
    #expect(rows.compactMap { ($0["record"] as? [String: Any])?["environment"] as? String }.allSatisfy { $0 == "prod" })
    // The legacy quarantine of 5.0.3 holds.
    #expect(failure(await promote("5.0.3", "prod"))?.contains("was rolled back from prod (") == true)
    // Rollback restores 5.0.1: not prod-eu's 5.0.9, not quarantined 5.0.3.
    let r = try await rollback("prod").get()
    #expect(r.outputs["digest"] == v1.description)
    #expect(r.outputs["version"] == "5.0.1")
  }

  // MARK: Dead runs and repeats

  /// Where a run was killed (kill -9 leaves exactly the records written before it).
  enum KillPoint: CaseIterable, Sendable { case afterIntent, afterTagMove }

  @Test(arguments: KillPoint.allCases) func aDeadRunsIntentIsAbandonedOnceItsLeaseEnds(_ killed: KillPoint) async throws {
    let v1 = try await image("6.0.1")
    let v2 = try await image("6.0.2")
    let v3 = try await image("6.0.3")
    #expect(failure(await promote("6.0.1")) == nil)
    // A run killed after its intent (and, maybe, after moving the tag to 6.0.3), an hour ago.
    let dead = History(
      client: prod, repository: "app", environment: "production", run: HistoryRun(runURL: runURL("666"), actor: nil, sha: nil), clock: FixedClock(date: Date().addingTimeInterval(-3600)))
    let subject = try #require(try await prod.resolve("app", v1.description))
    let details = History.Details(operation: "promote", previous: v1, version: "6.0.2", tags: ["production"], source: nil)
    let intent = try await dead.append(.inProgress, subject, details, intent: nil)
    if killed == .afterTagMove {
      let m = try await stage.manifest("app", v3.description)
      for case .image(let config, let layers, _, _) in [m.content] {
        for b in [config] + layers { _ = try await prod.pushBlob("app", try await stage.blob("app", b.digest)) }
      }
      try await prod.putManifest("app", "production", m)
    }

    let log = MemoryLogSink()
    #expect(failure(await promote("6.0.2", log: log)) == nil)
    #expect(log.lines.contains { $0.hasPrefix("::warning::history: a run (\(runURL("666"))) began changing production") && $0.contains("abandoned") })
    let entries = try await history().entries().entries
    #expect(entries.contains { $0.record.state == .abandoned && $0.record.intent == intent.tag })
    #expect(try await live() == v2)
    let completed = entries.first { $0.record.state == .completed }
    #expect(completed?.record.previousDigest == (killed == .afterTagMove ? v3 : v1))
    #expect(HistoryRules.unclosedIntents(entries).isEmpty)
  }

  @Test func aLiveLeaseStopsTheNextRun() async throws {
    let v1 = try await image("6.1.1")
    _ = try await image("6.1.2")
    #expect(failure(await promote("6.1.1")) == nil)
    // A run holding the lease now (killed a moment ago, or still running).
    let other = History(client: prod, repository: "app", environment: "production", run: HistoryRun(runURL: runURL("555"), actor: nil, sha: nil))
    let subject = try #require(try await prod.resolve("app", v1.description))
    _ = try await other.begin(subject, History.Details(operation: "promote", previous: v1, version: "6.1.1", tags: ["production"], source: nil))
    let refused = failure(await promote("6.1.2"))
    #expect(refused?.contains("race: another run is promoting \(v1) in production (\(runURL("555"))") == true)
    #expect(refused?.contains("moved no tag") == true)
    #expect(try await live() == v1)
    // The history tells the open lease from the intents runs closed (before, every intent
    // read "in-progress", a finished run's as much as the live one's).
    let log = MemoryLogSink()
    let h = try await runStage(HistoryStage.self, ["INPUT_TARGET": "\(production.host)/app", "INPUT_ENVIRONMENT": "production"], log: log)
    let rows = h.summary.render().split(separator: "\n").filter { $0.contains("| in-progress") }
    // Newest first: 6.1.2's intent (closed by its `failed`), the live lease, 6.1.1's intent
    // (closed by its `completed`).
    let states = rows.map { $0.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }[1] }
    #expect(states == ["in-progress (closed)", "in-progress", "in-progress (closed)"], "\(h.summary.render())")
    #expect(log.lines.contains { $0.contains("  in-progress (closed)  ") }, "\(log.lines)")
  }

  /// The registry's clock two hours behind this runner's (the runner's is ahead, a
  /// self-hosted one without NTP): by its own clock a live run's lease ended long ago, and it
  /// would take it over and move the tag that run is moving. Leases follow the registry's
  /// clock, which every run shares, and the skew is reported.
  @Test func leasesFollowTheRegistrysClockNotTheRunners() async throws {
    let v1 = try await image("8.1.1")
    _ = try await image("8.1.2")
    let proxy = try await FaultProxy(upstreamPort: production.port, dateOffset: -7200)
    defer { proxy.stop() }
    #expect(failure(await promote("8.1.1", host: proxy.host)) == nil)
    // Each run's idea of the registry's time is good to about half a second (its Date has
    // whole seconds): the runs below start more than that apart, so their records sort as
    // they happened.
    try await Task.sleep(for: .milliseconds(1500))
    // A run holding the lease now, through the same registry.
    let client = testRegistryClient(proxy.host)
    let subject = try #require(try await client.resolve("app", v1.description))
    let other = History(
      client: client, repository: "app", environment: "production", run: HistoryRun(runURL: runURL("556"), actor: nil, sha: nil),
      clock: RegistryHistoryClock(server: client.serverClock))
    _ = try await other.begin(subject, History.Details(operation: "promote", previous: v1, version: "8.1.1", tags: ["production"], source: nil))
    try await Task.sleep(for: .milliseconds(1500))
    let log = MemoryLogSink()
    let refused = failure(await promote("8.1.2", host: proxy.host, log: log))
    #expect(refused?.contains("race: another run is promoting \(v1) in production (\(runURL("556"))") == true, "\(refused ?? "promoted")")
    #expect(try await live() == v1)
    let skew = log.lines.filter { $0.contains("Clock skew") }
    #expect(skew.count == 1, "\(log.lines)")
    #expect(skew.first.map { line in ["7199", "7200", "7201"].contains { line.contains("clock and \(proxy.host)'s differ by \($0) s (the runner's is ahead)") } } == true, "\(skew)")
    // The records' times are the registry's.
    let newest = try #require(try await history().entries().entries.first)
    #expect(abs(newest.record.time.timeIntervalSinceNow + 7200) < 60, "\(newest.record.time)")
  }

  /// Credentials that may not push: the intent's own write is refused, so nothing was stored,
  /// and the failure is that refusal, not "closing the intent record failed too" of an intent
  /// that does not exist (the same credentials cannot close one either).
  @Test func anIntentWriteRefusedForItsCredentialsIsTheAnswer() async throws {
    let v1 = try await image("9.1.1")
    _ = try await image("9.1.2")
    #expect(failure(await promote("9.1.1")) == nil)
    let proxy = try await FaultProxy(upstreamPort: production.port, deny: .init("PUT", "/manifests/gantry-production-", nth: 1))
    defer { proxy.stop() }
    let refused = failure(await promote("9.1.2", host: proxy.host))
    #expect(refused?.contains("forbidden at \(proxy.host)") == true, "\(refused ?? "promoted")")
    #expect(refused?.contains("closing the intent record") == false, "\(refused ?? "")")
    #expect(try await proxy.faults() == 1)
    #expect(try await live() == v1)
    let entries = try await history().entries().entries
    #expect(entries.allSatisfy { $0.record.digest == v1 }, "\(entries.map(\.record.state))")
    #expect(HistoryRules.unclosedIntents(entries).isEmpty)
  }

  @Test func promotingTheLiveImageAgainRecordsNothing() async throws {
    _ = try await image("7.0.1")
    #expect(failure(await promote("7.0.1")) == nil)
    let before = try await history().entries().entries.count
    let log = MemoryLogSink()
    let again = try await promote("7.0.1", log: log).get()
    #expect(again.outputs["status"] == "promoted")
    #expect(log.lines.contains { $0.contains("is live in production already: nothing recorded") })
    #expect(try await history().entries().entries.count == before)
  }

  @Test func historyFiltersByStateAndLimits() async throws {
    for v in ["8.0.1", "8.0.2", "8.0.3"] {
      _ = try await image(v)
      #expect(failure(await promote(v)) == nil)
    }
    let h = try await runStage(HistoryStage.self, ["INPUT_TARGET": "\(production.host)/app", "INPUT_ENVIRONMENT": "production", "INPUT_STATE": "completed", "INPUT_LIMIT": "2"])
    let json = try #require(h.outputs["history"])
    let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
    #expect(rows.count == 2)
    #expect(rows.compactMap { ($0["record"] as? [String: Any])?["version"] as? String } == ["8.0.3", "8.0.2"])
    #expect(rows.allSatisfy { ($0["record"] as? [String: Any])?["state"] as? String == "completed" && ($0["tag"] as? String)?.hasPrefix("gantry-production-") == true })
    await #expect { _ = try await runStage(HistoryStage.self, ["INPUT_TARGET": "\(production.host)/app", "INPUT_ENVIRONMENT": "production", "INPUT_STATE": "done"]) } throws: {
      ($0 as? InputError)?.input == "state"
    }
  }

  // MARK: Forced interleavings

  /// Runs `a` through a proxy that holds `hold`, runs `b` to its end while it is held, then
  /// releases it and returns both results.
  func interleave(
    hold: FaultProxy.Hold, a: @escaping @Sendable (String) async -> Result<StageResult, any Error>, b: @escaping @Sendable () async -> Result<StageResult, any Error>
  ) async throws -> (a: Result<StageResult, any Error>, b: Result<StageResult, any Error>) {
    let proxy = try await FaultProxy(upstreamPort: production.port, hold: hold)
    defer { proxy.stop() }
    let first = Task { await a(proxy.host) }
    try await proxy.waitUntilHeld()
    let second = await b()
    try await proxy.release()
    return (await first.value, second)
  }

  func twoImages(_ a: String, _ b: String) async throws -> (Digest, Digest) {
    _ = try await image("0.9.0")
    #expect(failure(await promote("0.9.0")) == nil)
    return (try await image(a), try await image(b))
  }

  @Test func promotionsRacingWhileTheFirstMovesTheTag() async throws {
    let (da, _) = try await twoImages("9.1.1", "9.1.2")
    let r = try await interleave(
      hold: .init("PUT", "/manifests/production$"), a: { await self.promote("9.1.1", host: $0, run: "101") }, b: { await self.promote("9.1.2", run: "202") })
    #expect(failure(r.a) == nil)
    #expect(failure(r.b)?.contains("another run is promoting \(da) in production (\(runURL("101"))") == true)
    #expect(try await live() == da)
    try await expectConsistent()
  }

  @Test func promotionsRacingWhileTheFirstWritesItsIntent() async throws {
    let (_, db) = try await twoImages("9.2.1", "9.2.2")
    let r = try await interleave(
      hold: .init("PUT", "/manifests/gantry-production-"), a: { await self.promote("9.2.1", host: $0, run: "101") }, b: { await self.promote("9.2.2", run: "202") })
    #expect(failure(r.b) == nil)
    #expect(failure(r.a)?.contains("another run made \(db) live in production (\(runURL("202"))") == true)
    #expect(try await live() == db)
    try await expectConsistent()
  }

  @Test func promotionsRacingWhileTheFirstReadsTheTag() async throws {
    let (da, _) = try await twoImages("9.3.1", "9.3.2")
    let r = try await interleave(
      hold: .init("HEAD", "/manifests/production$", nth: 2), a: { await self.promote("9.3.1", host: $0, run: "101") }, b: { await self.promote("9.3.2", run: "202") })
    #expect(failure(r.a) == nil)
    #expect(failure(r.b)?.contains("another run is promoting \(da)") == true)
    #expect(try await live() == da)
    try await expectConsistent()
  }

  @Test func aPromotionThatFinishedWhileAnotherCopiedIsNamed() async throws {
    let (_, db) = try await twoImages("9.7.1", "9.7.2")
    // A has read the environment tag and is copying when B comes and goes.
    let r = try await interleave(
      hold: .init("PUT", "/blobs/uploads/"), a: { await self.promote("9.7.1", host: $0, run: "101") }, b: { await self.promote("9.7.2", run: "202") })
    #expect(failure(r.b) == nil)
    let why = failure(r.a)
    #expect(why?.contains("race:") == true)
    #expect(why?.contains("to \(db)") == true)
    #expect(why?.contains("by \(runURL("202"))") == true)
    #expect(try await live() == db)
    try await expectConsistent()
  }

  @Test func theOlderIntentSeesTheYoungerYielded() async throws {
    let (da, _) = try await twoImages("9.4.1", "9.4.2")
    // A's intent is written; its read of the intents is held while B writes and reads.
    let log = MemoryLogSink()
    let r = try await interleave(
      hold: .init("GET", "/tags/list", nth: 2), a: { await self.promote("9.4.1", host: $0, run: "101", log: log) }, b: { await self.promote("9.4.2", run: "202") })
    #expect(failure(r.a) == nil)
    #expect(failure(r.b)?.contains("another run is promoting \(da)") == true)
    #expect(try await live() == da)
    try await expectConsistent()
  }

  @Test func theOlderIntentWaitsWhileTheYoungerDecides() async throws {
    let (da, _) = try await twoImages("9.8.1", "9.8.2")
    // A's read of the intents is held; B, through its own proxy, writes its intent, sees A's
    // and yields, but its `failed` record is held: A reads B's intent open and must wait.
    let proxyA = try await FaultProxy(upstreamPort: production.port, hold: .init("GET", "/tags/list", nth: 2))
    let proxyB = try await FaultProxy(upstreamPort: production.port, hold: .init("PUT", "/manifests/gantry-production-", nth: 2))
    defer {
      proxyA.stop()
      proxyB.stop()
    }
    let log = MemoryLogSink()
    let a = Task { await self.promote("9.8.1", host: proxyA.host, run: "101", log: log) }
    try await proxyA.waitUntilHeld()
    let b = Task { await self.promote("9.8.2", host: proxyB.host, run: "202") }
    try await proxyB.waitUntilHeld()
    try await proxyA.release()
    let deadline = ContinuousClock.now + .seconds(20)
    while !log.lines.contains(where: { $0.hasPrefix("history: waiting for \(runURL("202"))") }), ContinuousClock.now < deadline {
      try await Task.sleep(for: .milliseconds(50))
    }
    #expect(log.lines.contains { $0.hasPrefix("history: waiting for \(runURL("202"))") })
    try await proxyB.release()
    let (ra, rb) = (await a.value, await b.value)
    #expect(failure(ra) == nil)
    #expect(failure(rb)?.contains("another run is promoting \(da)") == true)
    #expect(try await live() == da)
    try await expectConsistent()
  }

  @Test func aRollbackMovingTheTagStopsAPromotion() async throws {
    let (_, _) = try await twoImages("9.5.1", "9.5.2")
    #expect(failure(await promote("9.5.1")) == nil)
    let old = try await history().entries().entries.first { $0.record.version == "0.9.0" && $0.record.state == .completed }?.record.digest
    let r = try await interleave(hold: .init("PUT", "/manifests/production$"), a: { await self.rollback(host: $0, run: "101") }, b: { await self.promote("9.5.2", run: "202") })
    #expect(failure(r.a) == nil)
    let restored = try #require(old)
    #expect(failure(r.b)?.contains("another run is rolling back to \(restored) in production (\(runURL("101"))") == true)
    #expect(try await live() == old)
    try await expectConsistent()
  }

  @Test func aPromotionFinishingFirstStopsARollback() async throws {
    let (_, db) = try await twoImages("9.6.1", "9.6.2")
    #expect(failure(await promote("9.6.1")) == nil)
    let r = try await interleave(hold: .init("PUT", "/manifests/gantry-production-"), a: { await self.rollback(host: $0, run: "101") }, b: { await self.promote("9.6.2", run: "202") })
    #expect(failure(r.b) == nil)
    #expect(failure(r.a)?.contains("another run made \(db) live in production (\(runURL("202"))") == true)
    #expect(try await live() == db)
    try await expectConsistent()
  }
}
