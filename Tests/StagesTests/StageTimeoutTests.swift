import ActionsCore
import Foundation
import OCI
import TestSupport
import Testing

@testable import GantryCLI
@testable import Stages

/// The `timeout` input and the runner's signals through the whole CLI, against real servers
/// that hold their answer: the stage stops, says what it was doing, exits 1, and nothing is
/// lost. (The binary under real signals, as PID 1 too: EndToEndTests' CancelTests.)
@Suite("timeout and signals: a stage that is stopped", .serialized, .timeLimit(.minutes(3)))
struct StageTimeoutTests {
  func errors(_ out: MemoryLogSink) -> [String] { out.lines.filter { $0.hasPrefix("::error") } }

  @Test func badTimeoutIsBadInput() async throws {
    for bad in ["soon", "-1s", "7h", "1e3"] {
      let out = MemoryLogSink()
      let status = await GantryCLIHarness.run(["INPUT_STAGE": "health-check", "INPUT_URL": "http://127.0.0.1:9/", "INPUT_TIMEOUT": bad], out)
      #expect(status == 2, "\(bad)")
      #expect(errors(out) == ["::error title=Invalid input::input 'timeout': expected a duration from 0 to 6h such as 30s, 5m or 500ms, got '\(bad)'"])
    }
  }

  @Test func healthCheckStopsItsProbeInFlight() async throws {
    // Every probe takes 30 s; the stage may take 1 s: the probe in flight is cancelled, not
    // waited out (nor left running past the grace of 20 s).
    let server = try await LocalHTTPServer()
    defer { server.stop() }
    let out = MemoryLogSink()
    let started = ContinuousClock.now
    let status = await GantryCLIHarness.run(
      ["INPUT_STAGE": "health-check", "INPUT_URL": server.url("/slow/30000").absoluteString, "INPUT_TIMEOUT-MS": "60000", "INPUT_WAIT-TIMEOUT": "5m", "INPUT_TIMEOUT": "1s"], out)
    let took = ContinuousClock.now - started
    #expect(status == 1)
    let lines = errors(out)
    #expect(lines.count == 1, "\(out.lines)")
    #expect(lines.first?.hasPrefix("::error title=health-check timed out::health-check timed out after 1s while waiting for the first healthy answer (attempt 1)") == true, "\(lines)")
    #expect(lines.first?.contains("did not stop") == false, "\(lines)")
    // Waited out, it would end after the grace (1 s + 20 s) saying "did not stop".
    #expect(took < .seconds(20), "took \(took): the probe was waited out instead of cancelled")
  }

  /// Staging with `versions`, production with the first one promoted (so the environment
  /// has a live image and history).
  func registries(_ versions: [String]) async throws -> (staging: RegistryProcess, production: RegistryProcess, digests: [Digest]) {
    let staging = try await RegistryProcess()
    let production = try await RegistryProcess()
    let factory = ImageFactory(client: testRegistryClient(staging.host, side: "source"), repository: "app")
    var digests: [Digest] = []
    for v in versions { digests.append(try await factory.pushImage(tag: v, layerSizes: [4000, 5000]).digest) }
    let first = MemoryLogSink()
    #expect(await GantryCLIHarness.run(promote(versions[0], staging: staging.host, target: production.host, run: "1"), first) == 0, "\(first.lines)")
    return (staging, production, digests)
  }

  func promote(_ version: String, staging: String, target: String, run: String, timeout: String? = nil) -> [String: String] {
    var env = [
      "INPUT_STAGE": "promote", "INPUT_SOURCE": "\(staging)/app:\(version)", "INPUT_TARGET": "\(target)/app", "INPUT_TAGS": version, "INPUT_ENVIRONMENT": "production",
      "INPUT_VERSION": version, "GITHUB_REPOSITORY": "acme/app", "GITHUB_RUN_ID": run, "GITHUB_SERVER_URL": "https://github.com",
    ]
    env["INPUT_TIMEOUT"] = timeout
    return env
  }

