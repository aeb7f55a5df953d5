import ActionsCore
import Basics
import Foundation
import HTTP
import OCI
import TestSupport
import Testing

@testable import Stages

/// Rate limits over real sockets: Tests/Fixtures/rate_limit_proxy.py in front of a real
/// registry, shaped like Docker Hub (`RateLimit-*`, 429 with `Retry-After`, a spent budget).
/// Times are the proxy's own records, with generous bounds.
@Suite("rate limits: Retry-After across an origin, budgets, hostile headers", .serialized, .timeLimit(.minutes(3)))
struct RateLimitStageTests {
  let staging: RegistryProcess
  let production: RegistryProcess

  init() async throws {
    staging = try await RegistryProcess()
    production = try await RegistryProcess()
  }

  func pushIndex() async throws -> RawManifest {
    try await ImageFactory(client: testRegistryClient(staging.host), repository: "app").pushIndex(
      tag: "1.0", platforms: [Platform(os: "linux", architecture: "amd64"), Platform(os: "linux", architecture: "arm64")], layerSizes: [20_000, 3_000]
    ).index
  }

  @Test func promoteWaitsOutRetryAfterThenSucceeds() async throws {
    let index = try await pushIndex()
    // The first manifest GET (the source's root manifest) opens 2 s in which the proxy answers
    // every request with 429 and Retry-After.
    let proxy = try await RateLimitProxy(upstreamPort: staging.port, throttleAt: 1, retryAfter: 2)
    defer { proxy.stop() }
    let log = MemoryLogSink()
    let r = try await runStage(PromoteStage.self, ["INPUT_SOURCE": "\(proxy.host)/app:1.0", "INPUT_TARGET": "\(production.host)/app"], log: log)
    #expect(r.failure == nil)
    #expect(r.outputs["digest"] == index.digest.description)
    #expect(try await testRegistryClient(production.host).resolve("app", "1.0")?.digest == index.digest)

    let seen = try await proxy.log()
    let refused = seen.filter { $0.status == 429 }
    let first = try #require(refused.first)
    // Only what was already in flight when the first 429 came back was refused: the root
    // manifest and, sent with it, the source's tag list.
    #expect(refused.count <= 2, "\(refused)")
    let after = seen.filter { $0.t > first.t && $0.status != 429 }
    #expect(!after.isEmpty)
    // Retry-After: 2 was honoured: nothing reached the registry until it passed (1.5 s: the
    // proxy rounds its own clock).
    #expect(after.allSatisfy { $0.t - first.t >= 1.5 }, "\(after.map { $0.t - first.t })")
    let manifestGETs = seen.filter { $0.isManifestGET && $0.status == 200 }.count
    let line = "rate limit: \(proxy.host): \(100 - manifestGETs) of 100 requests left in the 6 h window; \(refused.count) × HTTP 429; waited"
    #expect(log.lines.contains { $0.hasPrefix(line) }, "\(log.lines.filter { $0.contains("rate limit") })")
    let markdown = r.summary.render()
    #expect(markdown.contains("### Rate limits"))
    #expect(markdown.contains("| `\(proxy.host)` | \(100 - manifestGETs) of 100 | 6 h | \(refused.count) |"), "\(markdown)")
    let output = try #require(r.outputs["rate-limits"].flatMap { JSONValue.parse(Data($0.utf8)) }?[proxy.host])
    #expect(output["limit"] == .int(100))
    #expect(output["remaining"] == .int(Int64(100 - manifestGETs)))
    #expect(output["window"] == .int(21600))
    #expect(output["throttled"] == .int(Int64(refused.count)))
    if case .int(let ms)? = output["waited-ms"] { #expect(ms >= 1500, "the hold of Retry-After: 2") } else { Issue.record("no waited-ms in \(output)") }
  }

  @Test func concurrentRequestsWaitForTheLimitedOriginInsteadOfEachEarningA429() async throws {
    _ = try await pushIndex()
    let proxy = try await RateLimitProxy(upstreamPort: staging.port, throttleAt: 1, retryAfter: 2)
    defer { proxy.stop() }
    let limits = RateLimits()
    var client = HTTPClient(transport: CurlTransport.shared(TransportConfiguration()), retry: RetryPolicy(retries: 3))
    client.rateLimits = limits
    let url = URL(string: "http://\(proxy.host)/v2/app/manifests/1.0")!
    let manifest = Request(url: url, headers: ["Accept": MediaType.manifestAccept])
    // One request learns the origin is limited (no retry: it returns the 429)…
    var once = client
    once.retry = .none
    #expect(try await once.send(manifest).status == 429)
    // …and six sent after it, at once, wait for the Retry-After instead of each earning a 429.
    let retrying = client
    let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
      for _ in 0..<6 { group.addTask { try await retrying.send(manifest).status } }
      return try await group.reduce(into: []) { $0.append($1) }
    }
    #expect(statuses == Array(repeating: 200, count: 6))
    let seen = try await proxy.log()
    #expect(seen.filter { $0.status == 429 }.count == 1, "\(seen)")
    let first = try #require(seen.first { $0.status == 429 })
    #expect(seen.filter { $0.status == 200 }.count == 6)
    #expect(seen.filter { $0.status == 200 }.allSatisfy { $0.t - first.t >= 1.5 }, "\(seen.map { $0.t - first.t })")
    let waited = limits.snapshot().first?.waited ?? .zero
    #expect(waited >= .seconds(1) && waited < .seconds(8), "concurrent waits count once: \(waited)")
  }

