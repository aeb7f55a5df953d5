import ActionsCore
import Foundation
import OCI

/// `history`: an environment's promotion records, newest first, as a table and as JSON.
public struct HistoryStage: Stage {
  public static let name = "history"
  public static let abstract = "List an environment's recorded promotions and rollbacks"

  public static let inputs: [InputDeclaration] =
    [
      RegistryInputs.target,
      RegistryInputs.environment.asRequired(),
      InputDeclaration("limit", "history: records to show, newest first", kind: .integer, default: "20"),
    ] + RegistryInputs.credentials("target") + RegistryInputs.connection

  public static let outputs: [OutputDeclaration] = [
    OutputDeclaration("history", "history: the records as a JSON array, newest first")
  ]

  public init() {}

  public func run(_ context: StageContext) async throws -> StageResult {
    let inputs = context.inputs
    let target = try RegistryInputs.reference("target", try inputs.require("target")).with(tag: nil)
    let environment = try environmentTag(try inputs.require("environment"))
    let limit = try inputs.integer("limit", in: 1...1000) ?? 20
    let client = try RegistryInputs.client(for: target.registry, side: "target", context: context)
    let entries = try await History(client: client, repository: target.repository, environment: environment).entries(limit: limit)
    let live = try await client.resolve(target.repository, environment)?.digest

    struct Row: Encodable {
      var tag: String
      var record: PromotionRecord
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    var outputs = Outputs()
    outputs["history"] = String(decoding: try encoder.encode(entries.map { Row(tag: $0.tag, record: $0.record) }), as: UTF8.self)

    // A plain table on the log too, for `gantry history` by hand.
    context.log.info("\(target) \(environment): live \(live?.description ?? "nothing")")
    for e in entries {
      context.log.info(
        "\(OCILabelsTime.format(e.record.time))  \(e.record.state.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0))  \(e.record.digest.short)  \(e.record.version ?? "-")  \(e.record.reason ?? "")"
      )
    }
    var s = StepSummary()
    s.heading("History of \(environment) in \(target)")
    s.paragraph("Live: \(live?.description ?? "nothing")")
    historyTable(entries, into: &s, limit: limit)
    if entries.isEmpty { s.paragraph("No promotions of \(environment) are recorded.") }
    return StageResult(outputs: outputs, summary: s)
  }
}