  /// Runs a promote of `version` through a proxy holding `hold`, with a timeout of 12 s (ample
  /// for a small promote to reach the hold on a loaded machine), and returns its exit status
  /// and `::error` lines. The proxy holds for 30 s: still holding when the run ended means the
  /// run reached the hold and was stopped there by its timeout.
  func timedOutPromote(_ version: String, hold: FaultProxy.Hold, staging: RegistryProcess, production: RegistryProcess) async throws -> (Int32, [String]) {
    let proxy = try await FaultProxy(upstreamPort: production.port, hold: hold)
    // Stopped before it would forward the held request: it never reaches the registry.
    defer { proxy.stop() }
    let out = MemoryLogSink()
    let status = await GantryCLIHarness.run(promote(version, staging: staging.host, target: proxy.host, run: "2", timeout: "12s"), out)
    #expect(try await proxy.held() == 1, "the run never reached the held request: \(out.lines)")
    return (status, errors(out))
  }

  @Test func promoteTimedOutWhileCopyingMovesNothingAndRecordsNothing() async throws {
    let (staging, production, digests) = try await registries(["1.0.0", "2.0.0"])
    defer {
      staging.stop()
      production.stop()
    }
    let (status, lines) = try await timedOutPromote("2.0.0", hold: .init("PUT", "/blobs/uploads/"), staging: staging, production: production)
    #expect(status == 1)
    #expect(lines.count == 1, "\(lines)")
    #expect(lines.first?.hasPrefix("::error title=promote timed out::promote timed out after 12s while copying 3 blobs to ") == true, "\(lines)")
    #expect(lines.first?.contains("no tag moved") == true)

    let prod = testRegistryClient(production.host)
    #expect(try await prod.resolve("app", "production")?.digest == digests[0])
    #expect(try await prod.resolve("app", "2.0.0") == nil)
    // No lease was taken: the only records are the first promotion's (its intent and completion).
    let entries = try await History(client: prod, repository: "app", environment: "production").entries().entries
    #expect(!entries.isEmpty && entries.allSatisfy { $0.record.digest == digests[0] })
    #expect(HistoryRules.unclosedIntents(entries).isEmpty)
  }

  /// A tag put already sent is not aborted: aborted, it could still reach the registry after
  /// the tags were put back, or after the `failed` record. It runs to its answer; then every
  /// tag that moved goes back, as after any failure: a stopped promotion moves no tag.
  @Test func aStopWhileTheTagMovesPutsTheMovedTagsBack() async throws {
    let (staging, production, digests) = try await registries(["1.0.0", "2.0.0"])
    defer {
      staging.stop()
      production.stop()
    }
    // The registry answers the put the run already sent.
    let (status, out, _) = try await signalledPromote("2.0.0", hold: .init("PUT", "/manifests/production$"), answer: true, staging: staging, production: production)
    #expect(status == 1)
    let lines = errors(out)
    #expect(lines.count == 1, "\(out.lines)")
    let line = lines.first ?? ""
    #expect(line.hasPrefix("::error title=promote cancelled::promote was stopped by SIGINT while moving 2.0.0, production to \(digests[1].short)"), "\(line)")
    #expect(line.contains("stopped before the moved tags were read back; tags put back: "), "\(line)")
    #expect(line.contains("/app:production restored to \(digests[0].short)"), "\(line)")
    let prod = testRegistryClient(production.host)
    #expect(try await prod.resolve("app", "production")?.digest == digests[0])
    let entries = try await History(client: prod, repository: "app", environment: "production").entries().entries
    #expect(entries.first?.record.state == .failed && entries.first?.record.digest == digests[1])
    #expect(entries.first?.record.reason?.hasPrefix("stopped by SIGINT: ") == true, "\(entries.first?.record.reason ?? "")")
    #expect(HistoryRules.unclosedIntents(entries).isEmpty)
  }

