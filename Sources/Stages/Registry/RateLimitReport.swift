import ActionsCore
import Basics
import HTTP

/// The run's registry request budgets as a stage reports them: one log line and one summary
/// row per registry that stated a budget (`RateLimit-*`), answered 429, or made requests wait.
/// Registries that said nothing of limits are left out; with none, nothing is added.
enum RateLimitReport {
  /// `summary` with a "Rate limits" table appended, and each row logged, when there is any.
  static func adding(to summary: StepSummary, _ context: StageContext) -> StepSummary {
    let statuses = context.connections.rateLimits.snapshot()
    guard !statuses.isEmpty else { return summary }
    for status in statuses { context.log.info("rate limit: \(status)") }
    var s = summary
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
    return s
  }
}
