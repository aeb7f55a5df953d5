/// Latency distribution of measured probes, in milliseconds. Percentiles use the
/// nearest-rank method on the sorted samples.
public struct LatencyStats: Sendable, Equatable, Codable {
  public var count: Int
  public var min: Double
  public var avg: Double
  public var p50: Double
  public var p95: Double
  public var p99: Double
  public var max: Double

  public init?(_ samples: [Double]) {
    guard !samples.isEmpty else { return nil }
    let sorted = samples.sorted()
    func rank(_ p: Double) -> Double {
      let r = Int((p / 100 * Double(sorted.count)).rounded(.up))
      return sorted[Swift.max(0, Swift.min(sorted.count - 1, r - 1))]
    }
    count = sorted.count
    min = sorted[0]
    max = sorted[sorted.count - 1]
    avg = sorted.reduce(0, +) / Double(sorted.count)
    p50 = rank(50)
    p95 = rank(95)
    p99 = rank(99)
  }
}

/// The pass/fail rules of the measured phase, with the reference pipelines' defaults.
public struct Thresholds: Sendable, Equatable {
  /// Percent of probes that must succeed. Default 95.
  public var minSuccessRate: Double = 95
  /// Mean latency ceiling in ms. Default 2000.
  public var maxAverageMs: Double? = 2000
  /// 95th percentile ceiling in ms; off by default.
  public var maxP95Ms: Double? = nil

  public init(minSuccessRate: Double = 95, maxAverageMs: Double? = 2000, maxP95Ms: Double? = nil) {
    self.minSuccessRate = minSuccessRate
    self.maxAverageMs = maxAverageMs
    self.maxP95Ms = maxP95Ms
  }

  /// One row of the verdict: goal, measured, passed.
  public struct Result: Sendable, Equatable {
    public var name: String
    public var goal: String
    public var measured: String
    public var passed: Bool
  }

  public func evaluate(successRate: Double, stats: LatencyStats?) -> [Result] {
    var out = [Result(name: "success rate", goal: "≥ \(fmt(minSuccessRate)) %", measured: "\(fmt(successRate)) %", passed: successRate >= minSuccessRate)]
    if let maxAverageMs {
      let avg = stats?.avg
      out.append(Result(name: "average latency", goal: "≤ \(fmt(maxAverageMs)) ms", measured: avg.map { "\(fmt($0)) ms" } ?? "no answers", passed: avg.map { $0 <= maxAverageMs } ?? false))
    }
    if let maxP95Ms {
      let p95 = stats?.p95
      out.append(Result(name: "p95 latency", goal: "≤ \(fmt(maxP95Ms)) ms", measured: p95.map { "\(fmt($0)) ms" } ?? "no answers", passed: p95.map { $0 <= maxP95Ms } ?? false))
    }
    return out
  }
}

/// One decimal at most, no trailing `.0`.
public func fmt(_ v: Double) -> String {
  let r = (v * 10).rounded() / 10
  return r == r.rounded() ? String(Int(r)) : String(r)
}
