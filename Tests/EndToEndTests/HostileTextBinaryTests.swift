import Foundation
import OCI
import TestSupport
import Testing

/// The built binary, run as the runner runs it, against a service, registries and history
/// records that answer with workflow commands, terminal escapes and markdown. The runner
/// would execute any stdout line starting with `::`, and `##[…]` anywhere: none may come
/// from them, and no step output may carry their text over several lines.
@Suite("hostile text never speaks workflow commands", .serialized)
struct HostileTextBinaryTests {
  static let payload =
    "x\n::set-output name=injected::1\n::add-mask::visible\n::stop-commands::tok\n::error title=Injected::gotcha\r\n  ::warning::w\u{1B}[31m red \u{07}bell ##[add-mask]z [click](https://evil.example) <img src=x> \u{2028}next \u{202E}gnp.exe\u{2066}"

  let dir: TempDirectory
  init() throws { dir = try TempDirectory() }

  /// Runs the binary on a thread of its own: waiting for it on the cooperative pool (two
  /// threads on two cores) would stall every other suite's awaits, timing tests among them.
  func run(_ inputs: [String: String]) async throws -> (status: Int32, stdout: String, stderr: String) {
    try await withCheckedThrowingContinuation { continuation in
      Thread { continuation.resume(with: Result { try runBlocking(inputs) }) }.start()
    }
  }

  func runBlocking(_ inputs: [String: String]) throws -> (status: Int32, stdout: String, stderr: String) {
    try? FileManager.default.removeItem(atPath: dir.file("output"))
    try? FileManager.default.removeItem(atPath: dir.file("summary"))
    let env = [
      "PATH": "/usr/bin:/bin", "GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": dir.file("output"), "GITHUB_STEP_SUMMARY": dir.file("summary"),
      "GITHUB_REPOSITORY": "acme/app", "GITHUB_RUN_ID": "7", "INPUT_RETRIES": "0",
    ]
    return try runCommand(RepoPaths.gantryBinary, [], environment: env.merging(inputs) { $1 })
  }

  /// Unicode's explicit bidirectional formatting characters (UAX #9): they reorder how the
  /// rest of a line shows (CVE-2021-42574, "Trojan Source").
  static func isBidiControl(_ s: Unicode.Scalar) -> Bool {
    [0x061C, 0x200E, 0x200F].contains(s.value) || (0x202A...0x202E).contains(s.value) || (0x2066...0x2069).contains(s.value)
  }

  /// stdout holds Gantry's own commands only, with no control bytes; outputs and summary are inert.
  func expectInert(
    _ r: (status: Int32, stdout: String, stderr: String), _ what: String, statuses: [Int32] = [0, 1], sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    #expect(statuses.contains(r.status), "\(what): exit \(r.status)\n\(r.stdout)", sourceLocation: sourceLocation)
    let own = ["::error title=", "::error::", "::warning title=", "::warning::", "::notice title=", "::notice::", "::debug::", "::group::", "::endgroup::"]
    for line in r.stdout.split(separator: "\n", omittingEmptySubsequences: false) {
      let trimmed = line.drop { $0 == " " || $0 == "\t" }
      if trimmed.hasPrefix("::") {
        #expect(own.contains { trimmed.hasPrefix($0) }, "\(what): stray command line \(line)", sourceLocation: sourceLocation)
      }
      #expect(!line.contains("##["), "\(what): \(line)", sourceLocation: sourceLocation)
      #expect(!line.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F || $0 == "\u{2028}" }, "\(what): control byte in \(line)", sourceLocation: sourceLocation)
      #expect(!line.unicodeScalars.contains(where: Self.isBidiControl), "\(what): bidi control in \(line)", sourceLocation: sourceLocation)
    }
    #expect(!r.stdout.contains("::set-output name=injected::1\n"), sourceLocation: sourceLocation)
    if let outputs = try? String(contentsOfFile: dir.file("output"), encoding: .utf8) {
      #expect(!outputs.contains("\u{1B}") && !outputs.contains("\u{07}"), "\(what): control bytes in outputs", sourceLocation: sourceLocation)
      for line in outputs.split(separator: "\n") {
        #expect(!line.hasPrefix("::") && !line.hasPrefix("  ::"), "\(what): untrusted line in outputs: \(line)", sourceLocation: sourceLocation)
      }
    }
    if let summary = try? String(contentsOfFile: dir.file("summary"), encoding: .utf8) {
      #expect(!summary.contains("\u{1B}") && !summary.contains("\u{07}"), sourceLocation: sourceLocation)
      #expect(!summary.unicodeScalars.contains(where: Self.isBidiControl), "\(what): bidi control in the summary", sourceLocation: sourceLocation)
      #expect(!summary.contains("[click](") && !summary.contains("<img"), "\(what): live markdown in the summary", sourceLocation: sourceLocation)
      #expect(!summary.contains("https://evil.example"), "\(what): a bare URL GitHub would link", sourceLocation: sourceLocation)
    }
  }

