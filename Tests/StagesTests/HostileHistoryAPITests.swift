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
}
