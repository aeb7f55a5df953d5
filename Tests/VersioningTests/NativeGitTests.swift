import Foundation
import TestSupport
import Testing

@testable import Versioning

/// Gantry's own `.git` reader must answer exactly as the git program does: every test builds a
/// real repository with git and asks both.
@Suite struct NativeGitTests {
  /// Both readers' answers for the version stage's questions.
  struct Answers: Equatable {
    var head: String
    var shallow: Bool
    var latest: String?
    var commits: [String]
    var parsed: [ConventionalCommit]
    var tagCommits: [String?]

    init(_ repo: GitRepository, prefix: String = "v", tags: [String]) throws {
      head = try repo.head()
      shallow = repo.isShallow
      latest = try repo.latestTag(prefix: prefix)?.tag
      let since = try repo.commits(since: latest)
      commits = since.map(\.sha)
      parsed = since
      tagCommits = tags.map { repo.commit(ofTag: $0) }
    }
  }

  func compare(_ path: String, prefix: String = "v", tags: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> Answers {
    let program = try Answers(GitRepository(path: path, reader: .program("/usr/bin/git")), prefix: prefix, tags: tags)
    let native = try Answers(GitRepository(path: path, reader: .native), prefix: prefix, tags: tags)
    #expect(native == program, sourceLocation: sourceLocation)
    return native
  }

  /// A history with annotated and lightweight tags, a prerelease, a merged branch and a tag on
  /// a branch that was never merged.
  func branchyRepository() throws -> TempGitRepo {
    let repo = try TempGitRepo()
    try repo.commit("feat: first")
    try repo.git("tag", "-a", "v1.0.0", "-m", "release 1.0.0")
    try repo.commit("fix: a bug\n\nWith a body.\n\nBREAKING CHANGE: not really")
    try repo.git("tag", "v1.1.0-rc.1")
    try repo.git("checkout", "-q", "-b", "side")
    try repo.commit("feat: on a branch", file: "side.txt")
    try repo.git("tag", "v9.0.0")  // never merged: must not count
    try repo.commit("docs: more on the branch", file: "side.txt")
    try repo.git("checkout", "-q", "main")
    try repo.commit("feat: on main")
    try repo.git("tag", "v1.2.0")
    try repo.git("checkout", "-q", "-b", "topic")
    try repo.commit("fix: topic work", file: "topic.txt")
    try repo.git("checkout", "-q", "main")
    try repo.commit("chore: main moves on")
    try repo.git("merge", "-q", "--no-ff", "-m", "Merge branch 'topic'", "topic")
    try repo.commit("feat: after the merge")
    return repo
  }

  @Test func looseObjectsAndRefs() throws {
    let repo = try branchyRepository()
    let answers = try compare(repo.path, tags: ["v1.0.0", "v1.2.0", "v9.0.0", "nope"])
    #expect(answers.latest == "v1.2.0")
    #expect(Set(answers.parsed.map(\.subject)) == ["fix: topic work", "chore: main moves on", "Merge branch 'topic'", "feat: after the merge"])
    #expect(answers.commits.count == 4)
    #expect(answers.tagCommits.last == .some(nil))
  }

  @Test func packsWithDeltasAndPackedRefs() throws {
    let repo = try branchyRepository()
    // Many versions of one file, so the pack holds deltas (offset deltas by default).
    for i in 1...40 { try repo.commit("fix: change \(i)\n\n" + String(repeating: "line \(i)\n", count: 50), file: "big.txt") }
    try repo.git("tag", "v1.3.0")
    try repo.commit("feat: last")
    try repo.git("gc", "-q", "--aggressive", "--prune=now")
    #expect(try repo.git("count-objects", "-v").contains("packs: 1"))
    #expect(FileManager.default.fileExists(atPath: repo.path + "/.git/packed-refs"))
    let answers = try compare(repo.path, tags: ["v1.0.0", "v1.3.0", "v9.0.0"])
    #expect(answers.latest == "v1.3.0")
    #expect(answers.commits.count == 1)

    // Deltas whose bases are named instead of located (REF_DELTA), as older packers and
    // thin packs completed by a fetch store them.
    try repo.git("-c", "repack.useDeltaBaseOffset=false", "repack", "-a", "-d", "-f", "-q")
    let again = try compare(repo.path, tags: ["v1.0.0", "v1.3.0", "v9.0.0"])
    #expect(again == answers)
  }

  @Test func committerClockSkew() throws {
    let repo = try TempGitRepo()
    try repo.commit("feat: start")
    try repo.git("tag", "v2.3.0")
    try repo.emptyCommits((1...50).map { "fix: \($0)" }, startTime: Int(Date().timeIntervalSince1970) - 365 * 86_400)
    let answers = try compare(repo.path, tags: ["v2.3.0"])
    #expect(answers.latest == "v2.3.0")
    #expect(answers.commits.count == 50)
  }

  @Test func shallowClonesAndWorktrees() throws {
    let origin = try branchyRepository()
    let clone = try TempDirectory(prefix: "gantry-shallow")
    let r = try runCommand("/usr/bin/git", ["clone", "-q", "--depth", "1", "file://\(origin.path)", clone.path + "/c"])
    #expect(r.status == 0)
    let shallow = try compare(clone.path + "/c", tags: [])
    #expect(shallow.shallow)
    #expect(shallow.commits.count == 1)

    // A clone that borrows the origin's objects (objects/info/alternates) and has none itself.
    let shared = try TempDirectory(prefix: "gantry-shared")
    #expect(try runCommand("/usr/bin/git", ["clone", "-q", "--shared", origin.path, shared.path + "/s"]).status == 0)
    #expect(FileManager.default.fileExists(atPath: shared.path + "/s/.git/objects/info/alternates"))
    let borrowed = try compare(shared.path + "/s", tags: ["v1.0.0", "v1.2.0"])
    #expect(borrowed.latest == "v1.2.0")

    let worktree = try TempDirectory(prefix: "gantry-worktree")
    try origin.git("worktree", "add", "-q", worktree.path + "/w", "v1.2.0")
    let answers = try compare(worktree.path + "/w", tags: ["v1.0.0", "v1.2.0"])
    #expect(answers.latest == "v1.2.0")
    #expect(answers.commits.isEmpty)
  }

  @Test func thousandsOfCommitsInAPack() throws {
    let repo = try TempGitRepo()
    try repo.commit("feat: start")
    try repo.git("tag", "v1.0.0")
    try repo.emptyCommits((1...3000).map { $0 % 3 == 0 ? "feat: \($0)" : "fix: \($0)\n\nbody \($0)" })
    try repo.git("gc", "-q")
    let answers = try compare(repo.path, tags: ["v1.0.0"])
    #expect(answers.commits.count == 3000)
  }

  @Test func notARepositoryIsSaidPlainly() throws {
    let dir = try TempDirectory(prefix: "gantry-nogit")
    #expect {
      try GitRepository(path: dir.path, reader: .native)
    } throws: { error in
      "\(error)".contains("is not a git checkout")
    }
    let empty = try TempGitRepo()
    #expect {
      try GitRepository(path: empty.path, reader: .native).head()
    } throws: { error in
      "\(error)".contains("without commits")
    }
  }
}