  @Test func aHostileServiceAndRegistryAnswerEveryStage() async throws {
    let server = try await HostileTextServer()
    defer { server.stop() }
    let h = server.host
    let health = try await run([
      "INPUT_STAGE": "health-check", "INPUT_URL": "http://\(h)/health", "INPUT_EXPECTED-JSON": "version=1.0.0", "INPUT_WAIT-TIMEOUT": "2s", "INPUT_INTERVAL": "100ms",
    ])
    try expectInert(health, "health-check")
    #expect(health.status == 1)
    // The body did reach the log, made inert.
    #expect(health.stdout.contains("waiting: JSON version is 'x%0A::set-output name=injected::1%0A"))
    #expect(health.stdout.contains("\\x1B[31m red \\x07bell\\x1B]0;title\\x07 ##%5Badd-mask]z"))

    try expectInert(try await run(["INPUT_STAGE": "verify-digest", "INPUT_SOURCE": "\(h)/app:1", "INPUT_TARGET": "\(h)/app:1"]), "verify-digest")
    try expectInert(try await run(["INPUT_STAGE": "promote", "INPUT_SOURCE": "\(h)/app:1", "INPUT_TARGET": "\(h)/prod"]), "promote")
    try expectInert(try await run(["INPUT_STAGE": "rollback", "INPUT_TARGET": "\(h)/app", "INPUT_ENVIRONMENT": "production"]), "rollback")
    try expectInert(try await run(["INPUT_STAGE": "history", "INPUT_TARGET": "\(h)/app", "INPUT_ENVIRONMENT": "production"]), "history")
    // A release train: every failing image's reason in one error line and a summary table.
    let images = "\(h)/app:1 -> \(h)/prod\n\(h)/app:2 -> \(h)/prod2 1.0 stable"
    for phase in ["all", "validate"] {
      try expectInert(
        try await run(["INPUT_STAGE": "promote", "INPUT_PROMOTE-IMAGES": images, "INPUT_ENVIRONMENT": "production", "INPUT_RELEASE-PHASE": phase]), "release \(phase)")
    }
    try expectInert(
      try await run(["INPUT_STAGE": "rollback", "INPUT_PROMOTE-IMAGES": "\(h)/prod\n\(h)/prod2", "INPUT_ENVIRONMENT": "production", "INPUT_RELEASE-ID": "r1"]),
      "release rollback")
  }

