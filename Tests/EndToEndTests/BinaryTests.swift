import Foundation
import OCI
import TestSupport
import Testing

/// Runs the built `gantry` binary exactly as the runner does: INPUT_ variables with hyphens,
/// temp GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, and checks the files byte for byte.
@Suite("gantry binary in a runner-shaped environment", .serialized)
struct BinaryTests {
  let dir: TempDirectory
  init() throws { dir = try TempDirectory() }

  var runnerEnvironment: [String: String] {
    [
      "PATH": "/usr/bin:/bin", "GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": dir.file("output"),
      "GITHUB_STEP_SUMMARY": dir.file("summary"), "GITHUB_WORKSPACE": dir.path, "GITHUB_REPOSITORY": "acme/app",
      "GITHUB_SERVER_URL": "https://github.com", "GITHUB_SHA": "7d2a1b4c9e0f1234567890abcdef123456789012",
      "GITHUB_REF": "refs/heads/main",
    ]
  }

  let buildTagInputs: [String: String] = [
    "INPUT_STAGE": "build-tag", "INPUT_IMAGES": "ghcr.io/acme/app", "INPUT_ENVIRONMENT": "production",
    "INPUT_VERSION": "v1.4.2", "INPUT_TAG-STYLE": "both", "INPUT_CREATED": "2026-11-22T03:15:00Z",
    "INPUT_EXTRA-TAGS": "{{version}}-{{sha7}}",
  ]

