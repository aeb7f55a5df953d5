import ActionsCore
import Foundation
import HTTP
import TestSupport
import Testing

@testable import GitHub
@testable import Stages

/// The version stage through the GitHub REST API (a local stand-in answering from a real git
/// repository): shallow checkouts, pagination, tags and releases, rate limits, GHE.
@Suite("version stage through the GitHub API", .serialized)
struct VersionAPITests {
  /// A conventional history with a merge, a revert, a breaking footer, a prerelease tag and a
  /// tag on a branch that was never merged.
  static func conventionalRepo() throws -> TempGitRepo {
    let repo = try TempGitRepo()
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
    let bad = try repo.commit("perf: faster cache")
    try repo.git("revert", "--no-edit", bad)
    try repo.git("tag", "v2.0.0-rc.1")
    try repo.commit("refactor: config loader\n\nBREAKING CHANGE: the config file moved to gantry.toml")
    return repo
  }

  func apiEnvironment(_ api: GitHubAPIServer, workspace: String, sha: String, enterprise: Bool = false) -> [String: String] {
    ["GITHUB_WORKSPACE": workspace, "GITHUB_REPOSITORY": "acme/app", "GITHUB_API_URL": api.apiURL(enterprise: enterprise), "GITHUB_SHA": sha, "INPUT_GITHUB-TOKEN": api.token]
  }

  func shallowClone(_ repo: TempGitRepo) throws -> (TempDirectory, String) {
    let dir = try TempDirectory()
    let r = try runCommand("/usr/bin/git", ["clone", "-q", "--depth", "1", "file://\(repo.path)", dir.file("c")])
    #expect(r.status == 0)
    return (dir, dir.file("c"))
  }

  @Test func shallowCheckoutGivesTheSameAnswerThroughTheAPI() async throws {
    let repo = try Self.conventionalRepo()
    let head = try repo.git("rev-parse", "HEAD")
    let api = try await GitHubAPIServer(repository: repo.path)
    let (keep, shallow) = try shallowClone(repo)
    defer { _ = keep }

    let local = try await runStage(VersionStage.self, ["GITHUB_WORKSPACE": repo.path, "GITHUB_SHA": head, "INPUT_SOURCE": "conventional"])
    let log = MemoryLogSink()
    let remote = try await runStage(VersionStage.self, apiEnvironment(api, workspace: shallow, sha: head).merging(["INPUT_SOURCE": "conventional"]) { $1 }, log: log)
    #expect(local.outputs["history-source"] == "git")
    #expect(remote.outputs["history-source"] == "github-api")
    #expect(local.outputs["version"] == "2.0.0")
    #expect(local.outputs["previous-version"] == "1.4.1")
    #expect(local.outputs["bump"] == "major")
    for key in ["version", "previous-version", "bump", "commits", "changelog", "version-source", "snapshot-tag", "tag"] {
      #expect(remote.outputs[key] == local.outputs[key], "\(key)")
    }
    #expect(log.lines.contains { $0.contains("shallow checkout") && $0.contains("GitHub API") })
    #expect(remote.summary.render().contains("GitHub API (acme/app)"))
    let requests = try await api.requests()
    #expect(requests.contains { $0.hasPrefix("GET /repos/acme/app/compare/v1.4.1...\(head)") })
    // v9.0.0 is higher but on an unmerged branch: asked about first and passed over (as `--merged`
    // does); the prerelease tag is never a candidate.
    #expect(requests.contains { $0.hasPrefix("GET /repos/acme/app/compare/v9.0.0...\(head)") })
    #expect(!requests.contains { $0.contains("/compare/v2.0.0-rc.1") })
  }

  @Test func compareIsPaginatedPastTwoHundredFiftyCommits() async throws {
    let repo = try TempGitRepo()
    try repo.commit("feat: base")
    try repo.git("tag", "v3.0.0")
    try repo.emptyCommits((1...259).map { "fix: bug \($0)" } + ["feat: the 260th"])
    let head = try repo.git("rev-parse", "HEAD")
    let api = try await GitHubAPIServer(repository: repo.path)
    let r = try await runStage(VersionStage.self, apiEnvironment(api, workspace: "/nonexistent", sha: head).merging(["INPUT_SOURCE": "conventional"]) { $1 })
    #expect(r.outputs["commits"] == "260")
    #expect(r.outputs["version"] == "3.1.0")
    #expect(try await api.requests().filter { $0.contains("/compare/") }.count == 3)
  }