  @Test func aSpentBudgetWithALongWindowFailsFastAndMovesNoTag() async throws {
    let index = try await pushIndex()
    // One pull left of Docker Hub's 100 per 6 h: the root manifest spends it and says 0 left.
    let proxy = try await RateLimitProxy(upstreamPort: staging.port, limit: 100, remaining: 1, window: 21600)
    defer { proxy.stop() }
    let out = MemoryLogSink()
    let started = ContinuousClock.now
    let status = await GantryCLIHarness.run(
      ["INPUT_STAGE": "promote", "INPUT_SOURCE": "\(proxy.host)/app:1.0", "INPUT_TARGET": "\(production.host)/app", "INPUT_TAGS": "1.0\nproduction", "INPUT_TIMEOUT": "2m"], out)
    #expect(status == 1)
    let errors = out.lines.filter { $0.hasPrefix("::error") }
    #expect(errors.count == 1, "\(out.lines)")
    #expect(
      errors.first?.contains(
        "\(proxy.host) rate limit exhausted: 0 of 100 requests left in the 6 h window; it refills within 6 h (the server sends no reset time). Not waiting that long") == true, "\(errors)")
    #expect(ContinuousClock.now - started < .seconds(60), "it failed fast, not after the stage's timeout")
    // The next counted request was never sent: the proxy answered no 429. Only requests for
    // this image count: suites run in parallel in one process, and a request another test's
    // run had in flight to a server it stopped can reach this proxy when it takes that port
    // (seen once: a 429 for a digest of no image here).
    let ours = [index.digest.description] + index.digest.description.split(separator: ":").suffix(1).map(String.init)
    let children = (try? JSONSerialization.jsonObject(with: index.bytes) as? [String: Any])?["manifests"] as? [[String: Any]] ?? []
    let digests = ours + children.compactMap { $0["digest"] as? String }
    let seen = try await proxy.log().filter { e in e.path.hasSuffix("/manifests/1.0") || digests.contains { e.path.contains($0) } }
    #expect(children.count == 2)
    #expect(seen.filter { $0.status == 429 }.isEmpty, "\(seen) \(out.lines)")
    #expect(seen.filter(\.isManifestGET).count == 1, "\(seen)")
    let target = testRegistryClient(production.host)
    #expect(try await target.resolve("app", "1.0") == nil)
    #expect(try await target.resolve("app", "production") == nil)
  }

  @Test func aLowBudgetPacesTheManifestGETs() async throws {
    let index = try await pushIndex()
    // 12 of 100 per 6 s left: under 20 %, counted requests go 6 s / remaining (≥ 545 ms) apart.
    let proxy = try await RateLimitProxy(upstreamPort: staging.port, limit: 100, remaining: 12, window: 6)
    defer { proxy.stop() }
    let r = try await runStage(PromoteStage.self, ["INPUT_SOURCE": "\(proxy.host)/app:1.0", "INPUT_TARGET": "\(production.host)/app"])
    #expect(r.outputs["digest"] == index.digest.description, "\(r.failure ?? "")")
    // The root manifest, then the two platform manifests, which the stage asks for at once.
    let seen = try await proxy.log()
    let times = seen.filter(\.isManifestGET).map(\.t)
    #expect(times.count == 3)
    let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
    // Paced, they leave ≥ 545 ms apart; unpaced, the two platform manifests would arrive
    // within milliseconds. 100 ms tells the two apart even when a loaded machine delays one
    // request's arrival by 400 ms more than the next one's (a 2 s window, 181 ms apart, failed
    // at a load average of 8 against a 150 ms bound, and again under load against 100 ms).
    #expect(gaps.allSatisfy { $0 >= 0.1 }, "paced apart: \(gaps) \(seen)")
  }

  @Test func hostileHeaderValuesAreIgnored() async throws {
    let index = try await pushIndex()
    let proxy = try await RateLimitProxy(upstreamPort: staging.port, hostile: true)
    defer { proxy.stop() }
    let log = MemoryLogSink()
    let started = ContinuousClock.now
    let r = try await runStage(PromoteStage.self, ["INPUT_SOURCE": "\(proxy.host)/app:1.0", "INPUT_TARGET": "\(production.host)/app"], log: log)
    #expect(r.outputs["digest"] == index.digest.description, "\(r.failure ?? "")")
    #expect(!r.summary.render().contains("Rate limits"))
    #expect(r.outputs["rate-limits"] == "{}")
    #expect(!log.lines.contains { $0.contains("rate limit") })
    #expect(ContinuousClock.now - started < .seconds(60), "no pacing or waits from garbage")
  }
}
