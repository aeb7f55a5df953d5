import ActionsCore
import Basics
import FoundationEssentials
import OCI

/// `history`: an environment's promotion records, newest first, as a table and as JSON.
public struct HistoryStage: Stage {
  public static let name = "history"
  public static let abstract = "List an environment's recorded promotions and rollbacks"

  public static let inputs: [InputDeclaration] =
    [
      RegistryInputs.target,
      RegistryInputs.environment.asRequired(),
      InputDeclaration("limit", "history: records to show, newest first (1 to 1000)", kind: .integer, default: "20"),
      InputDeclaration(
        "state", "history: only records in these states (in-progress, completed, failed, rolled-back, abandoned), one per line. Default: all", kind: .list),
    ] + RegistryInputs.credentials("target") + RegistryInputs.connection

  public static let outputs: [OutputDeclaration] = [
    OutputDeclaration(
      "history",
      "history: the records as a JSON array, newest first, as many as fit in 1 MiB: [{\"tag\": record tag, \"record\": the record's JSON}] (README: History records)")
  ]

  public init() {}

  /// One element of the `history` output. The schema is stable: fields may be added, none
  /// renamed or removed (README: History records).
  struct Row: Encodable {
    var tag: String
    var record: PromotionRecord
  }

  public func run(_ context: StageContext) async throws -> StageResult {
    // Settings.
    let inputs = context.inputs
    let target = try RegistryInputs.reference("target", try inputs.require("target")).with(tag: nil)
    let environment = try environmentTag(try inputs.require("environment"))
    let limit = try inputs.integer("limit", in: 1...1000) ?? 20
    let states = try inputs.list("state").map { s in
      guard let state = PromotionState(rawValue: s) else {
        throw InputError("state", "'\(s.clipped(to: 100))' is not a state (\(PromotionState.allCases.map(\.rawValue).joined(separator: ", ")))")
      }
      return state
    }
    let client = try RegistryInputs.client(for: target.registry, side: "target", context: context)

    // Read.
    context.doing("reading the records of \(environment) in \(target)")
    let history = environmentHistory(client: client, repository: target.repository, environment: environment, context: context, readOnly: true)
    async let page = history.entries(limit: limit, states: states.isEmpty ? nil : Set(states))
    let live = try await client.resolve(target.repository, environment)?.digest
    let found = try await page
    let entries = found.entries
    warnSkipped(found.skipped, log: context.log)

    // Report.
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .custom { date, encoder in
      var c = encoder.singleValueContainer()
      try c.encode(RecordTime.iso(date))
    }
    var outputs = Outputs()
    // The newest records that fit in 1 MiB (GitHub's limit for an output; records of up to
    // 64 KiB each, 1,000 of them, made up to 64 MB).
    var rows: [Data] = []
    var size = 2
    for e in entries {
      let row = try encoder.encode(Row(tag: e.tag, record: e.record))
      guard size + row.count + 1 <= Outputs.byteLimit else { break }
      rows.append(row)
      size += row.count + 1
    }
    if rows.count < entries.count {
      context.log.warning("the history output holds the newest \(rows.count) of \(Format.count(entries.count, "record")) (\(Outputs.byteLimit / 1024) KiB); the log lists every one")
    }
    outputs["history"] = "[" + rows.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ",") + "]"
    context.log.info("\(target) \(environment): live \(live?.description ?? "nothing")")
    for e in entries {
      context.log.info(
        "\(OCILabelsTime.format(e.record.time))  \(stateLabel(e, among: entries).padding(toLength: 20, withPad: " ", startingAt: 0))  \(e.record.digest.short)  \(e.record.version ?? "-")  \(e.record.reason ?? "")"
      )
    }
    var s = StepSummary()
    s.heading("History of \(environment) in \(target)")
    s.paragraph("Live: \(live?.description ?? "nothing")")
    historyTable(entries, into: &s, limit: limit)
    if entries.isEmpty { s.paragraph("No \(states.isEmpty ? "" : "matching ")promotion or rollback of \(environment) is recorded here.") }
    if !found.skipped.isEmpty {
      s.heading("Damaged records skipped", level: 3)
      s.list(found.skipped.map { Markdown.text($0.description) })
    }
    return StageResult(outputs: outputs, summary: s)
  }
}
