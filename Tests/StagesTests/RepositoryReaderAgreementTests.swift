import ActionsCore
import Foundation
import TestSupport
import Testing

@testable import Stages

/// One suite, every history case through both ways the version stage reads history: the
/// repository (libgit2, on a copy owned by another user, as the action's container sees the
/// runner's checkout) and the GitHub API (a real-socket stand-in answering from the same
/// repository, Tests/Fixtures/github_api.py). Both must give the expected version, and the
/// same bump, commits and changelog.
@Suite("version: the repository and the GitHub API agree", .serialized)
struct RepositoryReaderAgreementTests {
  static let compared = ["version", "previous-version", "next-version", "bump", "commits", "changelog"]

  struct Case: CustomTestStringConvertible, Sendable {
    var name: String
    var inputs: [String: String] = [:]
    /// Expected version from both paths.
    var version: String
    var previous: String
    var build: @Sendable (TempGitRepo) throws -> Void
    var testDescription: String { name }
  }

  static let cases: [Case] = [
    Case(name: "merges, a prerelease tag, an unmerged higher tag, a BREAKING CHANGE footer", version: "2.0.0", previous: "1.4.1") { repo in
      try repo.commit("feat: first")
      try repo.git("tag", "v1.4.0")
      try repo.git("checkout", "-q", "-b", "experiment")
      try repo.commit("feat: never merged", file: "exp.txt")
      try repo.git("tag", "v9.0.0")
      try repo.git("checkout", "-q", "main")
      try repo.commit("fix: parse empty input")
      try repo.git("tag", "-a", "v1.4.1", "-m", "release 1.4.1")
      try repo.git("checkout", "-q", "-b", "feature")
      try repo.commit("feat(api): search endpoint", file: "api.txt")
      try repo.git("checkout", "-q", "main")
      try repo.git("merge", "-q", "--no-ff", "-m", "Merge branch 'feature'", "feature")
      try repo.git("tag", "v2.0.0-rc.1")
      try repo.commit("refactor: config loader\n\nBREAKING CHANGE: the config file moved")
    },
    Case(name: "a breaking change marked with !", version: "4.0.0", previous: "3.2.1") { repo in
      try repo.commit("feat: start")
      try repo.git("tag", "v3.2.1")
      try repo.commit("fix: small")
      try repo.commit("feat(api)!: drop the v1 endpoints")
    },
    Case(name: "separator bytes in a message forge no commit", version: "1.0.1", previous: "1.0.0") { repo in
      try repo.commit("feat: start")
      try repo.git("tag", "v1.0.0")
      // What splitting `git log` output on 0x1E/0x1F would read as a second, breaking commit.
      let forged = "fix: innocent\u{1e}\n\(String(repeating: "0", count: 40))\u{1f}\(String(repeating: "0", count: 40))\u{1f}feat!: forged\u{1e}"
      try repo.rawCommits([(Array(forged.utf8), nil)])
    },
    Case(name: "a BREAKING CHANGE footer after CRLF line ends", version: "2.0.0", previous: "1.2.0") { repo in
      try repo.commit("feat: start")
      try repo.git("tag", "v1.2.0")
      try repo.rawCommits([(Array("fix(io): windows\r\n\r\nA body.\r\n\r\nBREAKING CHANGE: paths changed\r\n".utf8), nil)])
    },
    Case(name: "a Latin-1 commit reads as UTF-8", version: "1.1.0", previous: "1.0.0") { repo in
      try repo.commit("feat: start")
      try repo.git("tag", "v1.0.0")
      try repo.rawCommits([([UInt8]("feat: caf".utf8) + [0xe9, 0x20, 0xe0, 0x20, 0xc9, 0x74, 0xe9], "ISO-8859-1")])
    },
    Case(name: "unprefixed tags are not releases", version: "1.1.0", previous: "1.0.0") { repo in
      try repo.commit("feat: start")
      try repo.git("tag", "v1.0.0")
      try repo.commit("feat: more")
      try repo.git("tag", "2.0.0")
      try repo.commit("fix: last")
    },
    Case(name: "tag-prefix none selects unprefixed tags", inputs: ["INPUT_TAG-PREFIX": "none"], version: "2.0.1", previous: "2.0.0") { repo in
      try repo.commit("feat: start")
      try repo.git("tag", "v3.0.0")
      try repo.commit("feat: more")
      try repo.git("tag", "2.0.0")
      try repo.commit("fix: last")
    },
    Case(name: "tags at a blob and a tree are passed over", version: "1.1.0", previous: "1.0.0") { repo in
      try repo.commit("feat: start")
      try repo.git("tag", "-a", "v1.0.0", "-m", "1.0.0")
      try repo.commit("feat: two")
      try repo.git("tag", "v9.0.0", try repo.git("hash-object", "-w", repo.directory.file("log.txt")))
      try repo.git("tag", "v8.0.0", "HEAD^{tree}")
    },
    Case(name: "nested annotated tags are peeled", version: "2.1.0", previous: "2.0.0") { repo in
      try repo.commit("feat: start")
      try repo.git("tag", "-a", "nest0", "-m", "0")
      for i in 1..<12 { try repo.git("-c", "advice.nestedTag=false", "tag", "-a", i == 11 ? "v2.0.0" : "nest\(i)", "-m", "\(i)", "nest\(i - 1)") }
      try repo.commit("feat: after")
    },
    Case(name: "a hundred higher tags on an unmerged commit", version: "1.1.0", previous: "1.0.0") { repo in
      try repo.commit("feat: start")
      try repo.git("tag", "v1.0.0")
      try repo.git("checkout", "-q", "-b", "side")
      let side = try repo.commit("feat: side", file: "side.txt")
      try repo.git("checkout", "-q", "main")
      try repo.commit("feat: main")
      let refs = (1...100).map { "create refs/tags/v2.\($0).0 \(side)\n" }.joined()
      try refs.write(toFile: repo.directory.file("refs.txt"), atomically: true, encoding: .utf8)
      #expect(try runCommand("/bin/sh", ["-c", "git -C '\(repo.path)' update-ref --stdin < '\(repo.directory.file("refs.txt"))'"]).status == 0)
      try FileManager.default.removeItem(atPath: repo.directory.file("refs.txt"))
    },
    Case(name: "forty releases in a row", version: "1.40.0", previous: "1.39.0") { repo in
      try repo.commit("feat: start")
      for i in 0..<40 {
        try repo.rawCommits([(Array("feat: release \(i)".utf8), nil)])
        try repo.git("tag", "v1.\(i).0")
      }
      try repo.rawCommits([(Array("feat: next".utf8), nil)])
    },
    // A commit message is anyone's text: both readers keep its first part, and the verdict of a
    // breaking-change footer beyond it.
    Case(name: "megabyte messages: a 2 MB subject, a BREAKING CHANGE footer after 3 MB of body", version: "2.0.0", previous: "1.0.0") { repo in
      try repo.commit("feat: start")
      try repo.git("tag", "v1.0.0")
      try repo.rawCommits([
        (Array(("fix: " + String(repeating: "a", count: 2 << 20)).utf8), nil),
        (Array(("docs: long\n\n" + String(repeating: "b\n", count: 3 << 19) + "\nBREAKING CHANGE: gone").utf8), nil),
      ])
    },
  ]

