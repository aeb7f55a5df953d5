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

  /// Before, an input several stages read carried the first stage's text alone in action.yml:
  /// promote's and verify-digest's `source` read "Where the version comes from: auto, file, …",
  /// build-tag's `tag-prefix` read as version's release-tag prefix, and `version` told promote
  /// users it has no default (promote takes the one target tag that is a version).
  @Test func actionYAMLTellsEachStageWhatItsInputMeans() {
    let yaml = Generated.actionYAML()
    for stage in StageCatalog.stages {
      for i in stage.inputs {
        let line = yaml.components(separatedBy: "\n  \(i.name):\n    description: ")[1].components(separatedBy: "\n")[0]
        let text = i.description.hasSuffix(".") ? String(i.description.dropLast()) : i.description
        let quoted = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        #expect(line.contains(quoted), "action.yml's \(i.name) does not say what it means to \(stage.name): \(line)")
      }
    }
    let source = yaml.components(separatedBy: "\n  source:\n    description: ")[1].components(separatedBy: "\n")[0]
    #expect(source.contains("promote, verify-digest: Image to promote or compare"))
    #expect(source.contains("version: Where the version comes from"))
  }

  /// Before, rollback declared (and `gantry rollback --help` listed) release-phase, shard and
  /// release-digests, which it never read: `--shard 1/2` was accepted and did nothing.
  @Test func rollbackDeclaresOnlyTheReleaseInputsItReads() async {
    let log = MemoryLogSink()
    let status = await GantryCLI.run(
      arguments: ["rollback", "--target", "127.0.0.1:1/app", "--environment", "production", "--shard", "1/2"], environment: [:], stdout: log)
    #expect(status == GantryCLI.badInput)
    #expect(log.lines.joined(separator: "\n").contains("input 'shard': unknown input for rollback"), "\(log.lines)")
    for name in ["release-phase", "shard", "release-digests"] { #expect(!RollbackStage.inputs.contains { $0.name == name }) }
    for name in ["manifest", "promote-images", "release-id"] { #expect(RollbackStage.inputs.contains { $0.name == name }) }
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
