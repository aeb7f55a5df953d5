import ActionsCore
import Basics
import FoundationEssentials
import HTTP
import Stages
import Versioning

/// The whole program: argv and environment in, exit status out. The executable only calls
/// ``run(arguments:environment:)``; tests call it too.
public enum GantryCLI {
  /// Exit statuses.
  public static let success: Int32 = 0
  public static let failure: Int32 = 1
  public static let badInput: Int32 = 2

  /// Reads hostile files with parsers that can abort their process (toml++) in child
  /// processes of this binary (``ManifestFiles/childCommand``). The executable calls it;
  /// tests, which run stages in their own process, read in process.
  public static func isolateParsers() {
    guard Files.kind(atPath: "/proc/self/exe") != nil else { return }
    ManifestFiles.childCommand = ["/proc/self/exe", ManifestFiles.childArgument]
  }

  public static func run(
    arguments: [String], environment variables: [String: String],
    stdout: any LogSink = FileDescriptorSink.standardOutput, stderr: FileDescriptorSink = .standardError,
    now: Date = Date(), interruptions: Interruptions = .process
  ) async -> Int32 {
    // The binary as its own child, reading one manifest (ManifestIsolation): only the answer
    // goes to stdout, for the parent.
    if arguments.count == 3, arguments[0] == ManifestFiles.childArgument {
      try? Files.write(Array(ManifestFiles.answerInChild(name: arguments[1], path: arguments[2]).utf8), to: 1)
      return success
    }
    let environment = ActionEnvironment(variables)
    let log = Log(sink: stdout, debugEnabled: environment.isDebug, workflowCommands: environment.isGitHubActions)
    let command: Command
    do {
      command = try Arguments.parse(arguments, environment: environment)
    } catch {
      return report(error, log: log)
    }

    switch command {
    case .version:
      stdout.write("gantry \(GantryVersion.current) (\(CurlTransport.libraryDescription))")
      return success
    case .help(let name):
      if let name, let stage = StageCatalog.stage(named: name) {
        stdout.write(Help.stage(stage))
      } else if let name {
        // `gantry help deploy`: the general text with exit 0 read as if `deploy` were a stage.
        log.error("unknown stage '\(name.clipped(to: 100))'\(stageHint(name)); stages: \(stageList)", title: "Invalid input")
        return badInput
      } else {
        stdout.write(Help.general())
      }
      return success
    case .generate(let what):
      switch what {
      case "action.yml": stdout.write(Generated.actionYAML().dropLast().description)
      case "reference": stdout.write(Generated.reference().dropLast().description)
      default: return report(InputError("generate", "expected action.yml or reference, got '\(what.clipped(to: 100))'"), log: log)
      }
      return success
    case .run(let name, let flags, let summaryFile):
      guard let name = name ?? Arguments.environmentStage(environment) else {
        log.error("no stage given: pass it as the first argument or set INPUT_STAGE (`stage:` in the step's `with:`); stages: \(stageList)", title: "Invalid input")
        stderr.write(Help.general())
        return badInput
      }
      guard let stage = StageCatalog.stage(named: name) else {
        let planned = StageCatalog.planned.contains(name) ? " ('\(name.clipped(to: 100))' is planned but not built yet)" : ""
        log.error("unknown stage '\(name.clipped(to: 100))'\(planned)\(stageHint(name)); stages: \(stageList)", title: "Invalid input")
        return badInput
      }
      return await runStage(stage, flags: flags, summaryFile: summaryFile, environment: environment, log: log, stderr: stderr, now: now, interruptions: interruptions)
    }
  }

  private static var stageList: String { StageCatalog.stages.map { $0.name }.joined(separator: ", ") }

  /// " (did you mean 'build-tag'?)" for `Build-Tag`, `build_tag` or `verify`; empty when none is close.
  private static func stageHint(_ name: String) -> String {
    let spelled = name.lowercased().replacingOccurrences(of: "_", with: "-")
    return NameSuggestion.closest(to: spelled, among: StageCatalog.stages.map { $0.name }).map { " (did you mean '\($0)'?)" } ?? ""
  }