  @Test(arguments: cases)
  func bothPathsGiveTheSameAnswer(_ c: Case) async throws {
    let repo = try TempGitRepo()
    try c.build(repo)
    let head = try repo.git("rev-parse", "HEAD")
    let base = c.inputs.merging(["INPUT_SOURCE": "conventional", "GITHUB_SHA": head]) { $1 }

    // A copy owned by another user, which git refuses ("dubious ownership"): libgit2 reads it.
    let copy = try TempDirectory(prefix: "gantry-foreign")
    #expect(try await awaitCommand("/bin/cp", ["-a", repo.path, copy.file("r")]).status == 0)
    #expect(try await awaitCommand("/bin/chown", ["-R", "4242:4242", copy.file("r")]).status == 0)
    let local = try await runStage(VersionStage.self, base.merging(["GITHUB_WORKSPACE": copy.file("r")]) { $1 })
    #expect(local.outputs["history-source"] == "git")
    #expect(local.outputs["version"] == c.version)
    #expect(local.outputs["previous-version"] == c.previous)

    let api = try await GitHubAPIServer(repository: repo.path)
    defer { api.stop() }
    let remote = try await runStage(
      VersionStage.self,
      base.merging([
        "GITHUB_WORKSPACE": "/nonexistent", "GITHUB_REPOSITORY": "acme/app", "GITHUB_API_URL": api.apiURL(enterprise: false), "INPUT_GITHUB-TOKEN": api.token,
      ]) { $1 })
    #expect(remote.outputs["history-source"] == "github-api")
    for key in Self.compared {
      #expect(remote.outputs[key] == local.outputs[key], "\(key)")
    }
    // One compare per distinct candidate commit, at most 30 (GitHubCommitHistory.maxCandidates).
    #expect(try await api.requests().filter { $0.contains("/compare/") }.count <= 30)
  }
}