  /// A registry that never answers the tag put: the stage is given up after the grace (7 s
  /// after a signal, before the runner's SIGTERM), saying so; the intent it leaves open is the
  /// next run's to abandon once its lease ends.
  @Test func aTagPutNeverAnsweredIsGivenUpAfterTheGrace() async throws {
    let (staging, production, digests) = try await registries(["1.0.0", "2.0.0"])
    defer {
      staging.stop()
      production.stop()
    }
    let (status, out, took) = try await signalledPromote("2.0.0", hold: .init("PUT", "/manifests/production$"), answer: false, staging: staging, production: production)
    #expect(status == 1)
    // The grace is 7 s (Deadline.signalGrace), and the message below says the stage was given
    // up after it; the bound only proves the run did not wait for the put, which is never
    // answered. Under 7.5 s left half a second for a loaded CI machine's scheduling.
    #expect(took >= Deadline.signalGrace && took < .seconds(12), "\(took)")
    let lines = errors(out)
    #expect(lines.count == 1, "\(out.lines)")
    #expect(lines.first?.hasPrefix("::error title=promote cancelled::promote was stopped by SIGINT while moving 2.0.0, production to \(digests[1].short)") == true, "\(lines)")
    #expect(lines.first?.hasSuffix("its work in flight was cancelled; it did not stop within 7s: what it was doing may be left half done") == true, "\(lines)")
    #expect(try await testRegistryClient(production.host).resolve("app", "production")?.digest == digests[0])
  }

  @Test func promoteTimedOutWhileTakingTheLeaseClosesItsIntent() async throws {
    let (staging, production, digests) = try await registries(["1.0.0", "2.0.0"])
    defer {
      staging.stop()
      production.stop()
    }
    // The intent is written; the read of the other runs' intents is held.
    let (status, lines) = try await timedOutPromote("2.0.0", hold: .init("GET", "/tags/list", nth: 2), staging: staging, production: production)
    #expect(status == 1)
    #expect(lines.count == 1, "\(lines)")
    #expect(lines.first?.hasPrefix("::error title=promote timed out::promote timed out after 12s while taking the lease of production") == true, "\(lines)")

    let prod = testRegistryClient(production.host)
    try await expectIntentClosedAsFailed(prod, live: digests[0], attempted: digests[1], reason: "stopped by the stage's timeout")
  }

  @Test func aSignalWhileTakingTheLeaseClosesTheIntentNamingIt() async throws {
    let (staging, production, digests) = try await registries(["1.0.0", "2.0.0"])
    defer {
      staging.stop()
      production.stop()
    }
    // The intent is written; the read of the other runs' intents is held, and the run is
    // cancelled there.
    let (status, out, _) = try await signalledPromote("2.0.0", hold: .init("GET", "/tags/list", nth: 2), answer: false, staging: staging, production: production)
    #expect(status == 1)
    let lines = errors(out)
    #expect(lines.count == 1, "\(out.lines)")
    #expect(lines.first?.hasPrefix("::error title=promote cancelled::promote was stopped by SIGINT while taking the lease of production") == true, "\(lines)")
    try await expectIntentClosedAsFailed(testRegistryClient(production.host), live: digests[0], attempted: digests[1], reason: "nothing moved: stopped by SIGINT")
  }

  @Test func aSecondSignalEndsTheGraceAtOnce() async throws {
    let signals = Interruptions()
    let activity = StageActivity()
    activity.set("moving the tags")
    // Unwinding that would outlast any grace: it does not heed the cancellation.
    let run = Task {
      try await Deadline.run(nil, stage: "promote", activity: activity, interruptions: signals) {
        try await Task { try await Task.sleep(for: .seconds(60)) }.value
        return StageResult()
      }.result
    }
    while !signals.isWatched { try await Task.sleep(for: .milliseconds(5)) }
    signals.deliver(SIGINT)
    #expect(activity.stopCause == "SIGINT")
    activity.set("putting the tags back")
    // The same signal delivered twice at once (forwarded by two parents) is one request.
    try await Task.sleep(for: .milliseconds(100))
    signals.deliver(SIGINT)
    try await Task.sleep(for: .milliseconds(300))
    #expect(signals.isWatched, "a repeated delivery ended the grace")
    try await Task.sleep(for: .milliseconds(700))
    let started = ContinuousClock.now
    signals.deliver(SIGTERM)
    let result = await run.result
    #expect(ContinuousClock.now - started < .seconds(3))
    guard case .failure(let stopped as Deadline.Stopped) = result else {
      Issue.record("expected Stopped, got \(result)")
      return
    }
    #expect(stopped.title == "promote cancelled")
    // What it was doing when the first signal came.
    #expect(stopped.description.hasPrefix("promote was stopped by SIGINT while moving the tags; its work in flight was cancelled; SIGTERM ended it"), "\(stopped)")
    #expect(!signals.isWatched)
  }

