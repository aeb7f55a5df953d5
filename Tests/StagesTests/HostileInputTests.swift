import ActionsCore
import Foundation
import GantryCLI
import Testing

/// Bad input, however hostile, ends in exactly one `::error title=Invalid input::` naming the
/// input, exit 2, and nothing written: no trap (SIGILL), no exit 1, no outputs, no summary.
@Suite("hostile inputs are refused cleanly")
struct HostileInputTests {
  struct Case: Sendable, CustomTestStringConvertible {
    var input: String
    var env: [String: String]
    var testDescription: String { "\(input): \(env.filter { $0.key != "INPUT_STAGE" }.values.sorted().joined(separator: " ").prefix(60))" }
  }

  static let bad = "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----"
  static let promote = ["INPUT_STAGE": "promote", "INPUT_SOURCE": "127.0.0.1:1/a:1", "INPUT_TARGET": "127.0.0.1:1/b"]
  static let health = ["INPUT_STAGE": "health-check", "INPUT_URL": "http://127.0.0.1:1/health"]
  static let buildTag = ["INPUT_STAGE": "build-tag", "INPUT_VERSION": "1.2.3", "INPUT_SHA": "7d2a1b4c9e0f", "INPUT_CREATED": "2026-01-01T00:00:00Z"]

  static let cases: [Case] = [
    Case(input: "source", env: promote.merging(["INPUT_SOURCE": "127.0.0.1:1x5/app:1"]) { $1 }),
    Case(input: "target", env: promote.merging(["INPUT_TARGET": "a%b.io/app"]) { $1 }),
    Case(input: "source", env: ["INPUT_STAGE": "verify-digest", "INPUT_SOURCE": "a b.io/app:1", "INPUT_TARGET": "127.0.0.1:1/b:1"]),
    Case(input: "target", env: ["INPUT_STAGE": "verify-digest", "INPUT_SOURCE": "127.0.0.1:1/a:1", "INPUT_TARGET": "x.io:99999999999999999999/b:1"]),
    Case(input: "target", env: ["INPUT_STAGE": "rollback", "INPUT_TARGET": "127.0.0.1:1x5/app", "INPUT_ENVIRONMENT": "production"]),
    Case(input: "target", env: ["INPUT_STAGE": "history", "INPUT_TARGET": "a\u{1B}]0;x\u{07}.io/app", "INPUT_ENVIRONMENT": "production"]),
    Case(input: "max-size", env: promote.merging(["INPUT_MAX-SIZE": "99999999999999tb"]) { $1 }),
    Case(input: "max-size", env: promote.merging(["INPUT_MAX-SIZE": "9223372036854775808"]) { $1 }),
    Case(input: "max-size", env: promote.merging(["INPUT_MAX-SIZE": "1e400"]) { $1 }),
    Case(input: "version", env: promote.merging(["INPUT_VERSION": "1.2.3\n::set-output name=x::1"]) { $1 }),
    Case(input: "cosign-public-key", env: promote.merging(["INPUT_COSIGN-PUBLIC-KEY": bad]) { $1 }),
    Case(input: "wait-timeout", env: health.merging(["INPUT_WAIT-TIMEOUT": "9999999999999999h"]) { $1 }),
    Case(input: "interval", env: health.merging(["INPUT_INTERVAL": "99999999999999999999"]) { $1 }),
    Case(input: "interval", env: health.merging(["INPUT_INTERVAL": "9223372036854775808"]) { $1 }),
    Case(input: "method", env: health.merging(["INPUT_METHOD": "GET\r\nX-Injected: 1"]) { $1 }),
    Case(input: "method", env: health.merging(["INPUT_METHOD": "GET /x"]) { $1 }),
    Case(input: "description", env: buildTag.merging(["INPUT_DESCRIPTION": "a\nextra=line"]) { $1 }),
    Case(input: "title", env: buildTag.merging(["INPUT_TITLE": "a\rb"]) { $1 }),
    Case(input: "licenses", env: buildTag.merging(["INPUT_LICENSES": "MIT\nx=y"]) { $1 }),
    Case(input: "created", env: ["INPUT_STAGE": "build-tag", "INPUT_VERSION": "1.2.3", "INPUT_SHA": "7d2a1b4c9e0f", "INPUT_CREATED": "2026\nx=1"]),
    // The revision label took the sha as given when no tag needed it: a line break added a label.
    Case(input: "sha", env: buildTag.merging(["INPUT_TAG-RULES": "version", "INPUT_SHA": "7d2a1b4c9e0f\norg.opencontainers.image.source=https://evil.example"]) { $1 }),
    Case(input: "sha", env: buildTag.merging(["INPUT_TAG-RULES": "version", "INPUT_SHA": "７d2a1b4c9e0f"]) { $1 }),
    Case(input: "source-url", env: buildTag.merging(["INPUT_SOURCE-URL": "https://x\n::set-output name=a::b"]) { $1 }),
    Case(input: "tag-prefix", env: buildTag.merging(["INPUT_TAG-PREFIX": "a:b"]) { $1 }),
    Case(input: "tag-prefix", env: buildTag.merging(["INPUT_TAG-PREFIX": "-x"]) { $1 }),
    Case(input: "tag-suffix", env: buildTag.merging(["INPUT_TAG-SUFFIX": "x/y"]) { $1 }),
    Case(input: "images", env: buildTag.merging(["INPUT_IMAGES": "ghcr.io/acme\t/app"]) { $1 }),
    Case(input: "images", env: buildTag.merging(["INPUT_IMAGES": "ghcr.io/acme/../app"]) { $1 }),
    Case(input: "SOURCE_DATE_EPOCH", env: ["INPUT_STAGE": "build-tag", "INPUT_VERSION": "1.2.3", "INPUT_SHA": "7d2a1b4c9e0f", "SOURCE_DATE_EPOCH": "nan"]),
    Case(input: "SOURCE_DATE_EPOCH", env: ["INPUT_STAGE": "build-tag", "INPUT_VERSION": "1.2.3", "INPUT_SHA": "7d2a1b4c9e0f", "SOURCE_DATE_EPOCH": "1e300"]),
  ]

