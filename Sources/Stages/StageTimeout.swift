import ActionsCore
import HTTP

/// The `timeout` input of every stage that talks to the network: the longest the whole stage
/// may take. When it expires the CLI cancels the stage's work in flight and fails with the step
/// it was at; a stage keeps its records consistent while it unwinds (``uncancelled(_:)``).
public enum StageTimeout {
  /// Longest accepted value (a GitHub-hosted job's own limit).
  public static let maximum: Duration = .seconds(6 * 3600)

  public static let input = InputDeclaration(
    "timeout",
    "Longest the whole stage may take (30s, 20m, 1h; up to 6h); when it expires, work in flight is cancelled and the stage fails (exit 1) naming what it was doing. Default: none (per-request deadlines and the low-speed limit still end hung transfers)"
  )

  /// The stage's limit, nil for none (empty or 0).
  /// - Throws: ``InputError`` naming `timeout` for text that is not a duration up to 6h.
  public static func limit(_ inputs: Inputs) throws -> Duration? {
    guard let text = inputs.string("timeout") else { return nil }
    let limit = try DurationInput.parse(text, input: "timeout", max: maximum)
    return limit == .zero ? nil : limit
  }
}

/// Runs `work` to its end even when the calling task is cancelled (a stage that ran out of
/// time): the history bookkeeping after a failure or after the tags moved — a `failed` or
/// `completed` record — must not be cut off halfway by the cancellation that caused it.
/// The CLI waits for it only a bounded grace (``StageTimeout``); a registry that hangs then
/// leaves the lease to expire, which the next run records as abandoned.
/// Its requests are not given up on for a registry that has refused everything for long
/// (``RateLimits/unwinding``): putting back tags and closing records is what must not fail.
func uncancelled<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
  try await Task { try await RateLimits.$unwinding.withValue(true) { try await work() } }.value
}
