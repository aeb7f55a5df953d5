import ActionsCore
import Basics
import FoundationEssentials
import HTTP
import Health

/// `health-check`: wait until the deployed service answers healthy, then measure it with a
/// fixed number of probes and hold it to thresholds (success rate, average and p95 latency).
public struct HealthCheckStage: Stage {
  public static let name = "health-check"
  public static let abstract = "Probe the deployed service until healthy, then hold it to success-rate and latency thresholds"

  public static let inputs: [InputDeclaration] = [
    InputDeclaration("url", "URL(s) to probe, one per line", kind: .list, required: true),
    InputDeclaration("method", "HTTP method", default: "GET"),
    InputDeclaration("headers", "Request headers, `Name: value` one per line; values are masked", kind: .list, secret: true),
    InputDeclaration("body", "Request body"),
    InputDeclaration("expected-status", "Accepted status codes: codes, ranges, classes (200,204 · 200-399 · 2xx)", default: "200-399"),
    InputDeclaration("expected-body", "Text the body must contain, or /regex/"),
    InputDeclaration("expected-json", "JSON path=value pairs the body must hold, one per line (e.g. version=1.2.3, build.sha=7d2a1b4)", kind: .list),
    InputDeclaration("wait-timeout", "How long to wait for the first healthy answer while the deploy rolls out (up to 6h); a probe still out when it ends is given up", default: "5m"),
    InputDeclaration("interval", "Pause between waiting probes (up to 1h)", default: "5s"),
    InputDeclaration("probes", "Measured probes once healthy", kind: .integer, default: "20"),
    InputDeclaration("concurrency", "Parallel work: blobs copied at once (promote), measured probes in flight (health-check)", kind: .integer, default: "1"),
    InputDeclaration("min-success-rate", "Percent of measured probes that must succeed (0-100)", default: "95"),
    InputDeclaration("max-avg-ms", "Average latency ceiling in ms", default: "2000"),
    InputDeclaration("max-p95-ms", "95th percentile latency ceiling in ms (default: none)"),
    InputDeclaration("timeout-ms", "Timeout per request in ms", kind: .integer, default: "5000"),
    InputDeclaration(
      "redirects",
      "Redirects a probe follows: same-host (the probed host, any port; http to https too), any (other hosts too, without the custom headers), none. A redirect not followed is the answer, judged by expected-status",
      kind: .choice(RedirectScope.allCases.map(\.rawValue)), default: "same-host"),
    InputDeclaration("insecure", "Skip TLS verification for the probed hosts", kind: .boolean, default: "false"),
    InputDeclaration("ca-file", CAFileInput.description),
    StageTimeout.input,
  ]

  public static let outputs: [OutputDeclaration] = [
    OutputDeclaration("healthy", "health-check: true when every threshold held"),
    OutputDeclaration("success-rate", "health-check: percent of measured probes that succeeded; empty when nothing was measured (probes 0)"),
    OutputDeclaration("avg-ms", "health-check: average latency of answered probes"),
    OutputDeclaration("p95-ms", "health-check: 95th percentile latency"),
    OutputDeclaration("p99-ms", "health-check: 99th percentile latency"),
    OutputDeclaration("probes", "health-check: measured probes sent; 0 when no answer was healthy within wait-timeout, and then only healthy and probes are set"),
    OutputDeclaration("failures", "health-check: measured probes that failed"),
    OutputDeclaration("first-healthy-after-ms", "health-check: time until the first healthy answer"),
    OutputDeclaration("report", "health-check: the whole measurement as JSON"),
  ]

  public init() {}

