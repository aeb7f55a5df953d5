import ActionsCore
import Basics
import Stages

/// What the command line asked for.
public enum Command: Sendable, Equatable {
  case help(stage: String?)
  case version
  /// `gantry generate action.yml|reference`: files derived from the declarations.
  case generate(String)
  case run(stage: String?, flags: [String: String], summaryFile: String?)
}

/// Parses argv (without the program name). `--name value` and `--name=value` mirror inputs;
/// a boolean input given as a bare `--name` means true; a list input given again adds a line
/// (`--tags 1.2.0 --tags production`, as docker's `--tag`), any other input's last value wins.
public enum Arguments {
  /// `INPUT_STAGE`, trimmed as every input is (@actions/core `getInput`): `stage: |` in a
  /// step's `with:` ends it with a line break, and "unknown stage 'build-tag%0A' (did you mean
  /// 'build-tag'?)" was the answer. Nil when empty.
  public static func environmentStage(_ environment: ActionEnvironment) -> String? {
    guard let value = environment["INPUT_STAGE"]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
    return value
  }

  public static func parse(_ args: [String], environment: ActionEnvironment) throws -> Command {
    var rest = args[...]
    var stageName: String?
    if let first = rest.first, !first.hasPrefix("-") {
      if first == "generate" {
        guard let what = rest.dropFirst().first else { throw InputError("generate", "expected action.yml or reference") }
        return .generate(what)
      }
      if first == "help" { return .help(stage: rest.dropFirst().first) }
      stageName = first
      rest = rest.dropFirst()
    }
    // `--stage NAME` anywhere names the stage as the first argument does: read before the
    // flags, or `--version` (an input of build-tag) printed Gantry's version with exit 0 and the
    // stage never ran, and its booleans took the next argument as their value.
    if stageName == nil, let i = rest.lastIndex(where: { $0 == "--stage" || $0.hasPrefix("--stage=") }) {
      stageName = rest[i] == "--stage" ? (i + 1 < rest.endIndex ? rest[i + 1] : nil) : String(rest[i].dropFirst("--stage=".count))
    }
    let resolvedStage = stageName ?? environmentStage(environment)
    let stageType = resolvedStage.flatMap { StageCatalog.stage(named: $0) }
    let booleans = Set((stageType?.inputs ?? []).filter { $0.kind == .boolean }.map { $0.name })
    let lists = Set((stageType?.inputs ?? []).filter { $0.kind == .list }.map { $0.name })
    var flags: [String: String] = [:]
    var summaryFile: String?
    var previous: String?
    while let arg = rest.popFirst() {
      switch arg {
      case "-h", "--help": return .help(stage: resolvedStage)
      case "-V": return .version
      case "--list" where resolvedStage == "rollback":
        flags["list"] = "true"
        continue
      // `--version` is an input of some stages (build-tag, version); only without a stage is it ours.
      case "--version" where stageType == nil: return .version
      default: break
      }
      guard arg.hasPrefix("--"), arg.count > 2 else {
        // A second value after a list input (`--tags 1.2.0 production`): say how to give it.
        if let previous, lists.contains(previous) {
          throw InputError(previous, "unexpected argument '\(arg.clipped(to: 100))' after its value: give each value with its own --\(previous), or one value with a line per item")
        }
        throw InputError(arg, "unexpected argument; inputs are given as --name value (see gantry --help)")
      }
      var name = String(arg.dropFirst(2))
      var value: String?
      if let eq = name.firstIndex(of: "=") {
        value = String(name[name.index(after: eq)...])
        name = String(name[..<eq])
      } else if booleans.contains(name), rest.first.map({ $0.hasPrefix("--") }) ?? true {
        value = "true"
      } else if let next = rest.popFirst() {
        // A flag where the value should be is a missing value: `rollback --reason --dry-run`
        // took `--dry-run` for the reason and rolled back for real. `--name=--value` gives one.
        if next.hasPrefix("--") {
          throw InputError(
            name, "--\(name) needs a value, but the flag '\(next.clipped(to: 100))' follows it; a value that starts with -- is given as --\(name)=\(next.clipped(to: 100))")
        }
        value = next
      }
      guard let value else { throw InputError(name, "--\(name) needs a value") }
      // `rollback --list=false` ran history all the same, with exit 0 and no rollback.
      if name == "list", resolvedStage == "rollback" {
        throw InputError("list", "--list takes no value: it lists the records instead of rolling back (leave it out to roll back)")
      }
      if name == "summary-file" {
        summaryFile = value
      } else if name == "stage" {
        stageName = value
      } else if lists.contains(name), let earlier = flags[name] {
        flags[name] = earlier + "\n" + value
      } else {
        flags[name] = value
      }
      previous = name
    }
    // `gantry rollback --list` is `gantry history`.
    if stageName == "rollback" || (stageName == nil && environmentStage(environment) == "rollback"), flags.removeValue(forKey: "list") != nil {
      return .run(stage: "history", flags: flags, summaryFile: summaryFile)
    }
    return .run(stage: stageName, flags: flags, summaryFile: summaryFile)
  }
}
