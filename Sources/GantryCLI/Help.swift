import ActionsCore
import Basics
import HTTP
import Stages

/// `gantry --help` and `gantry <stage> --help`, from the declarations.
enum Help {
  static func general() -> String {
    let width = (StageCatalog.stages.map { $0.name.count }.max() ?? 10) + 2
    var s = """
      gantry \(GantryVersion.current) — promote tested container images from staging to production, by digest.

      USAGE:
        gantry <stage> [--input value ...] [--summary-file PATH]
        INPUT_STAGE=<stage> INPUT_<NAME>=value gantry      (how the GitHub Action runs it)

      STAGES:

      """
    for stage in StageCatalog.stages {
      s += "  " + stage.name.padding(toLength: width, withPad: " ", startingAt: 0) + stage.abstract + "\n"
    }
    if !StageCatalog.planned.isEmpty {
      s += "  (planned: \(StageCatalog.planned.joined(separator: ", ")))\n"
    }
    s += "\nEXAMPLES:\n"
    // Arguments with spaces quoted as a shell needs them.
    for example in examples { s += "  gantry " + example.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ") + "\n" }
    s += """

      OPTIONS:
        --summary-file PATH   append the markdown job summary to PATH (default: $GITHUB_STEP_SUMMARY, else stderr)
        -h, --help            this text; `gantry <stage> --help` lists a stage's inputs and outputs
        -V, --version         version
        rollback --list       the environment's records instead of a rollback (the same as `gantry history`)

      Inputs come from --flags, then INPUT_<NAME> variables (hyphens kept, underscores accepted), then defaults.
      A list input (one per line) may be repeated: --tags 1.2.0 --tags production.
      Outputs go to $GITHUB_OUTPUT, or to stdout outside Actions: name=value, several lines as name<<EOF_… … EOF_….
      Exit status: 0 success, 1 failure, 2 bad input.

      """
    return s
  }

  /// Copy-pasteable invocations, one per common step (a test parses each against its stage).
  static let examples: [[String]] = [
    ["version", "--source", "tags"],
    ["build-tag", "--images", "ghcr.io/acme/app", "--environment", "production", "--version", "1.2.3"],
    [
      "promote", "--source", "staging.example.com/app:1.2.0-SNAPSHOT-7d2a1b4", "--target", "registry.example.com/app", "--tags", "1.2.0", "--environment",
      "production",
    ],
    ["verify-digest", "--source", "staging.example.com/app:1.2.0-SNAPSHOT-7d2a1b4", "--target", "registry.example.com/app:production"],
    ["health-check", "--url", "https://app.example.com/healthz", "--expected-json", "version=1.2.0"],
    ["rollback", "--target", "registry.example.com/app", "--environment", "production", "--reason", "p95 over budget"],
    ["history", "--target", "registry.example.com/app", "--environment", "production"],
  ]

  static func stage(_ stage: any Stage.Type) -> String {
    var s = "gantry \(stage.name) — \(stage.abstract)\n\nUSAGE: gantry \(stage.name) [--input value ...]\n\nINPUTS:\n"
    for i in stage.inputs {
      var notes: [String] = []
      if i.required { notes.append("required") }
      if let d = i.defaultValue { notes.append("default: \(d)") }
      if case .choice(let options) = i.kind { notes.append("one of: \(options.joined(separator: ", "))") }
      if i.kind == .boolean { notes.append("true|false") }
      if i.kind == .list { notes.append("one per line") }
      if i.secret { notes.append("secret, masked") }
      s += "  --\(i.name)\n      \(i.description)\(notes.isEmpty ? "" : " [\(notes.joined(separator: "; "))]")\n"
    }
    // `--list` is no input (it runs another stage), so the list above cannot show it.
    if stage.name == RollbackStage.name { s += "  --list\n      list the environment's records instead of rolling back: `gantry history` (a flag, no value)\n" }
    s += "\nOUTPUTS:\n"
    for o in stage.outputs { s += "  \(o.name)\n      \(o.description)\n" }
    return s
  }
}
