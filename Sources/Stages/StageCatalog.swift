import ActionsCore

/// Every stage Gantry ships, in pipeline order, and the ones still planned.
public enum StageCatalog {
  public static let stages: [any Stage.Type] = [VersionStage.self, BuildTagStage.self, PromoteStage.self, VerifyDigestStage.self, HealthCheckStage.self, RollbackStage.self, HistoryStage.self]

  /// Named in help and action.yml so users see the whole pipeline.
  public static let planned: [String] = []

  public static func stage(named name: String) -> (any Stage.Type)? {
    stages.first { $0.name == name }
  }

  /// The `stage` input itself.
  public static var stageInput: InputDeclaration {
    InputDeclaration(
      "stage",
      "The stage to run: \(stages.map { $0.name }.joined(separator: ", "))"
        + (planned.isEmpty ? "" : " (planned: \(planned.joined(separator: ", ")))"),
      required: true)
  }

  /// The union of all stages' inputs for action.yml: one entry per name, first description
  /// wins, with the stages that use it.
  public static var allInputs: [(InputDeclaration, [String])] { union({ $0.inputs }, name: { $0.name }) }

  public static var allOutputs: [(OutputDeclaration, [String])] { union({ $0.outputs }, name: { $0.name }) }

  private static func union<T>(_ items: (any Stage.Type) -> [T], name: (T) -> String) -> [(T, [String])] {
    var result: [(T, [String])] = []
    var index: [String: Int] = [:]
    for stage in stages {
      for item in items(stage) {
        if let i = index[name(item)] {
          result[i].1.append(stage.name)
        } else {
          index[name(item)] = result.count
          result.append((item, [stage.name]))
        }
      }
    }
    return result
  }
}