  @Test func noTagsReadsTheWholeHistoryAcrossPages() async throws {
    let repo = try TempGitRepo()
    try repo.commit("chore: start")
    try repo.emptyCommits((2...120).map { $0 == 60 ? "feat: the feature" : "chore: step \($0)" })
    let head = try repo.git("rev-parse", "HEAD")
    let api = try await GitHubAPIServer(repository: repo.path)
    let r = try await runStage(VersionStage.self, apiEnvironment(api, workspace: "/nonexistent", sha: head).merging(["INPUT_SOURCE": "conventional", "INPUT_HISTORY": "github-api"]) { $1 })
    #expect(r.outputs["commits"] == "120")
    #expect(r.outputs["version"] == "0.1.0")
    #expect(try await api.requests().filter { $0.contains("/commits?") }.count == 2)
  }

  @Test func createsTagsAndReleasesIdempotently() async throws {
    let repo = try TempGitRepo()
    try repo.commit("feat: one")
    try repo.git("tag", "v1.0.0")
    let head = try repo.commit("feat: two")
    let api = try await GitHubAPIServer(repository: repo.path)
    let env = apiEnvironment(api, workspace: repo.path, sha: head).merging(["INPUT_SOURCE": "conventional", "INPUT_CREATE-TAG": "true", "INPUT_CREATE-RELEASE": "true"]) { $1 }

    let dry = try await runStage(VersionStage.self, env.merging(["INPUT_DRY-RUN": "true"]) { $1 })
    #expect(dry.outputs["tag-created"] == "dry-run")
    #expect(dry.outputs["release-url"] == "")
    #expect(!(try await api.requests()).contains { $0.hasPrefix("POST") })

    let first = try await runStage(VersionStage.self, env.merging(["INPUT_TAG-MESSAGE": "Release 1.1.0"]) { $1 })
    #expect(first.outputs["tag-created"] == "created")
    #expect(first.outputs["release-url"] == "https://github.example/releases/tag/v1.1.0")
    #expect(try repo.git("rev-list", "-n", "1", "v1.1.0") == head)
    #expect(try repo.git("cat-file", "-t", "v1.1.0") == "tag")
    #expect(try repo.git("tag", "-l", "--format=%(contents:subject)", "v1.1.0") == "Release 1.1.0")
    let release = try await api.releases()["v1.1.0"]
    #expect((release?["body"] as? String)?.contains("### Features\n\n- two") == true)
    #expect(release?["generate_release_notes"] == nil)
    #expect(release?["prerelease"] as? Bool == false)

    // Again: the tag is there at this commit, the release exists; nothing is written.
    let posts = try await api.requests().filter { $0.hasPrefix("POST") }.count
    let again = try await runStage(VersionStage.self, env)
    #expect(again.outputs["tag-created"] == "exists")
    #expect(again.outputs["release-url"] == "https://github.example/releases/tag/v1.1.0")
    #expect(try await api.requests().filter { $0.hasPrefix("POST") }.count == posts)

    // The same version from another commit is refused.
    let other = try repo.commit("docs: readme")
    await #expect {
      _ = try await runStage(VersionStage.self, env.merging(["GITHUB_SHA": other, "INPUT_RELEASE-AS": "1.1.0"]) { $1 })
    } throws: { "\($0)".contains("tag v1.1.0 already exists at \(head.prefix(7)), not at \(other.prefix(7))") }
  }

  @Test func generatedReleaseNotesAreLeftToGitHub() async throws {
    let repo = try TempGitRepo()
    let head = try repo.commit("feat: one")
    let api = try await GitHubAPIServer(repository: repo.path)
    let env = apiEnvironment(api, workspace: repo.path, sha: head)
    let r = try await runStage(
      VersionStage.self, env.merging(["INPUT_SOURCE": "conventional", "INPUT_CREATE-RELEASE": "true", "INPUT_RELEASE-NOTES": "generated", "INPUT_RELEASE-AS": "1.0.0-rc.1"]) { $1 })
    #expect(r.outputs["release-url"] == "https://github.example/releases/tag/v1.0.0-rc.1")
    let release = try await api.releases()["v1.0.0-rc.1"]
    #expect(release?["generate_release_notes"] as? Bool == true)
    #expect(release?["body"] == nil)
    #expect(release?["prerelease"] as? Bool == true)
    #expect(release?["target_commitish"] as? String == head)
  }

  /// The ECR pipeline's promotion job releases the latest tag (`source: tags`): that release's
  /// commits are the ones up to the tag, not Gantry's changelog (the commits after it), so its
  /// notes are left to GitHub, which writes them from the release before.
  @Test func aReleaseOfTheLatestTagIsNotGivenTheCommitsAfterIt() async throws {
    let repo = try TempGitRepo()
    try repo.commit("feat: one")
    try repo.git("tag", "0.1.5")
    try repo.commit("fix: in 0.1.6")
    try repo.git("tag", "0.1.6")
    let head = try repo.commit("feat: after 0.1.6, not in it")
    let api = try await GitHubAPIServer(repository: repo.path)
    let log = MemoryLogSink()
    let r = try await runStage(
      VersionStage.self, apiEnvironment(api, workspace: repo.path, sha: head).merging(["INPUT_SOURCE": "tags", "INPUT_TAG-PREFIX": "none", "INPUT_CREATE-RELEASE": "true"]) { $1 },
      log: log)
    #expect(r.outputs["version"] == "0.1.6")
    #expect(r.outputs["release-url"] == "https://github.example/releases/tag/0.1.6")
    let release = try #require(try await api.releases()["0.1.6"])
    #expect(release["body"] == nil, "\(release["body"] ?? "")")
    #expect(release["generate_release_notes"] as? Bool == true)
    #expect(log.lines.contains { $0.contains("release notes of 0.1.6: GitHub's") }, "\(log.lines)")
    // The output is still what it says: the commits since the last tag.
    #expect(r.outputs["changelog"]?.contains("after 0.1.6, not in it") == true)
  }

  @Test func lightweightTagOnGitHubEnterprise() async throws {
    let repo = try TempGitRepo()
    let head = try repo.commit("fix: one")
    let api = try await GitHubAPIServer(repository: repo.path)
    let r = try await runStage(VersionStage.self, apiEnvironment(api, workspace: repo.path, sha: head, enterprise: true).merging(["INPUT_SOURCE": "conventional", "INPUT_CREATE-TAG": "true"]) { $1 })
    #expect(r.outputs["version"] == "0.0.1")
    #expect(r.outputs["tag-created"] == "created")
    #expect(try repo.git("cat-file", "-t", "v0.0.1") == "commit")
    let requests = try await api.requests()
    #expect(requests.contains { $0.hasPrefix("POST /api/v3/repos/acme/app/git/refs") })
    #expect(requests.allSatisfy { $0.hasPrefix("GET /api/v3/") || $0.hasPrefix("POST /api/v3/") })
  }

  @Test(arguments: ["retry-after", "reset"])
  func rateLimitsAreWaitedOut(mode: String) async throws {
    let repo = try TempGitRepo()
    try repo.commit("feat: one")
    try repo.git("tag", "v1.0.0")
    let head = try repo.commit("fix: two")
    let api = try await GitHubAPIServer(repository: repo.path)
    try await api.rateLimit(next: 2, mode: mode)
    let log = MemoryLogSink()
    let r = try await runStage(VersionStage.self, apiEnvironment(api, workspace: "/nonexistent", sha: head).merging(["INPUT_SOURCE": "conventional"]) { $1 }, log: log)
    #expect(r.outputs["version"] == "1.0.1")
    #expect(log.lines.filter { $0.contains("rate limit") }.count == 2)
  }

  @Test func errorsSayWhatToFix() async throws {
    let repo = try TempGitRepo()
    let head = try repo.commit("fix: one")
    let api = try await GitHubAPIServer(repository: repo.path)
    var env = apiEnvironment(api, workspace: "/nonexistent", sha: head)
    env["INPUT_GITHUB-TOKEN"] = "wrong"
    await #expect { _ = try await runStage(VersionStage.self, env) } throws: { "\($0)".contains("bad credentials") && "\($0)".contains("github-token") }
    env["INPUT_GITHUB-TOKEN"] = nil
    await #expect { _ = try await runStage(VersionStage.self, env) } throws: { "\($0)".contains("not a git checkout") && "\($0)".contains("github-token") }
    await #expect {
      _ = try await runStage(VersionStage.self, ["GITHUB_WORKSPACE": repo.path, "INPUT_CREATE-TAG": "true"])
    } throws: { ($0 as? InputError)?.input == "github-token" }
  }

  @Test func rateLimitWaitsComeFromGitHubHeaders() {
    let now = Date(timeIntervalSince1970: 1_000)
    let url = URL(string: "https://api.github.com/x")!
    #expect(GitHubClient.rateLimitWait(Response(status: 403, headers: ["Retry-After": "7"], url: url), now: now) == .seconds(7))
    #expect(GitHubClient.rateLimitWait(Response(status: 403, headers: ["x-ratelimit-remaining": "0", "x-ratelimit-reset": "1030"], url: url), now: now) == .seconds(31))
    #expect(GitHubClient.rateLimitWait(Response(status: 403, headers: ["x-ratelimit-remaining": "12"], url: url), now: now) == nil)
    #expect(GitHubClient.rateLimitWait(Response(status: 404, headers: ["Retry-After": "7"], url: url), now: now) == nil)
  }
}
