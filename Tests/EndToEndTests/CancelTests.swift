import Foundation
import OCI
import TestSupport
import Testing

/// The runner's cancellation (SIGINT, then SIGTERM) sent to the binary in the middle of a
/// promotion: the stage unwinds as at its own timeout — tags it moved go back, its intents are
/// closed as failed — and exits 1 with one line saying what it was doing. In its container the
/// binary is PID 1, which gets no signal it has no handler for; that case runs the binary as
/// PID 1 of a new PID namespace.
@Suite("SIGINT during a promotion", .serialized, .timeLimit(.minutes(3)))
struct CancelTests {
  static let canBeInit = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")

  let staging: RegistryProcess
  let production: RegistryProcess
  let dir: TempDirectory

  init() async throws {
    staging = try await RegistryProcess()
    production = try await RegistryProcess()
    dir = try TempDirectory()
  }

  func pushServices(_ tag: String) async throws -> [String: Digest] {
    var out: [String: Digest] = [:]
    for n in ["a", "b", "c"] {
      out[n] = try await ImageFactory(client: testRegistryClient(staging.host), repository: "svc-\(n)").pushImage(tag: tag, layerSizes: [1024, 2048 + tag.count]).digest
    }
    return out
  }

  func environment(_ run: String, _ extra: [String: String]) -> [String: String] {
    [
      "PATH": "/usr/bin:/bin", "GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": dir.file("output-\(run)"), "GITHUB_STEP_SUMMARY": dir.file("summary-\(run)"),
      "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/app", "GITHUB_RUN_ID": run, "INPUT_STAGE": "promote",
      "INPUT_ENVIRONMENT": "production",
    ].merging(extra) { $1 }
  }

  func release(_ tag: String, to host: String, id: String) -> [String: String] {
    [
      "INPUT_PROMOTE-IMAGES": ["a", "b", "c"].map { "\(staging.host)/svc-\($0):\(tag) -> \(host)/prod/svc-\($0)" }.joined(separator: "\n"),
      "INPUT_RELEASE-ID": id, "INPUT_TAGS": "production",
    ]
  }

  /// Starts the binary (as PID 1 of a new PID namespace when `asInit`); returns the process to
  /// wait for and the pid to signal.
  func start(_ env: [String: String], asInit: Bool, log: String) async throws -> (ChildProcess, pid_t) {
    guard asInit else {
      let p = try ChildProcess(RepoPaths.gantryBinary, [], environment: env, logFile: log)
      return (p, p.pid)
    }
    let p = try ChildProcess("/usr/bin/unshare", ["--pid", "--fork", RepoPaths.gantryBinary], environment: env, logFile: log)
    // unshare forks the binary: its only child.
    for _ in 0..<500 {
      let children = (try? String(contentsOfFile: "/proc/\(p.pid)/task/\(p.pid)/children", encoding: .utf8)) ?? ""
      if let child = children.split(separator: " ").first.flatMap({ pid_t($0) }) {
        let status = (try? String(contentsOfFile: "/proc/\(child)/status", encoding: .utf8)) ?? ""
        // NSpid: its pid here, then 1 in its own namespace.
        #expect(status.split(separator: "\n").contains { $0.hasPrefix("NSpid:") && $0.hasSuffix("\t1") }, "\(status)")
        return (p, child)
      }
      try await Task.sleep(for: .milliseconds(10))
    }
    throw TestSupportError("unshare started no child")
  }

