import ActionsCore
import Foundation
import TestSupport
import Testing
import Versioning

@testable import Stages

@Suite("version stage against real git repositories")
struct VersionStageTests {
  func run(_ repo: TempGitRepo, _ extra: [String: String] = [:]) async throws -> StageResult {
    try await runStage(VersionStage.self, ["GITHUB_WORKSPACE": repo.path].merging(extra) { $1 })
  }

  @Test func conventionalCommitsBumpFromTheLastTag() async throws {
    let repo = try TempGitRepo()
    try repo.commit("feat: initial")
    try repo.git("tag", "v1.2.3")
    try repo.commit("fix: handle empty input")
    let head = try repo.commit("feat(api): add search")
    let r = try await run(repo, ["INPUT_SOURCE": "conventional"])
    #expect(r.outputs["version"] == "1.3.0")
    #expect(r.outputs["previous-version"] == "1.2.3")
    #expect(r.outputs["bump"] == "minor")
    #expect(r.outputs["commits"] == "2")
    #expect(r.outputs["tag"] == "v1.3.0")
    #expect(r.outputs["sha"] == head)
    #expect(r.outputs["snapshot-tag"] == "1.3.0-SNAPSHOT-\(head.prefix(7))")
    #expect(r.outputs["dev-tag"] == "dev-\(head.prefix(7))")
    #expect(r.outputs["version-source"] == "tag v1.2.3 + 2 commits")
    #expect(r.outputs["changelog"]?.contains("### Features\n\n- **api:** add search") == true)
    #expect(r.summary.render().contains("minor bump because of:"))
  }

  @Test func breakingChangesAndTheZeroMajorRule() async throws {
    let repo = try TempGitRepo()
    try repo.commit("feat: start")
    try repo.git("tag", "v0.4.1")
    try repo.commit("feat!: new config format")
    #expect(try await run(repo, ["INPUT_SOURCE": "conventional"]).outputs["version"] == "0.5.0")
    #expect(try await run(repo, ["INPUT_SOURCE": "conventional", "INPUT_MAJOR-ON-ZERO": "true"]).outputs["version"] == "1.0.0")
    #expect(try await run(repo, ["INPUT_SOURCE": "conventional", "INPUT_RELEASE-AS": "2.0.0"]).outputs["version"] == "2.0.0")
  }

  @Test func tagsSourceAndNoTagsYet() async throws {
    let repo = try TempGitRepo()
    try repo.commit("chore: setup")
    let none = try await run(repo, ["INPUT_SOURCE": "tags"])
    #expect(none.outputs["version"] == "0.0.0")
    #expect(none.outputs["version-source"]?.contains("no v* tag yet") == true)
    try repo.git("tag", "v0.1.5")
    try repo.commit("docs: readme")
    let tagged = try await run(repo)
    #expect(tagged.outputs["version"] == "0.1.5")
    #expect(tagged.outputs["bump"] == "none")
    #expect(tagged.outputs["next-version"] == "0.1.5")
  }

  @Test func manifestFileWinsInAuto() async throws {
    let repo = try TempGitRepo()
    try repo.write("pyproject.toml", "[project]\nname = \"app\"\nversion = \"1.2.0\"\n")
    let sha = try repo.commit("feat: app")
    let r = try await run(repo)
    #expect(r.outputs["version"] == "1.2.0")
    #expect(r.outputs["version-source"] == "pyproject.toml")
    #expect(r.outputs["snapshot-tag"] == "1.2.0-SNAPSHOT-\(sha.prefix(7))")
  }