  @Test(arguments: cases)
  func refusedWithOneErrorNamingTheInput(_ c: Case) async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var env = c.env
    env["GITHUB_ACTIONS"] = "true"
    env["GITHUB_OUTPUT"] = dir + "/output"
    env["GITHUB_STEP_SUMMARY"] = dir + "/summary"
    let out = MemoryLogSink()
    let status = await GantryCLI.run(arguments: [], environment: env, stdout: out)
    #expect(status == 2)
    let errors = out.lines.filter { $0.hasPrefix("::error") }
    #expect(errors.count == 1)
    #expect(errors.first?.hasPrefix("::error title=Invalid input::input '\(c.input)'") == true, "\(errors)")
    #expect(!out.lines.contains { $0.contains("\n") || $0.contains("\r") || $0.contains("\u{1B}") })
    #expect(!FileManager.default.fileExists(atPath: dir + "/output"))
    #expect(!FileManager.default.fileExists(atPath: dir + "/summary"))
  }

  static let long = String(repeating: "x y", count: 7000)
  static let longCases: [Case] = [
    Case(input: "url", env: health.merging(["INPUT_URL": long]) { $1 }),
    Case(input: "method", env: health.merging(["INPUT_METHOD": long]) { $1 }),
    Case(input: "interval", env: health.merging(["INPUT_INTERVAL": long]) { $1 }),
    Case(input: "SOURCE_DATE_EPOCH", env: ["INPUT_STAGE": "build-tag", "INPUT_VERSION": "1.2.3", "INPUT_SHA": "7d2a1b4c9e0f", "SOURCE_DATE_EPOCH": long]),
    Case(input: "images", env: buildTag.merging(["INPUT_IMAGES": long]) { $1 }),
    Case(input: "tag-rules", env: buildTag.merging(["INPUT_TAG-RULES": long]) { $1 }),
    Case(input: "extra-tags", env: buildTag.merging(["INPUT_EXTRA-TAGS": "{{" + long + "}}"]) { $1 }),
    Case(input: "labels", env: buildTag.merging(["INPUT_LABELS": long]) { $1 }),
    Case(input: "to", env: ["INPUT_STAGE": "rollback", "INPUT_TARGET": "127.0.0.1:1/app", "INPUT_ENVIRONMENT": "production", "INPUT_TO": long]),
    Case(input: "release-id", env: ["INPUT_STAGE": "rollback", "INPUT_TARGET": "127.0.0.1:1/app", "INPUT_ENVIRONMENT": "production", "INPUT_RELEASE-ID": long]),
    Case(input: "state", env: ["INPUT_STAGE": "history", "INPUT_TARGET": "127.0.0.1:1/app", "INPUT_ENVIRONMENT": "production", "INPUT_STATE": long]),
    Case(input: "signer-repository", env: promote.merging(["INPUT_SIGNER-REPOSITORY": long, "INPUT_REQUIRE-SIGNATURE": "true"]) { $1 }),
    // Session 13 review: these still quoted the value whole.
    Case(input: "release-id", env: ["INPUT_STAGE": "promote", "INPUT_PROMOTE-IMAGES": "127.0.0.1:1/a:1 -> 127.0.0.1:1/b", "INPUT_RELEASE-ID": long]),
    Case(input: "labels", env: buildTag.merging(["INPUT_LABELS": "k=\u{7}" + long]) { $1 }),
    Case(
      input: "environment-url",
      env: promote.merging([
        "INPUT_ENVIRONMENT": "production", "INPUT_DEPLOYMENT": "true", "INPUT_GITHUB-TOKEN": "t", "GITHUB_REPOSITORY": "o/r", "GITHUB_SHA": String(repeating: "a", count: 40),
        "INPUT_ENVIRONMENT-URL": long,
      ]) { $1 }),
    Case(input: "expected-status", env: health.merging(["INPUT_EXPECTED-STATUS": long]) { $1 }),
    Case(input: "expected-body", env: health.merging(["INPUT_EXPECTED-BODY": "/(" + long + "/"]) { $1 }),
    Case(input: "expected-json", env: health.merging(["INPUT_EXPECTED-JSON": long]) { $1 }),
    Case(input: "ca-file", env: promote.merging(["INPUT_CA-FILE": "/nonexistent/" + long]) { $1 }),
    Case(input: "ca-file", env: health.merging(["INPUT_CA-FILE": "/nonexistent/" + long]) { $1 }),
  ]

  /// Lists past their caps: before, 18,000 `extra-tags` took 12 s to plan (each tag compared
  /// with every one before it) and a step's `tags` had no cap (a release manifest's has 100).
  static let tooManyCases: [Case] = [
    Case(input: "tags", env: promote.merging(["INPUT_TAGS": (0...100).map { "t\($0)" }.joined(separator: ",")]) { $1 }),
    Case(input: "extra-tags", env: buildTag.merging(["INPUT_EXTRA-TAGS": (0...100).map { "t\($0)" }.joined(separator: "\n")]) { $1 }),
  ]

  @Test(arguments: tooManyCases)
  func aListPastItsCapIsRefused(_ c: Case) async throws {
    await expectRefusedCut(c.env, naming: c.input)
  }

  /// A value of 20 KB is quoted cut: before, each of these errors quoted it whole, a 20 KB
  /// line in the log (and in an annotation GitHub cuts anyway).
  @Test(arguments: longCases)
  func aLongValueIsQuotedCut(_ c: Case) async throws {
    await expectRefusedCut(c.env, naming: c.input)
  }

  /// Exit 2 with one `Invalid input` error naming `input`, and no line of 1,000 bytes or more.
  func expectRefusedCut(_ env: [String: String], naming input: String, sourceLocation: SourceLocation = #_sourceLocation) async {
    let out = MemoryLogSink()
    #expect(await GantryCLI.run(arguments: [], environment: env.merging(["GITHUB_ACTIONS": "true"]) { $1 }, stdout: out) == 2, sourceLocation: sourceLocation)
    let errors = out.lines.filter { $0.hasPrefix("::error") }
    #expect(
      errors.count == 1 && errors.first?.hasPrefix("::error title=Invalid input::input '\(input)'") == true, "\(errors.map { $0.prefix(200) })", sourceLocation: sourceLocation)
    #expect(out.lines.allSatisfy { $0.utf8.count < 1000 }, "\(out.lines.map { $0.utf8.count })", sourceLocation: sourceLocation)
  }

  /// The version stage's `pattern`, not a regular expression or matching nothing, was quoted
  /// whole (found in the session 13 review).
  @Test func aLongVersionPatternIsQuotedCut() async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pattern-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "version = 1.2.3\n".write(toFile: dir + "/VERSION.txt", atomically: true, encoding: .utf8)
    for pattern in ["(" + Self.long, "nomatch(" + Self.long + ")"] {
      await expectRefusedCut(["INPUT_STAGE": "version", "INPUT_SOURCE": "file", "INPUT_FILE": "VERSION.txt", "INPUT_PATTERN": pattern, "GITHUB_WORKSPACE": dir], naming: "pattern")
    }
  }

  /// The version stage's `file`, too long to open (ENAMETOOLONG), is named cut.
  @Test func aLongVersionFileIsQuotedCut() async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("file-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    await expectRefusedCut(["INPUT_STAGE": "version", "INPUT_SOURCE": "file", "INPUT_FILE": String(repeating: "x", count: 20_000), "GITHUB_WORKSPACE": dir], naming: "file")
  }

  @Test func anUnknownStageOrGenerateTargetIsQuotedCut() async throws {
    for (arguments, env) in [([String](), ["INPUT_STAGE": Self.long]), (["generate", Self.long], [:])] {
      let out = MemoryLogSink()
      #expect(await GantryCLI.run(arguments: arguments, environment: env, stdout: out) == 2)
      #expect(!out.lines.isEmpty && out.lines.allSatisfy { $0.utf8.count < 1000 }, "\(out.lines.map { $0.utf8.count })")
    }
  }

  @Test func anUnwritableSummaryIsAWarningAfterTheOutputs() async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("summary-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir + "/summary-is-a-directory", withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var env = Self.buildTag
    env["GITHUB_ACTIONS"] = "true"
    env["GITHUB_OUTPUT"] = dir + "/output"
    env["GITHUB_STEP_SUMMARY"] = dir + "/summary-is-a-directory"
    let out = MemoryLogSink()
    let status = await GantryCLI.run(arguments: [], environment: env, stdout: out)
    #expect(status == 0)
    #expect(out.lines.filter { $0.hasPrefix("::warning title=Summary not written::") }.count == 1)
    #expect(!out.lines.contains { $0.hasPrefix("::error") })
    let outputs = try String(contentsOfFile: dir + "/output", encoding: .utf8)
    #expect(outputs.contains("version<<ghadelimiter_"))
  }
}
