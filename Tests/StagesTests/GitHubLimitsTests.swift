import Foundation
import GitHub
import HTTP
import TestSupport
import Testing

/// The GitHub client against an API stand-in that plays hostile: pages without end, and a
/// next page on another origin (which would receive the token).
@Suite("GitHub lists: capped pages, the token stays with the API's origin", .serialized)
struct GitHubLimitsTests {
  struct Item: Decodable { var name: String }

  func client(_ api: HostileServer, maxPages: Int = 100) -> GitHubClient {
    var config = GitHubConfiguration(apiURL: URL(string: api.url(""))!, repository: "o/r", token: "ghs_SECRET")
    config.maxPages = maxPages
    return GitHubClient(configuration: config, transport: CurlTransport())
  }

  @Test func endlessPagesStopAtTheCap() async throws {
    let api = try await HostileServer()
    defer { api.stop() }
    try await api.script([
      .init("GET", "/repos/o/r/tags", headers: ["Link": "<\(api.url("/repos/o/r/tags?page=2"))>; rel=\"next\""], body: Data(#"[{"name":"v1"}]"#.utf8))
    ])
    await #expect {
      let _: [Item] = try await client(api, maxPages: 4).all("repos/o/r/tags", operation: "list tags")
    } throws: { error in
      "\(error)".contains("more than 4 pages")
    }
    #expect(try await api.received().count == 4)
  }

  @Test func aNextPageOnAnotherOriginIsNotFollowed() async throws {
    let api = try await HostileServer()
    let evil = try await HostileServer()
    defer {
      api.stop()
      evil.stop()
    }
    try await api.script([
      .init("GET", "/repos/o/r/tags", headers: ["Link": "<\(evil.url("/repos/o/r/tags?page=2"))>; rel=\"next\""], body: Data(#"[{"name":"v1"}]"#.utf8))
    ])
    try await evil.script([.init(nil, "/", body: Data("[]".utf8))])
    await #expect {
      let _: [Item] = try await client(api).all("repos/o/r/tags", operation: "list tags")
    } throws: { error in
      "\(error)".contains("not followed")
    }
    #expect(try await evil.received().isEmpty)
    #expect(try await api.received().first?.headers["authorization"] == "Bearer ghs_SECRET")
  }

  /// Each rate-limit wait is capped and each request tried 4 times, but an API that answers
  /// every page "wait 50 s" twice held a list of 10 pages 16 minutes (hours for 100 pages).
  /// The waits of one client add up to at most `maxTotalRateLimitWait` (5 min), then it fails.
  @Test func rateLimitWaitsAddUpToABudget() async throws {
    let api = try await HostileServer()
    defer { api.stop() }
    var rules: [HostileServer.Rule] = []
    for page in 1...10 {
      rules.append(.init("GET", "/repos/o/r/tags", status: 429, headers: ["Retry-After": "50"], body: Data(#"{"message":"slow down"}"#.utf8), times: 2))
      let link = page < 10 ? ["Link": "<\(api.url("/repos/o/r/tags?page=\(page + 1)"))>; rel=\"next\""] : [:]
      rules.append(.init("GET", "/repos/o/r/tags", headers: link, body: Data(#"[{"name":"v\#(page)"}]"#.utf8), times: 1))
    }
    try await api.script(rules)
    let slept = Tally()
    var github = client(api)
    github.sleep = { slept.add($0) }
    await #expect {
      let _: [Item] = try await github.all("repos/o/r/tags", operation: "list tags")
    } throws: { error in
      "\(error)".contains("after 300 s of waiting for rate limits")
    }
    #expect(slept.total == .seconds(300))
  }

  final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private var sum: Duration = .zero
    func add(_ d: Duration) { lock.withLock { sum += d } }
    var total: Duration { lock.withLock { sum } }
  }
}
