import ActionsCore
import Basics
import FoundationEssentials
import HTTP

/// The run's registry request budgets as a stage reports them: one log line and one summary
/// row per registry that stated a budget (`RateLimit-*`), answered 429, or made requests wait,
/// and the `rate-limits` output. Registries that said nothing of limits are left out.
enum RateLimitReport {
  static let output = OutputDeclaration(
    "rate-limits",
    "promote: JSON object of the registries that stated a request budget, answered 429 or made requests wait, e.g. {\"registry-1.docker.io\":{\"limit\":100,\"remaining\":76,\"window\":21600,\"throttled\":0,\"waited-ms\":2000}}; {} when none did"
  )

  /// The stage's result with the budgets added: the output, a "Rate limits" table in the
  /// summary and a log line per registry when there is any.
  static func result(outputs: Outputs = Outputs(), summary: StepSummary, failure: String? = nil, _ context: StageContext) -> StageResult {
    let statuses = context.connections.rateLimits.snapshot()
    var o = outputs
    o[output.name] = json(statuses)
    var s = summary
    if !statuses.isEmpty {
      for status in statuses { context.log.info("rate limit: \(status)") }
      s.heading("Rate limits", level: 3)
      s.table(
        ["Registry", "Left", "Window", "429s", "Waited"],
        statuses.map { st in
          [
            Markdown.code(st.registry),
            st.remaining.map { r in st.limit.map { "\(r) of \($0)" } ?? String(r) } ?? st.limit.map { "? of \($0)" } ?? "",
            st.window.map(RateLimitStatus.span) ?? "",
            String(st.throttled),
            Format.fixed(st.waited.totalMilliseconds / 1000, digits: 1) + " s",
          ]
        })
    }
    return StageResult(outputs: o, summary: s, failure: failure)
  }

  static func json(_ statuses: [RateLimitStatus]) -> String {
    // The usual answer, without JSONEncoder's first-use cost (2 % of a warm re-promote).
    guard !statuses.isEmpty else { return "{}" }
    var all: [String: JSONValue] = [:]
    for st in statuses {
      var entry: [String: JSONValue] = ["throttled": .int(Int64(st.throttled)), "waited-ms": .int(Int64(st.waited.totalMilliseconds.rounded()))]
      if let l = st.limit { entry["limit"] = .int(Int64(l)) }
      if let r = st.remaining { entry["remaining"] = .int(Int64(r)) }
      if let w = st.window { entry["window"] = .int(Int64(w)) }
      all[st.registry] = .object(entry)
    }
    return (try? JSONValue.object(all).serialized()).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
  }
}