  @Test func shallowCheckoutsAreRefusedNotGuessed() async throws {
    let origin = try TempGitRepo()
    try origin.commit("feat: a")
    try origin.git("tag", "v1.0.0")
    try origin.commit("fix: b")
    let clone = try TempDirectory()
    _ = try await awaitCommand("/usr/bin/git", ["clone", "-q", "--depth", "1", "file://\(origin.path)", clone.file("c")])
    await #expect {
      _ = try await runStage(VersionStage.self, ["GITHUB_WORKSPACE": clone.file("c"), "INPUT_SOURCE": "conventional"])
    } throws: { "\($0)".contains("shallow checkout") && "\($0)".contains("fetch-depth: 0") }
  }

  /// Before, a directory that is no checkout at all was told to set `fetch-depth: 0`, which
  /// cannot help: the step ran before actions/checkout, or in another directory.
  @Test func aDirectoryThatIsNoCheckoutIsToldToCheckOutOrPointAtTheCheckout() async throws {
    let dir = try TempDirectory()
    await #expect {
      _ = try await runStage(VersionStage.self, ["GITHUB_WORKSPACE": dir.path, "INPUT_SOURCE": "tags"])
    } throws: {
      "\($0)".contains("\(dir.path) is not a git checkout")
        && "\($0)".contains("run actions/checkout with `fetch-depth: 0` before this step, or set working-directory to the checkout")
    }
  }

  /// Before: "input 'file': cannot read /…/package.json", which reads as a permission problem.
  @Test func aManifestFileThatIsNotThereIsSaidToBeMissing() async throws {
    let repo = try TempGitRepo()
    try repo.commit("feat: initial")
    await #expect { _ = try await run(repo, ["INPUT_SOURCE": "file", "INPUT_FILE": "package.json"]) } throws: {
      ($0 as? InputError)?.input == "file" && "\($0)".hasSuffix("/package.json does not exist")
    }
  }

  /// Before, a repository tagged `0.1.6` (no `v`, as the ECR reference pipeline tags) read
  /// with the default tag-prefix gave version 0.0.0 in silence.
  @Test func tagsOfTheOtherPrefixAreNamedWhenNoneHasThisOne() async throws {
    let repo = try TempGitRepo()
    try repo.commit("feat: initial")
    try repo.git("tag", "0.1.6")
    let log = MemoryLogSink()
    let r = try await runStage(VersionStage.self, ["GITHUB_WORKSPACE": repo.path, "INPUT_SOURCE": "tags"], log: log)
    #expect(r.outputs["version"] == "0.0.0")
    #expect(log.lines.contains("::warning::no v* release tag found, but 0.1.6 would be one with tag-prefix: none; the version starts from initial-version"), "\(log.lines)")
    let bare = MemoryLogSink()
    let none = try await runStage(VersionStage.self, ["GITHUB_WORKSPACE": repo.path, "INPUT_SOURCE": "tags", "INPUT_TAG-PREFIX": "none"], log: bare)
    #expect(none.outputs["version"] == "0.1.6")
    #expect(!bare.lines.contains { $0.hasPrefix("::warning") })
  }

  /// Before: "…/nothere is not a git checkout, and the GitHub API cannot be used …" (exit 1).
  @Test func aWorkingDirectoryThatIsNotThereIsBadInput() async throws {
    let dir = try TempDirectory()
    await #expect { _ = try await runStage(VersionStage.self, ["GITHUB_WORKSPACE": dir.path, "INPUT_WORKING-DIRECTORY": "nothere"]) } throws: {
      "\($0)" == "input 'working-directory': \(dir.path)/nothere does not exist (relative paths start at the workspace)"
    }
  }

  @Test func tagsAreFoundDespiteCommitterClockSkew() async throws {
    let repo = try TempGitRepo()
    try repo.commit("feat: start")
    try repo.git("tag", "v2.3.0")
    // Commits a year older than the tagged one: `git tag --merged` would lose the tag.
    try repo.emptyCommits((1...200).map { "fix: \($0)" }, startTime: Int(Date().timeIntervalSince1970) - 365 * 86_400)
    let r = try await run(repo, ["INPUT_SOURCE": "conventional"])
    #expect(r.outputs["previous-version"] == "2.3.0")
    #expect(r.outputs["version"] == "2.3.1")
    #expect(r.outputs["commits"] == "200")
  }

  /// A runner's workspace mounted into the action's container belongs to another user, and
  /// git refuses it ("dubious ownership"); the action image has no git at all. libgit2 reads
  /// it with its owner check off and gives the same answer.
  @Test func aCheckoutGitRefusesIsReadDirectly() async throws {
    let repo = try TempGitRepo()
    try repo.commit("feat: start")
    try repo.git("tag", "-a", "v3.1.0", "-m", "3.1.0")
    try repo.commit("fix: one")
    let head = try repo.commit("feat: two")
    let trusted = try await run(repo, ["INPUT_SOURCE": "conventional"])
    let owner = try await awaitCommand("/bin/chown", ["-R", "4242:4242", repo.path])
    #expect(owner.status == 0)
    #expect(try await awaitCommand("/usr/bin/git", ["-C", repo.path, "rev-parse", "HEAD"]).stderr.contains("dubious ownership"))
    let log = MemoryLogSink()
    let r = try await runStage(VersionStage.self, ["GITHUB_WORKSPACE": repo.path, "INPUT_SOURCE": "conventional"], log: log)
    #expect(r.outputs["version"] == "3.2.0")
    #expect(r.outputs["sha"] == head)
    #expect(r.outputs["history-source"] == "git")
    #expect(r.outputs["changelog"] == trusted.outputs["changelog"])
    #expect(!log.lines.contains { $0.contains("dubious") || $0.contains("safe.directory") })
  }

  @Test func badInputs() async throws {
    let repo = try TempGitRepo()
    try repo.commit("x")
    await #expect { _ = try await run(repo, ["INPUT_SOURCE": "magic"]) } throws: { ($0 as? InputError)?.input == "source" }
    await #expect { _ = try await run(repo, ["INPUT_SOURCE": "file"]) } throws: { ($0 as? InputError)?.input == "file" }
    await #expect { _ = try await run(repo, ["INPUT_SOURCE": "conventional", "INPUT_RELEASE-AS": "1.0"]) } throws: { ($0 as? InputError)?.input == "release-as" }
  }

  /// The sha input is the commit whose history is read: `version` and `snapshot-tag` describe
  /// the same commit, from the checkout (also one owned by another user) and through the API.
  @Test func historyIsReadFromTheShaInput() async throws {
    let repo = try TempGitRepo()
    try repo.commit("feat: start")
    try repo.git("tag", "v1.0.0")
    let old = try repo.commit("fix: one")
    try repo.commit("feat!: two")
    let env = ["INPUT_SOURCE": "conventional", "INPUT_SHA": old]
    let local = try await run(repo, env)
    #expect(local.outputs["version"] == "1.0.1")
    #expect(local.outputs["sha"] == old)
    #expect(local.outputs["snapshot-tag"] == "1.0.1-SNAPSHOT-\(old.prefix(7))")
    // Abbreviated: resolved to the full name.
    #expect(try await run(repo, env.merging(["INPUT_SHA": String(old.prefix(10))]) { $1 }).outputs["sha"] == old)
    let copy = try TempDirectory(prefix: "gantry-native")
    #expect(try await awaitCommand("/bin/cp", ["-a", repo.path, copy.file("r")]).status == 0)
    #expect(try await awaitCommand("/bin/chown", ["-R", "4242:4242", copy.file("r")]).status == 0)
    let native = try await runStage(VersionStage.self, env.merging(["GITHUB_WORKSPACE": copy.file("r")]) { $1 })
    #expect(native.outputs["version"] == "1.0.1")
    let api = try await GitHubAPIServer(repository: repo.path)
    let remote = try await runStage(
      VersionStage.self,
      env.merging(["GITHUB_WORKSPACE": "/nonexistent", "GITHUB_REPOSITORY": "acme/app", "GITHUB_API_URL": api.apiURL(enterprise: false), "INPUT_GITHUB-TOKEN": api.token]) { $1 })
    #expect(remote.outputs["version"] == "1.0.1")
    #expect(remote.outputs["changelog"] == local.outputs["changelog"])

    // A sha the checkout does not have is refused, naming sha; a GITHUB_SHA it does not have
    // (another ref checked out) versions HEAD, with a warning.
    await #expect { _ = try await run(repo, env.merging(["INPUT_SHA": String(repeating: "e", count: 40)]) { $1 }) } throws: { "\($0)".contains("sha eeeeeee") }
    let log = MemoryLogSink()
    let head = try repo.git("rev-parse", "HEAD")
    let r = try await runStage(VersionStage.self, ["GITHUB_WORKSPACE": repo.path, "INPUT_SOURCE": "conventional", "GITHUB_SHA": String(repeating: "e", count: 40)], log: log)
    #expect(r.outputs["sha"] == head)
    #expect(r.outputs["version"] == "2.0.0")
    #expect(log.lines.contains { $0.contains("GITHUB_SHA eeeeeeeeeeee is not in the checkout") })
    // A checkout without a commit cannot version its HEAD instead: the error names GITHUB_SHA,
    // not the sha input the step did not set (it said "leave sha unset").
    let empty = try TempGitRepo()
    await #expect {
      _ = try await runStage(VersionStage.self, ["GITHUB_WORKSPACE": empty.path, "INPUT_SOURCE": "conventional", "GITHUB_SHA": String(repeating: "e", count: 40)])
    } throws: { "\($0)".contains("GITHUB_SHA eeeeeeeeeeee: ") && "\($0)".hasSuffix("which has no commit checked out: check out that commit") }
  }

  /// Input checks name the input at fault; tag-prefix none selects unprefixed tags.
  @Test func versionInputsAreCheckedAndNamed() async throws {
    let repo = try TempGitRepo()
    try repo.commit("feat: start")
    try repo.git("tag", "01.2.0")
    try repo.git("tag", "1.5.0")
    try repo.commit("fix: one")
    for bad in ["ab:cd/e", "abc", "xyz1234", String(repeating: "a", count: 65)] {
      await #expect { _ = try await run(repo, ["INPUT_SHA": bad]) } throws: { ($0 as? InputError)?.input == "sha" }
    }
    for bad in ["a b", "v..", "x~", "-v", "a\u{1b}b"] {
      await #expect { _ = try await run(repo, ["INPUT_TAG-PREFIX": bad]) } throws: { ($0 as? InputError)?.input == "tag-prefix" }
    }
    // `tag-prefix: 0` is a prefix, not a broken initial-version.
    let zero = try await run(repo, ["INPUT_SOURCE": "conventional", "INPUT_TAG-PREFIX": "0"])
    #expect(zero.outputs["previous-version"] == "1.2.0")
    #expect(zero.outputs["tag"] == "01.2.1")
    let none = try await run(repo, ["INPUT_SOURCE": "conventional", "INPUT_TAG-PREFIX": "none"])
    #expect(none.outputs["previous-version"] == "1.5.0")
    #expect(none.outputs["tag"] == "1.5.1")
    await #expect { _ = try await run(repo, ["INPUT_INITIAL-VERSION": "1.x"]) } throws: { ($0 as? InputError)?.input == "initial-version" }
  }

  /// A release tag or initial-version at Int.max: a clean error when a bump is due, no trap.
  @Test func versionsAtIntMaxFailCleanly() async throws {
    let repo = try TempGitRepo()
    try repo.commit("fix: start")
    await #expect {
      _ = try await run(repo, ["INPUT_SOURCE": "conventional", "INPUT_INITIAL-VERSION": "1.0.9223372036854775807"])
    } throws: { ($0 as? InputError)?.input == "initial-version" && "\($0)".contains("cannot be raised") }
    try repo.git("tag", "v1.0.9223372036854775807")
    try repo.commit("fix: more")
    await #expect { _ = try await run(repo, ["INPUT_SOURCE": "conventional"]) } throws: { $0 is StageFailure && "\($0)".contains("v1.0.9223372036854775807") }
    // Where the bump is not the answer, it is only a warning.
    let tags = try await run(repo, ["INPUT_SOURCE": "tags"])
    #expect(tags.outputs["version"] == "1.0.9223372036854775807")
    #expect(tags.outputs["next-version"] == "1.0.9223372036854775807")
    await #expect { _ = try await run(repo, ["INPUT_SOURCE": "conventional", "INPUT_INITIAL-VERSION": "1.0.9223372036854775808"]) } throws: {
      ($0 as? InputError)?.input == "initial-version"
    }
  }

  /// A commit message is anyone's text. A subject of megabytes held the stage a minute per
  /// 20 MB (600 MB of memory) and went whole into the changelog output, which GitHub refuses
  /// past 1 MiB for a job; a breaking-change footer beyond the part read still makes the bump.
  @Test func megabyteCommitMessagesAreReadCut() async throws {
    let repo = try TempGitRepo()
    try repo.commit("feat: start")
    try repo.git("tag", "v1.0.0")
    try repo.rawCommits([
      (Array(("fix: " + String(repeating: "a", count: 4 << 20)).utf8), nil),
      (Array(("docs: long\n\n" + String(repeating: "b\n", count: 2 << 20) + "\nBREAKING CHANGE: gone").utf8), nil),
    ])
    let r = try await run(repo, ["INPUT_SOURCE": "conventional"])
    #expect(r.outputs["version"] == "2.0.0")
    #expect(r.outputs["bump"] == "major")
    let changelog = r.outputs["changelog"] ?? ""
    #expect(changelog.utf8.count < 4096, "\(changelog.utf8.count) bytes")
    #expect(changelog.contains("- aaaa") && changelog.contains("a…"))
    #expect(changelog.contains("### Breaking changes\n\n- long ("))
    #expect(r.summary.render().utf8.count < 8192)
  }

  /// A pull request of thousands of commits made a changelog output of megabytes (a million
  /// empty commits push in minutes): GitHub fails a job whose outputs pass 1 MiB, and the
  /// summary dropped it whole. The changelog keeps its first 256 KiB, breaking changes and
  /// features first, and says how many commits it leaves out; the bump counts them all.
  @Test func aChangelogOfThousandsOfCommitsIsCutWithANote() async throws {
    let repo = try TempGitRepo()
    try repo.commit("feat: start")
    try repo.git("tag", "v1.0.0")
    try repo.emptyCommits((0..<6000).map { "chore: housekeeping step \($0) " + String(repeating: "x", count: 60) } + ["feat: the one feature"])
    let r = try await run(repo, ["INPUT_SOURCE": "conventional"])
    #expect(r.outputs["version"] == "1.1.0")
    #expect(r.outputs["commits"] == "6001")
    let changelog = r.outputs["changelog"] ?? ""
    #expect(changelog.utf8.count <= Changelog.byteLimit, "\(changelog.utf8.count) bytes")
    #expect(changelog.hasPrefix("### Features\n\n- the one feature ("))
    #expect(changelog.range(of: #"\n\n\*… and \d+ more commits: the changelog is cut at 256 KiB\.\*$"#, options: .regularExpression) != nil, "\(changelog.suffix(200))")
    #expect(r.summary.render().contains("Changelog (6001 commits)"))
  }
}
