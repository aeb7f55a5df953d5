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
}