  public func run(_ context: StageContext) async throws -> StageResult {
    let inputs = context.inputs
    let log = context.log
    let urls = try inputs.list("url", commas: false).map { text in
      guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host != nil else {
        throw InputError("url", "'\(text.clipped(to: 100))' is not an http(s) URL")
      }
      return url
    }
    guard !urls.isEmpty else { throw InputError("url", "required") }
    let prober = try Self.prober(inputs, context: context, urls: urls)
    let waitTimeout = try DurationInput.parse(inputs.string("wait-timeout", default: "5m"), input: "wait-timeout", max: .seconds(6 * 3600))
    let interval = try DurationInput.parse(inputs.string("interval", default: "5s"), input: "interval", max: .seconds(3600))
    let probes = try inputs.integer("probes", in: 1...100_000) ?? 20
    let concurrency = try inputs.integer("concurrency", in: 1...256) ?? 1
    let thresholds = try Self.thresholds(inputs)

    // A healthy answer that was a redirect not followed (expected-status takes 3xx by default)
    // says only that the service redirects: said once, with where to.
    var warnedOfRedirect = false
    func warnOfRedirect(_ r: ProbeResult) {
      guard r.ok, !warnedOfRedirect, let location = r.redirectNotFollowed else { return }
      warnedOfRedirect = true
      log.warning(
        "\(r.url) answered HTTP \(r.status ?? 0), a redirect to \(location), not followed (redirects: \(prober.redirects.rawValue)); its status was judged by expected-status \(prober.expectedStatus)")
    }

    // Phase 1: wait for the first healthy answer from every URL.
    let clock = ContinuousClock()
    let start = clock.now
    var lastFailure: ProbeResult?
    var attempts = 0
    waiting: while true {
      attempts += 1
      context.doing("waiting for the first healthy answer (attempt \(attempts)\(lastFailure.map { "; last: \($0.url): \($0.failure ?? "")" } ?? ""))")
      var allOK = true
      for url in urls {
        // A waiting probe ends with the wait: with its whole `timeout-ms` (up to 10 min) a
        // service that never answered held the stage that long past `wait-timeout`. A
        // `wait-timeout` of 0 still probes once, with `timeout-ms`: there is no wait to end.
        let left = waitTimeout - (clock.now - start)
        guard left > .zero || waitTimeout == .zero else {
          allOK = false
          break
        }
        var waiting = prober
        if waitTimeout > .zero { waiting.timeout = min(prober.timeout, left) }
        let r = await waiting.probe(url)
        warnOfRedirect(r)
        if !r.ok {
          allOK = false
          // A probe the end of the wait cut short says only that the wait ended; the attempt
          // before it said what the service answers.
          if !(r.timedOut && waiting.timeout < prober.timeout && lastFailure != nil) { lastFailure = r }
          break
        }
      }
      if allOK { break waiting }
      // Stopped (timeout, a cancelled run): the probe came back "cancelled", which says
      // nothing of the service; no "waiting … next in" line for it.
      try Task.checkCancellation()
      if clock.now - start + interval > waitTimeout {
        let why = lastFailure.map { "\($0.url): \($0.failure ?? "")" } ?? "no answer"
        var outputs = Outputs()
        outputs["healthy"] = "false"
        outputs["probes"] = "0"
        var s = StepSummary()
        s.heading("Health check: not healthy ✗")
        s.paragraph("No healthy answer within \(waitTimeout.formatted()) (\(attempts) attempts). Last: \(why)")
        return StageResult(outputs: outputs, summary: s, failure: "not healthy within wait-timeout \(waitTimeout.formatted()) after \(attempts) attempts; last: \(why)")
      }
      log.info("waiting: \(lastFailure?.failure ?? "unhealthy") (attempt \(attempts)); next in \(interval.formatted())")
      try await Task.sleep(for: interval)
    }
    let firstHealthy = (clock.now - start).totalMilliseconds
    log.info("healthy after \(Int(firstHealthy)) ms; measuring \(probes) probes")

    // Phase 2: measured probes, round-robin over the URLs, `concurrency` at a time.
    context.doing("measuring \(probes) probes")
    // On the transport's own thread: a probe's request and answer cross no other thread.
    let results = await prober.client.transport.withAffinity { await Self.measure(prober, urls: urls, probes: probes, concurrency: concurrency) }
    // Cancelled (the stage's `timeout`): the probes came back failed ("cancelled"), which says
    // nothing of the service; the stage ran out of time, and says so, instead of reporting
    // broken thresholds (a slow service read "success rate 25 %").
    try Task.checkCancellation()
    results.forEach(warnOfRedirect)
    let failures = results.filter { !$0.ok }
    let successRate = Double(results.count - failures.count) * 100 / Double(results.count)
    let stats = LatencyStats(results.filter { $0.status != nil }.map(\.latencyMs))
    let verdict = thresholds.evaluate(successRate: successRate, stats: stats)
    let healthy = verdict.allSatisfy(\.passed)

    var outputs = Outputs()
    outputs["healthy"] = String(healthy)
    outputs["success-rate"] = fmt(successRate)
    outputs["avg-ms"] = stats.map { fmt($0.avg) } ?? ""
    outputs["p95-ms"] = stats.map { fmt($0.p95) } ?? ""
    outputs["p99-ms"] = stats.map { fmt($0.p99) } ?? ""
    outputs["probes"] = String(results.count)
    outputs["failures"] = String(failures.count)
    outputs["first-healthy-after-ms"] = String(Int(firstHealthy))
    outputs["report"] = try Self.report(results: results, stats: stats, successRate: successRate, healthy: healthy, firstHealthy: firstHealthy, verdict: verdict)

    let summary = Self.summary(healthy: healthy, verdict: verdict, stats: stats, results: results, failures: failures, firstHealthy: firstHealthy)
    let broken = verdict.filter { !$0.passed }.map { "\($0.name) \($0.measured) (goal \($0.goal))" }
    return StageResult(outputs: outputs, summary: summary, failure: healthy ? nil : "thresholds broken: " + broken.joined(separator: "; "))
  }