  static func runStage(
    _ stage: any Stage.Type, flags: [String: String], summaryFile: String?, environment: ActionEnvironment, log: Log,
    stderr: FileDescriptorSink, now: Date, interruptions: Interruptions
  ) async -> Int32 {
    // Secrets are masked before anything else is printed, even when another input is bad.
    for decl in stage.inputs where decl.secret {
      let raw = flags[decl.name] ?? environment.variables[decl.environmentName] ?? environment.variables[decl.underscoreEnvironmentName]
      if let raw, !raw.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { log.mask(raw.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
    let known = stage.inputs.map(\.name)
    if let unknown = flags.keys.sorted().first(where: { !known.contains($0) }) {
      // A near miss names the one input meant; otherwise the whole list, to pick from.
      let help = NameSuggestion.closest(to: unknown, among: known).map { "did you mean --\($0)? (`gantry help \(stage.name)` lists its inputs)" }
      return report(InputError(unknown, "unknown input for \(stage.name); " + (help ?? "its inputs: \(known.joined(separator: ", "))")), log: log)
    }
    for warning in UnknownInputs.warnings(for: stage, environment: environment) { log.warning(warning, title: "Unknown input") }
    if environment.isGitHubActions && environment.outputPath == nil {
      log.warning("GITHUB_OUTPUT is not set: the outputs are printed to the log, and later steps cannot read them", title: "Outputs not saved")
    }

    let result: StageResult
    do {
      let inputs = try Inputs(declarations: stage.inputs, environment: environment, flags: flags)
      let limit = stage.inputs.contains { $0.name == StageTimeout.input.name } ? try StageTimeout.limit(inputs) : nil
      let context = StageContext(inputs: inputs, environment: environment, log: log, now: now, connections: connections(log: log))
      let run = try await Deadline.run(limit, stage: stage.name, activity: context.activity, interruptions: interruptions) { try await stage.init().run(context) }
      if let late = run.late { log.warning(late.finishedNote(stage.name), title: "\(stage.name) finished after a stop") }
      result = run.result
    } catch let stopped as Deadline.Stopped {
      log.error(stopped.description, title: stopped.title)
      return failure
    } catch {
      return report(error, log: log, stage: stage.name)
    }

    // Outputs that cannot be written fail the step, but the summary and the stage's own
    // failure are still given: before, an unwritable $GITHUB_OUTPUT replaced both (a promotion
    // that had moved tags left no summary; a mismatch said only "could not write").
    var unwritten: (any Error)?
    do {
      try writeOutputs(result.outputs, environment: environment, log: log)
    } catch {
      unwritten = error
    }
    // After the outputs, and never fatal: by now tags may have moved, and a lost summary
    // must not turn a finished promotion into a failure.
    do {
      try writeSummary(result.summary, environment: environment, summaryFile: summaryFile, stderr: stderr)
    } catch {
      log.warning("could not write the step summary: \(error)", title: "Summary not written")
    }
    if let message = result.failure {
      log.error(message, title: "\(stage.name) failed")
    }
    if let unwritten {
      let done = result.failure == nil ? "; the stage itself finished (see the summary), but later steps cannot read its outputs" : ""
      log.error("could not write the stage's outputs: \(unwritten)\(done)", title: "Outputs not written")
      return failure
    }
    return result.failure == nil ? success : failure
  }

  /// Outputs to `$GITHUB_OUTPUT` (or stdout, a line at a time through the escaping log),
  /// built whole before one append.
  static func writeOutputs(_ outputs: Outputs, environment: ActionEnvironment, log: Log) throws {
    if let path = environment.outputPath {
      try FileAppender.append(try outputs.fileCommands(), to: path)
    } else {
      for line in outputs.plainText().split(separator: "\n", omittingEmptySubsequences: false).dropLast() { log.info(String(line)) }
    }
  }

  /// The summary to `--summary-file`, `$GITHUB_STEP_SUMMARY` or stderr, in one append.
  static func writeSummary(_ summary: StepSummary, environment: ActionEnvironment, summaryFile: String?, stderr: FileDescriptorSink) throws {
    guard !summary.isEmpty else { return }
    let markdown = summary.render()
    if let path = summaryFile ?? environment.summaryPath {
      try FileAppender.append(markdown, to: path)
    } else {
      stderr.writeRaw(markdown)
    }
  }

  /// One `::error::` line and the exit status for an error.
  static func report(_ error: any Error, log: Log, stage: String? = nil) -> Int32 {
    switch error {
    case let e as InputError:
      log.error(e.description, title: "Invalid input")
      return badInput
    case let e as StageFailure:
      log.error(e.message, title: e.title)
      return failure
    default:
      log.error(String(describing: error), title: stage.map { "\($0) failed" } ?? "Failed")
      return failure
    }
  }
}
