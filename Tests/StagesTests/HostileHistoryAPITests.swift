import ActionsCore
import Foundation
import TestSupport
import Testing

@testable import GitHub
@testable import Stages

/// `version` reading its history through a GitHub API stand-in that plays hostile: commit
/// names that are markup, and lists that page without end.
@Suite("version: hostile GitHub history answers", .serialized)
struct HostileHistoryAPITests {
  static let head = String(repeating: "a", count: 40)
  static let tagged = String(repeating: "b", count: 40)

  let api: HostileServer
  let workspace: TempDirectory

  init() async throws {
    api = try await HostileServer()
    workspace = try TempDirectory()
  }

  var env: [String: String] {
    [
      "GITHUB_WORKSPACE": workspace.path, "GITHUB_REPOSITORY": "acme/app", "GITHUB_API_URL": api.url(""), "GITHUB_SHA": Self.head,
      "INPUT_GITHUB-TOKEN": "ghs_TOKEN", "INPUT_SOURCE": "conventional",
    ]
  }

  static func json(_ object: Any) throws -> Data { try JSONSerialization.data(withJSONObject: object) }

  /// A commit name is 40 or 64 hex digits; one that is markup (an HTML comment that hides the
  /// rest of the summary and of the release notes, a new line that starts a heading) is
  /// refused, not pasted into the changelog.
  @Test(arguments: ["<!--abcdef", "1234\n# x\n<img src=x>", "abc"])
  func aCommitNameThatIsNoObjectNameIsRefused(_ sha: String) async throws {
    defer { api.stop() }
    let commit: [String: Any] = ["sha": sha, "commit": ["message": "feat: one"]]
    for tagged in [true, false] {
      try await api.script([
        .init("GET", "/repos/acme/app/tags", body: try Self.json(tagged ? [["name": "v1.0.0", "commit": ["sha": Self.tagged]]] : [])),
        .init("GET", "/repos/acme/app/compare/", body: try Self.json(["status": "ahead", "total_commits": 1, "commits": [commit]])),
        .init("GET", "/repos/acme/app/commits", body: try Self.json([commit])),
      ])
      await #expect {
        _ = try await runStage(VersionStage.self, env)
      } throws: { error in
        "\(error)".contains("which is no object name") && "\(error)".contains(tagged ? "compare v1.0.0..." : "list commits of")
      }
    }
  }

  /// A list GitHub pages without end (or longer than Gantry reads: 100 pages) ends the stage
  /// with an error naming it. Cut silently at 10,000 tags, a repository whose release tags
  /// come after 10,000 others read as one without releases: `version` answered
  /// initial-version plus every commit, and would have tagged and released that.
  @Test func aTagListLongerThanGantryReadsIsAnErrorNotAnUnreleasedRepository() async throws {
    defer { api.stop() }
    let nightly = (0..<100).map { ["name": "nightly-\($0)", "commit": ["sha": Self.tagged]] }
    let commit: [String: Any] = ["sha": Self.head, "commit": ["message": "feat: one"]]
    try await api.script([
      .init("GET", "/repos/acme/app/tags", headers: ["Link": "<\(api.url("/repos/acme/app/tags?page=2"))>; rel=\"next\""], body: try Self.json(nightly)),
      .init("GET", "/repos/acme/app/commits", body: try Self.json([commit])),
    ])
    await #expect {
      _ = try await runStage(VersionStage.self, env)
    } throws: { error in
      "\(error)".contains("list tags") && "\(error)".contains("more than 100 pages") && "\(error)".contains("fetch-depth: 0")
    }
    #expect(try await api.received().filter { $0.path.hasPrefix("/repos/acme/app/tags") }.count == 100)
  }

  /// A comparison whose `total_commits` is never reached is read to the same page cap, not to
  /// 1,000 pages (100,000 commits held in memory) and then used as if whole.
  @Test func aComparisonThatNeverEndsStopsAtThePageCap() async throws {
    defer { api.stop() }
    let commits = (0..<100).map { i -> [String: Any] in
      ["sha": String(format: "%040x", i), "commit": ["message": "fix: \(i)"]]
    }
    try await api.script([
      .init("GET", "/repos/acme/app/tags", body: try Self.json([["name": "v1.0.0", "commit": ["sha": Self.tagged]]])),
      .init("GET", "/repos/acme/app/compare/", body: try Self.json(["status": "ahead", "total_commits": 1_000_000_000, "commits": commits])),
    ])
    await #expect {
      _ = try await runStage(VersionStage.self, env)
    } throws: { error in
      "\(error)".contains("compare v1.0.0...") && "\(error)".contains("more than 100 pages")
    }
    #expect(try await api.received().count <= 101)
  }
}