  /// Cancelled while a timeout's 20 s grace runs: the runner's SIGTERM follows 7.5 s later, so
  /// the wait ends after a signal's grace, not the timeout's.
  @Test func aSignalDuringATimeoutsGraceShortensIt() async throws {
    let signals = Interruptions()
    let started = ContinuousClock.now
    let run = Task {
      try await Deadline.run(.milliseconds(100), stage: "rollback", activity: StageActivity(), interruptions: signals) {
        try await Task { try await Task.sleep(for: .seconds(60)) }.value
        return StageResult()
      }.result
    }
    try await Task.sleep(for: .milliseconds(400))
    #expect(signals.deliver(SIGINT))
    let result = await run.result
    let took = ContinuousClock.now - started
    #expect(took > .seconds(6) && took < .seconds(12), "\(took)")
    guard case .failure(let stopped as Deadline.Stopped) = result else {
      Issue.record("expected Stopped, got \(result)")
      return
    }
    #expect(stopped.cause == .timeout(.milliseconds(100)))
    #expect(stopped.secondSignal == SIGINT)
    #expect(stopped.description.contains("SIGINT ended it before it had unwound"), "\(stopped)")
  }

  @Test func workThatEndsAfterASignalKeepsItsResult() async throws {
    let signals = Interruptions()
    let run = Task {
      try await Deadline.run(.seconds(60), stage: "verify-digest", activity: StageActivity(), interruptions: signals) {
        // Finishes its step regardless of the cancellation, then reports.
        try await Task { try await Task.sleep(for: .milliseconds(300)) }.value
        return StageResult(failure: "the finished answer")
      }
    }
    while !signals.isWatched { try await Task.sleep(for: .milliseconds(5)) }
    signals.deliver(SIGTERM)
    let (result, late) = try await run.value
    #expect(result.failure == "the finished answer")
    #expect(late?.cause == .signal(SIGTERM))
  }

  /// Runs a promote of `version` through a proxy holding `hold` and delivers SIGINT once the
  /// request is held; the proxy then answers it (`answer`), or dies with it when the run ended.
  /// Returns the exit status, the log and the time from the signal to the end.
  func signalledPromote(_ version: String, hold: FaultProxy.Hold, answer: Bool, staging: RegistryProcess, production: RegistryProcess) async throws -> (
    status: Int32, out: MemoryLogSink, took: Duration
  ) {
    let proxy = try await FaultProxy(upstreamPort: production.port, hold: hold)
    defer { proxy.stop() }
    let signals = Interruptions()
    let out = MemoryLogSink()
    async let status = GantryCLIHarness.run(promote(version, staging: staging.host, target: proxy.host, run: "2"), out, interruptions: signals)
    try await proxy.waitUntilHeld()
    let sent = ContinuousClock.now
    #expect(signals.deliver(SIGINT))
    if answer { try await proxy.release() }
    let ended = await status
    return (ended, out, ContinuousClock.now - sent)
  }

  /// The production tag still at `live`; the newest record is the attempt at `attempted`,
  /// closed as failed with `reason`; no intent left open.
  private func expectIntentClosedAsFailed(_ prod: RegistryClient, live: Digest, attempted: Digest, reason: String) async throws {
    #expect(try await prod.resolve("app", "production")?.digest == live)
    let entries = try await History(client: prod, repository: "app", environment: "production").entries().entries
    let newest = try #require(entries.first)
    #expect(newest.record.digest == attempted)
    #expect(newest.record.state == .failed)
    #expect(newest.record.reason?.contains(reason) == true, "\(newest.record.reason ?? "")")
    #expect(HistoryRules.unclosedIntents(entries).isEmpty)
  }
}
