import Foundation

/// Tests/Fixtures/rate_limit_proxy.py in front of a registry: Docker Hub's `RateLimit-*`
/// headers with a budget that manifest GETs spend, 429 with `Retry-After` for a limited
/// period, 429 once the budget is spent, or hostile header values. Records every request.
public final class RateLimitProxy: @unchecked Sendable {
  public let port: Int
  private let child: ChildProcess
  public var host: String { "127.0.0.1:\(port)" }

  /// One request as the proxy saw it: `t` in the proxy's monotonic seconds.
  public struct Entry: Sendable, Equatable {
    public var t: Double
    public var method: String
    public var path: String
    public var status: Int
    public var isManifestGET: Bool { method == "GET" && path.contains("/manifests/") }
  }

  /// - Parameters:
  ///   - throttleAt: the n-th manifest GET starts a limited period of `retryAfter` seconds in
  ///     which every request answers 429 with `Retry-After` (0: never).
  ///   - throttleOn: a regular expression: the first request whose `METHOD PATH` matches it
  ///     starts that period instead (nil: none).
  ///   - retryAfterValue: the `Retry-After` of those answers, verbatim (nil: the seconds left).
  public init(
    upstreamPort: Int, limit: Int = 100, remaining: Int? = nil, window: Int = 21600, throttleAt: Int = 0, throttleOn: String? = nil, retryAfter: Double = 2,
    retryAfterValue: String? = nil, hostile: Bool = false
  ) async throws {
    var args = [String(upstreamPort), "--limit", String(limit), "--window", String(window), "--throttle-at", String(throttleAt), "--retry-after", String(retryAfter)]
    if let retryAfterValue { args.append("--retry-after-value=" + retryAfterValue) }
    if let throttleOn { args.append("--throttle-on=" + throttleOn) }
    if let remaining { args += ["--remaining", String(remaining)] }
    if hostile { args.append("--hostile") }
    (child, port) = try await startFixture("rate_limit_proxy.py", args)
  }

  /// Every request so far, in arrival order (the proxy logs them as they end).
  public func log() async throws -> [Entry] {
    let out = try await awaitCommand("/usr/bin/curl", ["-s", "http://\(host)/log"]).stdout
    guard let items = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]] else { throw TestSupportError("rate_limit_proxy: bad /log answer \(out)") }
    return items.map {
      Entry(t: $0["t"] as? Double ?? 0, method: $0["method"] as? String ?? "", path: $0["path"] as? String ?? "", status: $0["status"] as? Int ?? 0)
    }.sorted { $0.t < $1.t }
  }

  public func stop() { child.stop() }
}