  /// Replaces each random `ghadelimiter_<UUID>` with `DELIM` after checking its shape.
  func normalisedOutputs() throws -> String {
    let text = try String(contentsOfFile: dir.file("output"), encoding: .utf8)
    let pattern = try NSRegularExpression(pattern: "ghadelimiter_[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}")
    return pattern.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "DELIM")
  }

  let expectedOutputs = """
    tags<<DELIM
    1.4.2
    v1.4.2
    1.4
    v1.4
    1
    v1
    latest
    1.4.2-7d2a1b4
    DELIM
    images<<DELIM
    ghcr.io/acme/app:1.4.2
    ghcr.io/acme/app:v1.4.2
    ghcr.io/acme/app:1.4
    ghcr.io/acme/app:v1.4
    ghcr.io/acme/app:1
    ghcr.io/acme/app:v1
    ghcr.io/acme/app:latest
    ghcr.io/acme/app:1.4.2-7d2a1b4
    DELIM
    labels<<DELIM
    org.opencontainers.image.created=2026-11-22T03:15:00Z
    org.opencontainers.image.revision=7d2a1b4c9e0f1234567890abcdef123456789012
    org.opencontainers.image.version=1.4.2
    org.opencontainers.image.source=https://github.com/acme/app
    org.opencontainers.image.url=https://github.com/acme/app
    org.opencontainers.image.title=app
    DELIM
    annotations<<DELIM
    org.opencontainers.image.created=2026-11-22T03:15:00Z
    org.opencontainers.image.revision=7d2a1b4c9e0f1234567890abcdef123456789012
    org.opencontainers.image.version=1.4.2
    org.opencontainers.image.source=https://github.com/acme/app
    org.opencontainers.image.url=https://github.com/acme/app
    org.opencontainers.image.title=app
    DELIM
    json<<DELIM
    {"images":["ghcr.io/acme/app:1.4.2","ghcr.io/acme/app:v1.4.2","ghcr.io/acme/app:1.4","ghcr.io/acme/app:v1.4","ghcr.io/acme/app:1","ghcr.io/acme/app:v1","ghcr.io/acme/app:latest","ghcr.io/acme/app:1.4.2-7d2a1b4"],"labels":{"org.opencontainers.image.created":"2026-11-22T03:15:00Z","org.opencontainers.image.revision":"7d2a1b4c9e0f1234567890abcdef123456789012","org.opencontainers.image.source":"https://github.com/acme/app","org.opencontainers.image.title":"app","org.opencontainers.image.url":"https://github.com/acme/app","org.opencontainers.image.version":"1.4.2"},"tags":["1.4.2","v1.4.2","1.4","v1.4","1","v1","latest","1.4.2-7d2a1b4"],"version":"1.4.2"}
    DELIM
    version<<DELIM
    1.4.2
    DELIM

    """

  let expectedSummary = """
    ## Image tags for production

    | Tag | Rule |
    | --- | --- |
    | `1.4.2` | version |
    | `v1.4.2` | version |
    | `1.4` | minor |
    | `v1.4` | minor |
    | `1` | major |
    | `v1` | major |
    | `latest` | latest |
    | `1.4.2-7d2a1b4` | extra |

    <details><summary>8 image references</summary>

    - `ghcr.io/acme/app:1.4.2`
    - `ghcr.io/acme/app:v1.4.2`
    - `ghcr.io/acme/app:1.4`
    - `ghcr.io/acme/app:v1.4`
    - `ghcr.io/acme/app:1`
    - `ghcr.io/acme/app:v1`
    - `ghcr.io/acme/app:latest`
    - `ghcr.io/acme/app:1.4.2-7d2a1b4`

    </details>

    | Label | Value |
    | --- | --- |
    | `org.opencontainers.image.created` | 2026-11-22T03:15:00Z |
    | `org.opencontainers.image.revision` | 7d2a1b4c9e0f1234567890abcdef123456789012 |
    | `org.opencontainers.image.version` | 1.4.2 |
    | `org.opencontainers.image.source` | https\\://github.com/acme/app |
    | `org.opencontainers.image.url` | https\\://github.com/acme/app |
    | `org.opencontainers.image.title` | app |

    """

  @Test func buildTagFromInputVariables() async throws {
    let r = try await awaitCommand(RepoPaths.gantryBinary, [], environment: runnerEnvironment.merging(buildTagInputs) { $1 })
    #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
    #expect(try normalisedOutputs() == expectedOutputs)
    #expect(try String(contentsOfFile: dir.file("summary"), encoding: .utf8) == expectedSummary)
    #expect(r.stdout.isEmpty)
  }

  @Test func buildTagFromFlagsGivesTheSameFiles() async throws {
    let flags = [
      "build-tag", "--images", "ghcr.io/acme/app", "--environment", "production", "--version", "v1.4.2", "--tag-style", "both",
      "--created", "2026-11-22T03:15:00Z", "--extra-tags", "{{version}}-{{sha7}}",
    ]
    let r = try await awaitCommand(RepoPaths.gantryBinary, flags, environment: runnerEnvironment)
    #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
    #expect(try normalisedOutputs() == expectedOutputs)
    #expect(try String(contentsOfFile: dir.file("summary"), encoding: .utf8) == expectedSummary)
  }

  @Test func underscoreSpellingIsAccepted() async throws {
    var env = runnerEnvironment.merging(buildTagInputs) { $1 }
    env["INPUT_TAG_STYLE"] = env.removeValue(forKey: "INPUT_TAG-STYLE")
    env["INPUT_EXTRA_TAGS"] = env.removeValue(forKey: "INPUT_EXTRA-TAGS")
    let r = try await awaitCommand(RepoPaths.gantryBinary, [], environment: env)
    #expect(r.status == 0)
    #expect(try normalisedOutputs() == expectedOutputs)
  }

  /// `stage:` is trimmed as every input is: `stage: |` (or a dispatch input with a trailing
  /// space) gave "unknown stage 'build-tag%0A' (did you mean 'build-tag'?)", exit 2.
  @Test func theStageInputIsTrimmedAsEveryInputIs() async throws {
    for stage in ["build-tag\n", " build-tag "] {
      var env = runnerEnvironment.merging(buildTagInputs) { $1 }
      env["INPUT_STAGE"] = stage
      let r = try await awaitCommand(RepoPaths.gantryBinary, [], environment: env)
      #expect(r.status == 0, "\(r.stdout)")
      #expect(try normalisedOutputs() == expectedOutputs)
      try FileManager.default.removeItem(atPath: dir.file("output"))
    }
  }

  @Test func badInputExitsTwoWithOneErrorLineAndWritesNothing() async throws {
    var env = runnerEnvironment.merging(buildTagInputs) { $1 }
    env["INPUT_LATEST"] = "yes"
    let r = try await awaitCommand(RepoPaths.gantryBinary, [], environment: env)
    #expect(r.status == 2)
    #expect(r.stdout == "::error title=Invalid input::input 'latest': expected one of auto, true, false, got 'yes'\n")
    #expect(!FileManager.default.fileExists(atPath: dir.file("output")))
    #expect(!FileManager.default.fileExists(atPath: dir.file("summary")))
  }

  @Test func unknownStageListsTheStages() async throws {
    let r = try await awaitCommand(RepoPaths.gantryBinary, ["deploy"], environment: runnerEnvironment)
    #expect(r.status == 2)
    #expect(r.stdout.hasPrefix("::error title=Invalid input::unknown stage 'deploy'; stages: version, build-tag, promote, verify-digest, health-check, rollback, history"))
  }

  /// Before, `gantry help deploy` printed the general help with exit 0.
  @Test func helpForAnUnknownStageIsBadInput() async throws {
    for args in [["help", "deploy"], ["deploy", "--help"]] {
      let r = try await awaitCommand(RepoPaths.gantryBinary, args, environment: [:])
      #expect(r.status == 2)
      #expect(r.stdout == "error: Invalid input: unknown stage 'deploy'; stages: version, build-tag, promote, verify-digest, health-check, rollback, history\n")
    }
  }

  /// Before, `stage: Build_Tag` or `stage: verify` got the list of stages only.
  @Test func aMisspeltStageNamesTheStageMeant() async throws {
    for (given, meant) in [("Build_Tag", "build-tag"), ("verify", "verify-digest"), ("promot", "promote")] {
      var env = runnerEnvironment
      env["INPUT_STAGE"] = given
      let r = try await awaitCommand(RepoPaths.gantryBinary, [], environment: env)
      #expect(r.status == 2)
      #expect(r.stdout.hasPrefix("::error title=Invalid input::unknown stage '\(given)' (did you mean '\(meant)'?); stages: version, build-tag,"), "\(r.stdout)")
    }
  }

  @Test func missingStageIsBadInput() async throws {
    let r = try await awaitCommand(RepoPaths.gantryBinary, [], environment: runnerEnvironment)
    #expect(r.status == 2)
    #expect(r.stdout.contains("no stage given"))
  }

  @Test func helpListsStagesAndInputs() async throws {
    let general = try await awaitCommand(RepoPaths.gantryBinary, ["--help"], environment: [:])
    #expect(general.status == 0)
    #expect(general.stdout.contains("build-tag"))
    #expect(general.stdout.contains("A list input (one per line) may be repeated: --tags 1.2.0 --tags production."))
    let stage = try await awaitCommand(RepoPaths.gantryBinary, ["build-tag", "--help"], environment: [:])
    #expect(stage.stdout.contains("--tag-style"))
    #expect(stage.stdout.contains("[default: plain; one of: plain, v, both]"))
  }

  /// Before, promote's `version` said "Default: from a tag ref (refs/tags/v1.2.3)", which
  /// only build-tag does: a tag-triggered promotion recorded no version, against its help.
  @Test func promoteHelpSaysWhereItsVersionComesFrom() async throws {
    let r = try await awaitCommand(RepoPaths.gantryBinary, ["help", "promote"], environment: [:])
    #expect(r.stdout.contains("promote: recorded with the promotion (history, rollback's `version` output), default: the one target tag that is a version X.Y.Z"))
  }

  /// Before, `retries: 20` and `limit: 5000` were refused with ranges the help never stated.
  @Test func helpStatesTheRangesTheStagesEnforce() async throws {
    let history = try await awaitCommand(RepoPaths.gantryBinary, ["help", "history"], environment: [:])
    #expect(history.stdout.contains("history: records to show, newest first (1 to 1000) [default: 20]"))
    #expect(history.stdout.contains("(connection errors, 429, 5xx), 0 to 10 [default: 3]"))
  }

  @Test func outsideActionsOutputsArePrintedAndSummaryGoesToStderr() async throws {
    let r = try await awaitCommand(
      RepoPaths.gantryBinary, ["build-tag", "--tag-rules", "sha", "--sha", "abcdef1234"], environment: ["PATH": "/usr/bin:/bin"])
    #expect(r.status == 0)
    #expect(r.stdout.hasPrefix("tags=sha-abcdef1\nimages=\nlabels<<EOF_"))
    #expect(r.stderr.hasPrefix("## Image tags for dev"))
  }

  @Test func secretsAreNeverPrintedOutsideActions() async throws {
    let r = try await awaitCommand(
      RepoPaths.gantryBinary, ["promote", "--source", "127.0.0.1:1/a:1", "--target", "127.0.0.1:1/b", "--target-password", "s3cr3t-pw", "--retries", "0"],
      environment: ["PATH": "/usr/bin:/bin"])
    #expect(r.status == 1)
    #expect(r.stdout.hasPrefix("error: promote failed: cannot reach 127.0.0.1:1"))
    #expect(!r.stdout.contains("s3cr3t-pw") && !r.stderr.contains("s3cr3t-pw"))
  }

  @Test func unknownFlagIsBadInput() async throws {
    let r = try await awaitCommand(RepoPaths.gantryBinary, ["build-tag", "--colour", "red"], environment: [:])
    #expect(r.status == 2)
    #expect(r.stdout.contains("input 'colour': unknown input for build-tag; its inputs: images, environment,"))
  }

  /// Before, a near miss got the same 17-name list as any other unknown flag.
  @Test func aMisspeltFlagNamesTheInputMeant() async throws {
    let r = try await awaitCommand(RepoPaths.gantryBinary, ["build-tag", "--tag-styl", "both"], environment: [:])
    #expect(r.status == 2)
    #expect(r.stdout == "error: Invalid input: input 'tag-styl': unknown input for build-tag; did you mean --tag-style? (`gantry help build-tag` lists its inputs)\n")
  }

  /// Before, `INPUT_TAG-STYL` (a misspelt `with:` key) and `INPUT_TAGS` (promote's input, as
  /// docker/metadata-action names its rules) were ignored in silence: exit 0 with the default
  /// tags. Now each is one warning naming the variable and the input meant; the runner's own
  /// variables for other stages' inputs (empty, or action.yml's default) stay quiet.
  @Test func inputVariablesNoInputReadsAreWarnedAbout() async throws {
    var env = runnerEnvironment.merging(buildTagInputs) { $1 }
    env["INPUT_TAG-STYL"] = "v"
    env["INPUT_TAGS"] = "type=semver,pattern={{version}}"
    env["INPUT_MAX-SIZE"] = "1GB"
    env["INPUT_URL"] = ""
    env["INPUT_GITHUB-TOKEN"] = "ghs_token"
    env["INPUT_PROBES"] = "20"
    env["INPUT_" + String(repeating: "X", count: 5000)] = "y"
    let r = try await awaitCommand(RepoPaths.gantryBinary, [], environment: env)
    #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
    #expect(try normalisedOutputs() == expectedOutputs)
    #expect(
      r.stdout.split(separator: "\n") == [
        "::warning title=Unknown input::INPUT_TAG-STYL (`tag-styl:`) is not an input of any stage: ignored; did you mean `tag-style:`? (`gantry help build-tag` lists its inputs)",
        "::warning title=Unknown input::INPUT_TAGS (`tags:`) is an input of promote, rollback, not of build-tag: ignored; did you mean `extra-tags:`?",
        "::warning title=Unknown input::INPUT_\(String(repeating: "X", count: 74))… (`\(String(repeating: "x", count: 80))…:`) is not an input of any stage: ignored (`gantry help build-tag` lists its inputs)",
      ], "\(r.stdout)")
  }

  /// Before, on a runner without GITHUB_OUTPUT the outputs went to the log in silence.
  @Test func aRunnerWithoutGitHubOutputIsWarned() async throws {
    var env = runnerEnvironment.merging(buildTagInputs) { $1 }
    env["GITHUB_OUTPUT"] = nil
    let r = try await awaitCommand(RepoPaths.gantryBinary, [], environment: env)
    #expect(r.status == 0)
    #expect(r.stdout.hasPrefix("::warning title=Outputs not saved::GITHUB_OUTPUT is not set: the outputs are printed to the log, and later steps cannot read them\n"))
    #expect(r.stdout.contains("tags<<"))
  }

  /// A $GITHUB_OUTPUT that cannot be written (here a directory) fails the step, but the stage's
  /// own failure and the summary are still given. Before, "could not write the stage's outputs"
  /// was all: a digest mismatch was not named and no summary was written.
  @Test func anUnwritableOutputFileStillGivesTheFailureAndTheSummary() async throws {
    let registry = try await RegistryProcess()
    let factory = ImageFactory(client: testRegistryClient(registry.host), repository: "app")
    let one = try await factory.pushImage(tag: "1", layerSizes: [100])
    _ = try await factory.pushImage(tag: "2", layerSizes: [200])
    try FileManager.default.createDirectory(atPath: dir.file("output-dir"), withIntermediateDirectories: true)
    var env = runnerEnvironment
    env["GITHUB_OUTPUT"] = dir.file("output-dir")
    let verify = ["INPUT_STAGE": "verify-digest", "INPUT_SOURCE": "\(registry.host)/app:1", "INPUT_RETRIES": "0"]

    let mismatch = try await awaitCommand(RepoPaths.gantryBinary, [], environment: env.merging(verify.merging(["INPUT_TARGET": "\(registry.host)/app:2"]) { $1 }) { $1 })
    #expect(mismatch.status == 1)
    #expect(mismatch.stdout.contains("::error title=verify-digest failed::\(registry.host)/app:1 is \(one.digest) but"), "\(mismatch.stdout)")
    #expect(mismatch.stdout.contains("::error title=Outputs not written::could not write the stage's outputs: cannot open \(dir.file("output-dir"))"))
    #expect(try String(contentsOfFile: dir.file("summary"), encoding: .utf8).hasPrefix("## Digests differ ✗"))

    // A stage that passed still fails the step: later steps would read empty outputs.
    try FileManager.default.removeItem(atPath: dir.file("summary"))
    let match = try await awaitCommand(RepoPaths.gantryBinary, [], environment: env.merging(verify.merging(["INPUT_TARGET": "\(registry.host)/app:1"]) { $1 }) { $1 })
    #expect(match.status == 1)
    #expect(match.stdout.contains("the stage itself finished (see the summary), but later steps cannot read its outputs"), "\(match.stdout)")
    #expect(try String(contentsOfFile: dir.file("summary"), encoding: .utf8).hasPrefix("## Digests match ✓"))
  }

  /// Corrupt and malicious checkouts, read by the binary as the runner runs it: exit 1 with
  /// one `::error` line that says what is wrong, no crash, nothing written, and never the
  /// text of a file outside the repository.
  @Test func aHostileCheckoutFailsWithOneCleanError() throws {
    let repo = try TempGitRepo()
    try repo.commit("feat: start")
    try repo.git("tag", "v1.0.0")
    try repo.commit("fix: one")
    try repo.git("gc", "-q")
    let git = repo.directory.file(".git")
    let packs = try FileManager.default.contentsOfDirectory(atPath: "\(git)/objects/pack").filter { $0.hasSuffix(".idx") }
    #expect(packs.count == 1)
    let index = "\(git)/objects/pack/\(packs.first ?? "")"
    let original = try Data(contentsOf: URL(fileURLWithPath: index))
    func run(_ expected: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
      try? FileManager.default.removeItem(atPath: dir.file("output"))
      var env = runnerEnvironment.merging(["INPUT_STAGE": "version", "INPUT_SOURCE": "conventional", "GITHUB_WORKSPACE": repo.path]) { $1 }
      env["GITHUB_SHA"] = nil
      let r = try runCommand(RepoPaths.gantryBinary, [], environment: env)
      #expect(r.status == 1, "\(r.stdout)\(r.stderr)", sourceLocation: sourceLocation)
      let errors = r.stdout.split(separator: "\n").filter { $0.hasPrefix("::error") }
      #expect(errors.count == 1 && errors.first?.contains(expected) == true, "\(r.stdout)", sourceLocation: sourceLocation)
      #expect(!r.stdout.contains("root:") && !r.stderr.contains("root:"), sourceLocation: sourceLocation)
      #expect((try? String(contentsOfFile: dir.file("output"), encoding: .utf8)) ?? "" == "", sourceLocation: sourceLocation)
    }
    // A fan-out table claiming 0x7fffffff objects: libgit2 1.5.1's own check overflows and
    // its lookup reads past the file (SIGSEGV); Gantry refuses the index first.
    var huge = [UInt8](original)
    for i in 0..<256 { huge.replaceSubrange((8 + i * 4)..<(12 + i * 4), with: [0x7f, 0xff, 0xff, 0xff]) }
    try Data(huge).write(to: URL(fileURLWithPath: index))
    try run("pack index")
    try Data(original).write(to: URL(fileURLWithPath: index))
    // HEAD leading outside the repository: refused by name, the file never read.
    try "ref: ../../../../../../../../etc/passwd\n".write(toFile: "\(git)/HEAD", atomically: true, encoding: .utf8)
    try run("not a ref under refs/")
  }
}