  func errors(_ log: String) -> [String] {
    ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init).filter { $0.hasPrefix("::error") }
  }

  @Test func aReleaseCancelledWhileItsTagsMovePutsEveryMovedTagBack() async throws {
    defer {
      staging.stop()
      production.stop()
    }
    let old = try await pushServices("1.0.0")
    let first = try await awaitCommand(RepoPaths.gantryBinary, [], environment: environment("1", release("1.0.0", to: production.host, id: "r1")))
    #expect(first.status == 0, "\(first.stdout)")
    _ = try await pushServices("2.0.0")

    // The second environment-tag PUT waits at the proxy; the run is cancelled meanwhile.
    let proxy = try await FaultProxy(upstreamPort: production.port, hold: .init("PUT", "/manifests/production$", nth: 2))
    defer { proxy.stop() }
    let log = dir.file("cancelled.log")
    let (run, pid) = try await start(environment("2", release("2.0.0", to: proxy.host, id: "r2")), asInit: false, log: log)
    try await proxy.waitUntilHeld()
    let sent = ContinuousClock.now
    kill(pid, SIGINT)
    // The registry answers the put already sent: the run waits for it (aborted, it could land
    // after the restore), starts no other, and puts back every tag that moved.
    try await Task.sleep(for: .milliseconds(200))
    try await proxy.release()
    #expect(await run.waitForExit(timeout: .seconds(15)))
    // Within the grace the runner gives before its SIGTERM (7.5 s).
    #expect(ContinuousClock.now - sent < .seconds(7))
    #expect(run.exitStatus == 1)

    let lines = errors(log)
    #expect(lines.count == 1, "\(lines)")
    let line = lines.first ?? ""
    #expect(line.hasPrefix("::error title=promote cancelled::promote was stopped by SIGINT while moving the tags of 3 images"), "\(line)")
    // The held one and the first moved and go back; the third went back too, or was never sent.
    let restored = line.components(separatedBy: ":production restored to ").count - 1
    let unchanged = line.components(separatedBy: ":production unchanged").count - 1
    #expect(restored >= 2 && restored + unchanged == 3, "\(line)")

    let prod = testRegistryClient(production.host)
    for n in ["a", "b", "c"] {
      #expect(try await prod.resolve("prod/svc-\(n)", "production")?.digest == old[n])
      let entries = try await History(client: prod, repository: "prod/svc-\(n)", environment: "production").entries().entries
      let newest = try #require(entries.first)
      #expect(newest.record.state == .failed && newest.record.release == "r2", "\(newest.record)")
      #expect(newest.record.reason?.hasPrefix("stopped by SIGINT: ") == true, "\(newest.record.reason ?? "")")
      #expect(HistoryRules.unclosedIntents(entries).isEmpty)
    }

    // Nothing is left to wait out: the same release goes through at once.
    let again = try await awaitCommand(RepoPaths.gantryBinary, [], environment: environment("3", release("2.0.0", to: production.host, id: "r2")))
    #expect(again.status == 0, "\(again.stdout)")
  }

  /// `docker stop` and the runner's second signal are SIGTERM; some runner versions sent
  /// SIGHUP. Each stops the stage, which says which one did.
  @Test(arguments: [SIGTERM, SIGHUP]) func otherStopSignalsStopTheStageToo(_ signal: Int32) async throws {
    defer {
      staging.stop()
      production.stop()
    }
    let server = try await LocalHTTPServer()
    defer { server.stop() }
    let log = dir.file("health.log")
    let env = ["PATH": "/usr/bin:/bin", "GITHUB_ACTIONS": "true", "INPUT_STAGE": "health-check", "INPUT_URL": server.url("/slow/30000").absoluteString, "INPUT_TIMEOUT-MS": "60000"]
    let run = try ChildProcess(RepoPaths.gantryBinary, [], environment: env, logFile: log)
    // The probe is out once the server saw it.
    try await Task.sleep(for: .milliseconds(500))
    kill(run.pid, signal)
    #expect(await run.waitForExit(timeout: .seconds(10)))
    #expect(run.exitStatus == 1)
    let name = signal == SIGTERM ? "SIGTERM" : "SIGHUP"
    #expect(
      errors(log) == ["::error title=health-check cancelled::health-check was stopped by \(name) while waiting for the first healthy answer (attempt 1); its work in flight was cancelled"],
      "\(errors(log))")
  }

  /// As in its container: PID 1, which the kernel sends only the signals it handles.
  @Test(.enabled(if: CancelTests.canBeInit)) func pid1CancelledWhileCopyingStopsAndMovesNothing() async throws {
    defer {
      staging.stop()
      production.stop()
    }
    let old = try await pushServices("1.0.0")
    let single = ["INPUT_SOURCE": "\(staging.host)/svc-a:1.0.0", "INPUT_TARGET": "\(production.host)/prod/svc-a"]
    let first = try await awaitCommand(RepoPaths.gantryBinary, [], environment: environment("1", single))
    #expect(first.status == 0, "\(first.stdout)")
    let new = try await pushServices("2.0.0")

    let proxy = try await FaultProxy(upstreamPort: production.port, hold: .init("PUT", "/blobs/uploads/"))
    let log = dir.file("init.log")
    let (run, pid) = try await start(
      environment("2", ["INPUT_SOURCE": "\(staging.host)/svc-a:2.0.0", "INPUT_TARGET": "\(proxy.host)/prod/svc-a"]), asInit: true, log: log)
    try await proxy.waitUntilHeld()
    kill(pid, SIGINT)
    #expect(await run.waitForExit(timeout: .seconds(15)))
    proxy.stop()
    #expect(run.exitStatus == 1)
    let lines = errors(log)
    #expect(lines.count == 1, "\(lines)")
    #expect(lines.first?.hasPrefix("::error title=promote cancelled::promote was stopped by SIGINT while copying ") == true, "\(lines)")
    #expect(lines.first?.contains("no tag moved") == true, "\(lines)")

    let prod = testRegistryClient(production.host)
    #expect(try await prod.resolve("prod/svc-a", "production")?.digest == old["a"])
    #expect(try await prod.resolve("prod/svc-a", "2.0.0") == nil)
    #expect(try await prod.resolve("prod/svc-a", new["a"]?.description ?? "") == nil)
  }
}
