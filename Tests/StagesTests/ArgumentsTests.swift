import ActionsCore
import Stages
import Testing

@testable import GantryCLI

@Suite struct ArgumentsTests {
  let env = ActionEnvironment([:])

  @Test func flagsMirrorInputs() throws {
    #expect(
      try Arguments.parse(["promote", "--source", "a/b:1", "--target=x/y", "--dry-run", "--tags", "1.0"], environment: env)
        == .run(stage: "promote", flags: ["source": "a/b:1", "target": "x/y", "dry-run": "true", "tags": "1.0"], summaryFile: nil))
  }

  @Test func versionIsAnInputWhenAStageHasOne() throws {
    #expect(try Arguments.parse(["build-tag", "--version", "1.2.3"], environment: env) == .run(stage: "build-tag", flags: ["version": "1.2.3"], summaryFile: nil))
    #expect(try Arguments.parse(["--version"], environment: env) == .version)
  }

  @Test func rollbackListIsHistory() throws {
    #expect(
      try Arguments.parse(["rollback", "--list", "--target", "ghcr.io/acme/app", "--environment", "production"], environment: env)
        == .run(stage: "history", flags: ["target": "ghcr.io/acme/app", "environment": "production"], summaryFile: nil))
  }

  /// `--stage NAME` names the stage wherever it stands. Before, `gantry --stage build-tag
  /// --version 1.2.3` printed Gantry's version with exit 0 (no stage ran), `--help` gave the
  /// general text, and a boolean took the next argument as its value.
  @Test func theStageFlagNamesTheStageBeforeItsFlagsAreRead() throws {
    #expect(
      try Arguments.parse(["--stage", "build-tag", "--version", "1.2.3"], environment: env)
        == .run(stage: "build-tag", flags: ["version": "1.2.3"], summaryFile: nil))
    #expect(
      try Arguments.parse(["--version", "1.2.3", "--stage=build-tag"], environment: env)
        == .run(stage: "build-tag", flags: ["version": "1.2.3"], summaryFile: nil))
    #expect(try Arguments.parse(["--stage", "promote", "--help"], environment: env) == .help(stage: "promote"))
    #expect(
      try Arguments.parse(["--stage", "promote", "--dry-run", "--source", "a/b:1"], environment: env)
        == .run(stage: "promote", flags: ["dry-run": "true", "source": "a/b:1"], summaryFile: nil))
    #expect(
      try Arguments.parse(["--stage", "rollback", "--list", "--target", "r/app"], environment: env)
        == .run(stage: "history", flags: ["target": "r/app"], summaryFile: nil))
    #expect(try Arguments.parse(["--version"], environment: env) == .version)
  }

  /// Before, `rollback --list=false` listed the records (exit 0) and rolled nothing back.
  @Test func rollbackListTakesNoValue() {
    #expect(throws: InputError.self) { try Arguments.parse(["rollback", "--list=false", "--target", "r/app"], environment: env) }
  }

  /// A flag where a value should be is a missing value. Before, `rollback --reason --dry-run`
  /// took `--dry-run` as the reason and rolled back for real.
  @Test func aFlagIsNeverTakenAsTheValueOfTheOneBefore() throws {
    #expect(
      throws: InputError("reason", "--reason needs a value, but the flag '--dry-run' follows it; a value that starts with -- is given as --reason=--dry-run")
    ) {
      try Arguments.parse(["rollback", "--target", "r/app", "--environment", "production", "--reason", "--dry-run"], environment: env)
    }
    #expect(throws: InputError.self) { try Arguments.parse(["promote", "--tags", "--source", "a/b:1"], environment: env) }
    #expect(
      try Arguments.parse(["rollback", "--reason=--dry-run", "--dry-run"], environment: env)
        == .run(stage: "rollback", flags: ["reason": "--dry-run", "dry-run": "true"], summaryFile: nil))
    #expect(try Arguments.parse(["rollback", "--reason", "-1 error budget"], environment: env) == .run(stage: "rollback", flags: ["reason": "-1 error budget"], summaryFile: nil))
  }

  /// Before, `--tags 1.2.0 --tags production` kept only `production`, in silence.
  @Test func aListInputGivenTwiceKeepsBothValues() throws {
    #expect(
      try Arguments.parse(["promote", "--tags", "1.2.0", "--tags=production", "--retries", "1", "--retries", "2"], environment: env)
        == .run(stage: "promote", flags: ["tags": "1.2.0\nproduction", "retries": "2"], summaryFile: nil))
  }

  /// Before: "input 'production': unexpected argument", as if `production` were an input.
  @Test func aSecondValueAfterAListInputSaysHowToGiveIt() {
    #expect(throws: InputError("tags", "unexpected argument 'production' after its value: give each value with its own --tags, or one value with a line per item")) {
      try Arguments.parse(["promote", "--tags", "1.2.0", "production"], environment: env)
    }
  }

  /// The examples `gantry --help` prints: each names a stage and only that stage's inputs.
  @Test func helpExamplesNameOnlyRealInputs() throws {
    #expect(Help.general().contains("  gantry rollback --target registry.example.com/app --environment production --reason 'p95 over budget'\n"))
    // The README's `gantry rollback --list …` is findable from the help (it was in neither).
    #expect(Help.general().contains("  rollback --list       the environment's records instead of a rollback (the same as `gantry history`)\n"))
    #expect(Help.stage(RollbackStage.self).contains("  --list\n      list the environment's records instead of rolling back: `gantry history`"))
    #expect(
      try Arguments.parse(["rollback", "--list", "--target", "r/app", "--environment", "production"], environment: env)
        == .run(stage: "history", flags: ["target": "r/app", "environment": "production"], summaryFile: nil))
    #expect(Set(Help.examples.map { $0[0] }) == Set(StageCatalog.stages.map { $0.name }))
    for example in Help.examples {
      guard case .run(let stage?, let flags, _) = try Arguments.parse(example, environment: env), let type = StageCatalog.stage(named: stage) else {
        Issue.record("\(example) does not run a stage")
        continue
      }
      let known = Set(type.inputs.map(\.name))
      #expect(flags.keys.allSatisfy(known.contains), "\(example)")
      #expect(throws: Never.self, "\(example)") { _ = try Inputs(declarations: type.inputs, environment: env, flags: flags) }
    }
  }

  @Test func summaryFileAndHelp() throws {
    #expect(try Arguments.parse(["build-tag", "--summary-file", "/tmp/s.md"], environment: env) == .run(stage: "build-tag", flags: [:], summaryFile: "/tmp/s.md"))
    #expect(try Arguments.parse(["promote", "-h"], environment: env) == .help(stage: "promote"))
    #expect(throws: InputError.self) { try Arguments.parse(["build-tag", "stray"], environment: env) }
    #expect(throws: InputError.self) { try Arguments.parse(["build-tag", "--images"], environment: env) }
  }
}
