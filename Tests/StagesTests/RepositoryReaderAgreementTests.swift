import ActionsCore
import Foundation
import TestSupport
import Testing

@testable import Stages

/// One suite, every case through every way the version stage reads history: the git
/// program, Gantry's own `.git` reader (a copy git refuses: another owner, as in the action's
/// container) and the GitHub API (a real-socket stand-in answering from the same repository).
/// All three must give the same version, bump, commits and changelog.
@Suite("version: git, native and GitHub API readers agree", .serialized)
struct RepositoryReaderAgreementTests {
  static let compared = ["version", "previous-version", "next-version", "bump", "commits", "changelog"]

  struct Case: CustomTestStringConvertible, Sendable {
    var name: String
    var inputs: [String: String] = [:]
    /// Expected version from every reader.
    var version: String
    var previous: String
    var build: @Sendable (TempGitRepo) throws -> Void
    var testDescription: String { name }
  }

  static let cases: [Case] = [
    Case(name: "merges, reverts, a prerelease tag, an unmerged higher tag", version: "2.0.0", previous: "1.4.1") { repo in
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
    Case(name: "a BREAKING CHANGE footer after CRLF line ends", version: "2.0.0", previous: "1.2.0") { repo in
      try repo.commit("feat: start")
      try repo.git("tag", "v1.2.0")
      try repo.emptyCommits(["fix(io): windows\r\n\r\nA body.\r\n\r\nBREAKING CHANGE: paths changed\r\n"])
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
    Case(name: "tags at a blob and a tree are passed over", version: "1.1.0", previous: "1.0.0") { repo in
      try repo.commit("feat: start")
      try repo.git("tag", "-a", "v1.0.0", "-m", "1.0.0")
      try repo.commit("feat: two")
      try repo.git("tag", "v9.0.0", try repo.git("hash-object", "-w", repo.directory.file("log.txt")))
      try repo.git("tag", "v8.0.0", "HEAD^{tree}")
    },
  ]

  @Test(arguments: cases)
  func everyReaderGivesTheSameAnswer(_ c: Case) async throws {
    let repo = try TempGitRepo()
    try c.build(repo)
    let head = try repo.git("rev-parse", "HEAD")
    let base = c.inputs.merging(["INPUT_SOURCE": "conventional"]) { $1 }

    let program = try await runStage(VersionStage.self, base.merging(["GITHUB_WORKSPACE": repo.path, "GITHUB_SHA": head]) { $1 })
    #expect(program.outputs["version"] == c.version)
    #expect(program.outputs["previous-version"] == c.previous)

    // A copy owned by another user: git refuses it, the stage reads .git itself.
    let copy = try TempDirectory(prefix: "gantry-native")
    #expect(try await awaitCommand("/bin/cp", ["-a", repo.path, copy.file("r")]).status == 0)
    #expect(try await awaitCommand("/bin/chown", ["-R", "4242:4242", copy.file("r")]).status == 0)
    let log = MemoryLogSink()
    let native = try await runStage(VersionStage.self, base.merging(["GITHUB_WORKSPACE": copy.file("r"), "GITHUB_SHA": head]) { $1 }, log: log)
    #expect(log.lines.contains { $0.contains(".git directly") })

    let api = try await GitHubAPIServer(repository: repo.path)
    let remote = try await runStage(
      VersionStage.self,
      base.merging([
        "GITHUB_WORKSPACE": "/nonexistent", "GITHUB_REPOSITORY": "acme/app", "GITHUB_API_URL": api.apiURL(enterprise: false), "GITHUB_SHA": head,
        "INPUT_GITHUB-TOKEN": api.token,
      ]) { $1 })
    #expect(remote.outputs["history-source"] == "github-api")
    for key in Self.compared {
      #expect(native.outputs[key] == program.outputs[key], "native \(key)")
      #expect(remote.outputs[key] == program.outputs[key], "api \(key)")
    }
  }
}