  @Test func hostileRecordsAndImagesInARealRegistry() async throws {
    let staging = try await RegistryProcess()
    let production = try await RegistryProcess()
    let prod = testRegistryClient(production.host)
    let factory = ImageFactory(client: prod, repository: "app")
    let old = try await factory.pushImage(tag: "1.0.0", layerSizes: [100])
    let live = try await factory.pushImage(tag: "2.0.0", layerSizes: [100])
    try await prod.putManifest("app", "production", live)
    let p = Self.payload
    let history = History(client: prod, repository: "app", environment: "production", run: HistoryRun(runURL: p, actor: p, sha: p))
    for image in [old, live] {
      let details = History.Details(operation: "promote", previous: nil, version: p, tags: ["production", p], source: p, reason: p)
      try await history.append(.completed, image.descriptor, details, intent: nil, reason: p)
    }

    let h = try await run(["INPUT_STAGE": "history", "INPUT_TARGET": "\(production.host)/app", "INPUT_ENVIRONMENT": "production"])
    try expectInert(h, "history")
    #expect(h.status == 0, "\(h.stdout)")
    #expect(h.stdout.contains("x%0A::set-output name=injected::1"))

    let r = try await run(["INPUT_STAGE": "rollback", "INPUT_TARGET": "\(production.host)/app", "INPUT_ENVIRONMENT": "production"])
    try expectInert(r, "rollback")
    #expect(r.status == 0, "\(r.stdout)")
    let outputs = try String(contentsOfFile: dir.file("output"), encoding: .utf8)
    #expect(outputs.contains("version<<ghadelimiter_"))
    #expect(!outputs.contains("set-output"), "the recorded version is no version: the output stays empty")
    #expect(r.stdout.contains("::warning::the recorded version 'x%0A::set-output"))
    // The release rollback of an id no record has reads the same hostile records.
    let release = try await run(["INPUT_STAGE": "rollback", "INPUT_PROMOTE-IMAGES": "\(production.host)/app", "INPUT_ENVIRONMENT": "production", "INPUT_RELEASE-ID": "r1"])
    try expectInert(release, "release rollback")
    #expect(release.status == 1, "\(release.stdout)")

    // An image whose config names a hostile platform: promoted, but kept out of `platforms`.
    let staged = try await ImageFactory(client: testRegistryClient(staging.host), repository: "app").pushImage(
      tag: "3.0.0", layerSizes: [100], platform: Platform(os: "linux\n::set-output name=p::1", architecture: "amd64\u{1B}[1m"))
    // …with a referrer whose artifactType is markdown and a terminal escape.
    _ = try await CosignSigner.attachReferrer(
      ImageFactory(client: testRegistryClient(staging.host), repository: "app"), to: staged, artifactType: "application/x [click](https://evil.example) <img src=x> \u{1B}[1m",
      content: Data("{}".utf8))
    let promote = try await run(["INPUT_STAGE": "promote", "INPUT_SOURCE": "\(staging.host)/app:3.0.0", "INPUT_TARGET": "\(production.host)/app", "INPUT_COPY-ARTIFACTS": "true"])
    try expectInert(promote, "promote")
    #expect(promote.status == 0, "\(promote.stdout)")
    let promoted = try String(contentsOfFile: dir.file("output"), encoding: .utf8)
    #expect(promoted.contains(staged.digest.description))
    #expect(!promoted.contains("set-output"))
    let summary = try String(contentsOfFile: dir.file("summary"), encoding: .utf8)
    #expect(summary.contains("referrer application/x \\[click\\](https\\://evil.example) &lt;img src=x&gt; \\\\x1B\\[1m"), "\(summary)")
  }

  @Test func aHostileCheckoutPathAndCommitMessages() async throws {
    let repo = try TempGitRepo()
    _ = try repo.commit("feat: x\n\n::set-output name=injected::1\n\u{1B}[31m ##[add-mask]y")
    _ = try repo.git("tag", "v1.0.0")
    _ = try repo.commit("fix: ::error title=Injected::gotcha\u{07}")
    // A checkout whose path holds a new line, a command and an escape.
    let hostile = dir.file("co\n::set-output name=injected::1\u{1B}[1m")
    _ = try await awaitCommand("/bin/cp", ["-a", repo.path, hostile])
    for path in [hostile, hostile + "/missing"] {
      let r = try await run(["INPUT_STAGE": "version", "INPUT_WORKING-DIRECTORY": path, "GITHUB_SHA": "", "GITHUB_REF": "refs/heads/main"])
      try expectInert(r, "version in \(path.debugDescription)", statuses: path.hasSuffix("/missing") ? [2] : [0, 1])
    }
  }
}
