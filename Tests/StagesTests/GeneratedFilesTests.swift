import ActionsCore
import Foundation
import GantryCLI
import Stages
import Testing

/// The declarations are the single source: action.yml and the README's reference must match them.
@Suite struct GeneratedFilesTests {
  let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  @Test func actionYAMLDeclaresExactlyTheStagesInputsAndOutputs() throws {
    let committed = try String(contentsOf: root.appendingPathComponent("action.yml"), encoding: .utf8)
    #expect(committed == Generated.actionYAML(), "action.yml is stale: run `swift run gantry generate action.yml > action.yml`")
  }

  @Test func everyInputAndOutputAppearsInActionYAML() throws {
    let yaml = Generated.actionYAML()
    for stage in StageCatalog.stages {
      for i in stage.inputs { #expect(yaml.contains("\n  \(i.name):\n    description:")) }
      for o in stage.outputs { #expect(yaml.contains("\n  \(o.name):\n    description:")) }
    }
    #expect(yaml.contains("\n  stage:\n    description:"))
  }

  @Test func readmeCarriesTheGeneratedReference() throws {
    let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
    #expect(readme.contains(Generated.reference()), "README reference is stale: run scripts/generate")
  }

  @Test func inputsWithDifferentDefaultsAcrossStagesHaveNoneInActionYAML() {
    let yaml = Generated.actionYAML()
    var defaults: [String: Set<String>] = [:]
    for stage in StageCatalog.stages {
      for i in stage.inputs { defaults[i.name, default: []].insert(i.defaultValue ?? "") }
    }
    let conflicting = defaults.filter { $0.value.count > 1 }.keys
    #expect(conflicting.contains("concurrency"))
    for name in conflicting {
      let block = yaml.components(separatedBy: "\n  \(name):\n")[1].components(separatedBy: "\n  ")[0...2].joined()
      #expect(!block.contains("default:"), "\(name) must not carry one stage's default in action.yml")
      #expect(block.contains("Default: "))
    }
  }
}
