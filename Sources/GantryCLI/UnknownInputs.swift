import ActionsCore
import Basics
import FoundationEssentials
import Stages

/// `INPUT_*` variables no input of the running stage reads. A misspelt `with:` key (`tag:` for
/// `tags:`) or another stage's input (`tags:` on build-tag, as docker/metadata-action spells
/// its rules) is otherwise ignored in silence, and the stage runs on its defaults with exit 0.
enum UnknownInputs {
  /// One warning per such variable, naming it and, when one is close, the input meant.
  ///
  /// Not warned: empty values, `stage`, and another stage's input holding the default
  /// action.yml gives it (the runner passes every declared input, defaults included) or an
  /// expression default (`github-token`: the runner's token).
  static func warnings(for stage: any Stage.Type, environment: ActionEnvironment) -> [String] {
    let own = stage.inputs.map(\.name)
    let others = Dictionary(StageCatalog.allInputs.map { ($0.0.name, $0) }, uniquingKeysWith: { a, _ in a })
    var warned: Set<String> = []
    var result: [String] = []
    for (variable, value) in environment.variables.sorted(by: { $0.key < $1.key }) {
      guard variable.hasPrefix("INPUT_"), !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { continue }
      let name = String(variable.dropFirst("INPUT_".count)).lowercased().replacingOccurrences(of: "_", with: "-")
      guard name != StageCatalog.stageInput.name, !own.contains(name), warned.insert(name).inserted else { continue }
      let hint = NameSuggestion.closest(to: name, among: own).map { "; did you mean `\($0):`?" } ?? ""
      // Quoted, not trusted to be short: an environment can hold any name.
      let shown = "\(variable.clipped(to: 80)) (`\(name.clipped(to: 80)):`)"
      if let (declaration, stages) = others[name] {
        let given = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard declaration.actionDefault == nil, given != Generated.mergedDefaults(declaration).defaultValue else { continue }
        result.append("\(shown) is an input of \(stages.joined(separator: ", ")), not of \(stage.name): ignored\(hint)")
      } else {
        result.append("\(shown) is not an input of any stage: ignored\(hint) (`gantry help \(stage.name)` lists its inputs)")
      }
    }
    return result
  }
}