  static func prober(_ inputs: Inputs, context: StageContext, urls: [URL]) throws -> Prober {
    var config = TransportConfiguration.fromEnvironment(context.environment.variables)
    config.connectTimeout = .seconds(5)
    try config.trustCAFile(inputs, environment: context.environment.variables)
    if try inputs.bool("insecure") { config.insecureHosts = Set(urls.map(\.authority)) }
    let timeoutMs = try inputs.integer("timeout-ms", in: 1...600_000) ?? 5000
    let status: StatusSet
    do { status = try StatusSet(parsing: inputs.string("expected-status", default: "200-399")) } catch { throw InputError("expected-status", error.description) }
    let expectation: BodyExpectation
    do { expectation = try BodyExpectation(body: inputs.string("expected-body"), json: inputs.list("expected-json", commas: false)) } catch {
      throw InputError(inputs.string("expected-body").map { $0.hasPrefix("/") } == true ? "expected-body" : "expected-json", error.description)
    }
    var prober = Prober(client: context.connections.http(config, retry: .none), expectedStatus: status, expectation: expectation, timeout: .milliseconds(timeoutMs))
    // A method is an RFC 9110 token: anything else (CR/LF above all) would inject into the request.
    let method = try inputs.line("method") ?? "GET"
    guard !method.isEmpty, method.count <= 32, method.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "!#$%&'*+-.^_`|~".contains($0)) }) else {
      throw InputError("method", "expected an HTTP method token such as GET, HEAD or POST, got '\(method.clipped(to: 100))'")
    }
    prober.method = method.uppercased()
    // Values are secrets: an error names the line and what is wrong, never its text. A name is
    // an RFC 9110 token and a value holds no control character (libcurl sends a header line as
    // given: a space in a name or a control character would make a malformed request).
    let token = Set("!#$%&'*+-.^_`|~")
    for (n, line) in inputs.list("headers", commas: false).enumerated() {
      guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else { throw InputError("headers", "line \(n + 1) is not `Name: value`") }
      let name = String(line[..<colon]).trimmingCharacters(in: .whitespaces)
      let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
      context.log.mask(value)
      guard !name.isEmpty, name.unicodeScalars.allSatisfy({ $0.isASCII && (($0.properties.isAlphabetic || ("0"..."9").contains($0)) || token.contains(Character($0))) }) else {
        throw InputError("headers", "line \(n + 1): a header name is letters, digits and !#$%&'*+-.^_`|~ only, as in `X-Api-Key: value`")
      }
      guard value.unicodeScalars.allSatisfy({ $0 == "\t" || ($0.value >= 0x20 && $0.value != 0x7F && !(0x80...0x9F).contains($0.value)) }) else {
        throw InputError("headers", "line \(n + 1): the value of \(name) holds a control character")
      }
      prober.headers.add(name, value)
    }
    prober.body = inputs.string("body").map { Data($0.utf8) }
    prober.redirects = try inputs.choice("redirects").flatMap(RedirectScope.init(rawValue:)) ?? .sameHost
    return prober
  }

  static func thresholds(_ inputs: Inputs) throws -> Thresholds {
    func number(_ name: String, _ range: ClosedRange<Double>) throws -> Double? {
      guard let text = inputs.string(name) else { return nil }
      guard let v = Double(text), range.contains(v) else {
        throw InputError(name, "expected a number from \(fmt(range.lowerBound)) to \(fmt(range.upperBound)), got '\(text.clipped(to: 100))'")
      }
      return v
    }
    return Thresholds(
      minSuccessRate: try number("min-success-rate", 0...100) ?? 95, maxAverageMs: try number("max-avg-ms", 0...3_600_000) ?? 2000,
      maxP95Ms: try number("max-p95-ms", 0...3_600_000))
  }

  static func measure(_ prober: Prober, urls: [URL], probes: Int, concurrency: Int) async -> [ProbeResult] {
    // probe() never throws: failures are results.
    let printable = urls.map(\.redacted)
    return (try? await boundedMap(Array(0..<probes), concurrency: concurrency) { await prober.probe(urls[$0 % urls.count], printedAs: printable[$0 % urls.count]) }) ?? []
  }

  /// Probes per HTTP status ("no answer" for refused, reset, timed out).
  static func statusCounts(_ results: [ProbeResult]) -> [String: Int] {
    results.reduce(into: [:]) { $0[$1.status.map(String.init) ?? "no answer", default: 0] += 1 }
  }

  static func report(results: [ProbeResult], stats: LatencyStats?, successRate: Double, healthy: Bool, firstHealthy: Double, verdict: [Thresholds.Result]) throws -> String {
    /// One threshold; `passed` a JSON boolean, as `healthy` is (`fromJSON(…).thresholds[0].passed`).
    struct Threshold: Encodable {
      var name: String
      var goal: String
      var measured: String
      var passed: Bool
    }
    struct Report: Encodable {
      var healthy: Bool
      var successRate: Double
      var probes: Int
      var failures: Int
      var firstHealthyAfterMs: Int
      var latencyMs: LatencyStats?
      var statuses: [String: Int]
      var thresholds: [Threshold]
    }
    let statuses = statusCounts(results)
    let doc = Report(
      healthy: healthy, successRate: (successRate * 10).rounded() / 10, probes: results.count, failures: results.filter { !$0.ok }.count,
      firstHealthyAfterMs: Int(firstHealthy), latencyMs: stats, statuses: statuses,
      thresholds: verdict.map { Threshold(name: $0.name, goal: $0.goal, measured: $0.measured, passed: $0.passed) })
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: try encoder.encode(doc), as: UTF8.self)
  }

  static func summary(healthy: Bool, verdict: [Thresholds.Result], stats: LatencyStats?, results: [ProbeResult], failures: [ProbeResult], firstHealthy: Double) -> StepSummary {
    var s = StepSummary()
    s.heading(healthy ? "Health check: healthy ✓" : "Health check: unhealthy ✗")
    s.paragraph("First healthy answer after \(Int(firstHealthy)) ms; \(results.count) measured probes, \(failures.count) failed.")
    s.table(["Threshold", "Goal", "Measured", ""], verdict.map { [$0.name, $0.goal, $0.measured, $0.passed ? "✓" : "✗"] })
    if let st = stats {
      s.table(["min", "avg", "p50", "p95", "p99", "max"], [[st.min, st.avg, st.p50, st.p95, st.p99, st.max].map { "\(fmt($0)) ms" }])
    }
    s.table(["Status", "Probes"], statusCounts(results).sorted { $0.key < $1.key }.map { [$0.key, String($0.value)] })
    if !failures.isEmpty {
      s.heading("First failures", level: 3)
      s.table(["URL", "Status", "Reason"], failures.prefix(5).map { [Markdown.cell($0.url), $0.status.map(String.init) ?? "—", Markdown.cell($0.failure ?? "")] })
    }
    return s
  }
}
