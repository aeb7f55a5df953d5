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
      let hint = suggestion(for: name, among: own).map { "; did you mean `\($0):`?" } ?? ""
      if let (declaration, stages) = others[name] {
        let given = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard declaration.actionDefault == nil, given != Generated.mergedDefaults(declaration).defaultValue else { continue }
        result.append("\(variable) (`\(name):`) is an input of \(stages.joined(separator: ", ")), not of \(stage.name): ignored\(hint)")
      } else {
        result.append("\(variable) (`\(name):`) is not an input of any stage: ignored\(hint) (`gantry help \(stage.name)` lists its inputs)")
      }
    }
    return result
  }

  /// The name in `names` that `name` most likely misspells: a small edit distance (two edits,
  /// one for short names), or one word of a hyphenated name (`tags` → `extra-tags`).
  static func suggestion(for name: String, among names: [String]) -> String? {
    // Names are a few dozen characters; anything longer is no misspelling of one.
    guard name.utf8.count <= 64 else { return nil }
    let limit = name.count <= 4 ? 1 : 2
    let close = names.map { ($0, distance(name, $0)) }.filter { $0.1 <= limit }.min { $0.1 < $1.1 }
    if let close { return close.0 }
    return names.first { $0.split(separator: "-").contains(Substring(name)) }
  }

  /// Levenshtein distance over Unicode scalars.
  static func distance(_ a: String, _ b: String) -> Int {
    let a = Array(a.unicodeScalars)
    let b = Array(b.unicodeScalars)
    guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
    var previous = Array(0...b.count)
    for i in 1...a.count {
      var current = [i] + Array(repeating: 0, count: b.count)
      for j in 1...b.count {
        current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
      }
      previous = current
    }
    return previous[b.count]
  }
}
