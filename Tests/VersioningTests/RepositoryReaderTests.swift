import Foundation
import TestSupport
import Testing

@testable import Versioning

/// The libgit2 reader must answer exactly as the git program does: every test builds a real
/// repository with git, asks ``GitRepository`` and asks git itself (``GitOracle``).
@Suite struct RepositoryReaderTests {
  /// The answers to the version stage's questions.
  struct Answers: Equatable {
    var head: String
    var shallow: Bool
    var latest: String?
    var commits: [String]
    var parsed: [ConventionalCommit]
    var tagCommits: [String?]

    init(_ repo: GitRepository, prefix: String = "v", tags: [String], tip: String? = nil) throws {
      head = try repo.head()
      shallow = repo.isShallow
      latest = try repo.latestTag(prefix: prefix, from: tip)?.tag
      let since = try repo.commits(since: latest, to: tip)
      commits = since.map(\.sha)
      parsed = since
      tagCommits = tags.map { repo.commit(ofTag: $0) }
    }

    init(_ git: GitOracle, prefix: String = "v", tags: [String], tip: String? = nil) throws {
      head = try git.run("rev-parse", "HEAD")
      shallow = try git.run("rev-parse", "--is-shallow-repository") == "true"
      latest = try git.latestTag(prefix: prefix, tip: tip ?? head)
      parsed = try git.log(tip: tip ?? head, base: latest)
      commits = parsed.map(\.sha)
      tagCommits = try tags.map { try git.commit(ofTag: $0) }
    }
  }

  /// The same questions answered by the git program, as the version stage once asked it.
  struct GitOracle {
    var path: String

    @discardableResult
    func run(_ args: String..., input: String? = nil, trim: Bool = true) throws -> String { try run(args, trim: trim) }

    func run(_ args: [String], trim: Bool = true, allowFailure: Bool = false) throws -> String {
      let r = try Subprocess.run("/usr/bin/git", ["-C", path] + args)
      guard r.status == 0 || allowFailure else { throw VersionSourceError("git \(args.joined(separator: " ")): \(String(decoding: r.stderr, as: UTF8.self))") }
      let out = String(decoding: r.stdout, as: UTF8.self)
      return trim ? out.trimmingCharacters(in: .whitespacesAndNewlines) : out
    }

    func commit(ofTag tag: String) throws -> String? {
      let out = try run(["rev-parse", "--verify", "--quiet", "refs/tags/\(tag)^{commit}"], allowFailure: true)
      return out.isEmpty ? nil : out
    }

    /// The highest release tag whose commit `git rev-list tip` lists; tags git cannot peel
    /// to a commit (`cat-file --batch-check` says missing) are passed over.
    func latestTag(prefix: String, tip: String) throws -> String? {
      let names = try run("for-each-ref", "--format=%(refname:strip=2)", "refs/tags/").split(separator: "\n").map(String.init)
      let candidates = ReleaseTags.candidates(names, prefix: prefix)
      let reachable = Set(try run("rev-list", tip).split(separator: "\n").map(String.init))
      let file = FileManager.default.temporaryDirectory.appendingPathComponent("gantry-oracle-\(UUID().uuidString)").path
      try candidates.map { "refs/tags/\($0.tag)^{commit}\n" }.joined().write(toFile: file, atomically: true, encoding: .utf8)
      defer { try? FileManager.default.removeItem(atPath: file) }
      let r = try Subprocess.run("/bin/sh", ["-c", "git -C \"$0\" cat-file --batch-check < \"$1\"", path, file])
      let lines = String(decoding: r.stdout, as: UTF8.self).split(separator: "\n")
      for (c, line) in zip(candidates, lines) {
        let sha = String(line.prefix(40))
        if line.hasSuffix(" missing") == false, reachable.contains(sha) { return c.tag }
      }
      return nil
    }

    /// `git log --reverse`, NUL-separated: no message can forge an entry.
    func log(tip: String, base: String?) throws -> [ConventionalCommit] {
      let out = try run(["log", "--reverse", "-z", "--format=%H%x00%B", tip] + (base.map { ["^refs/tags/\($0)"] } ?? []), trim: false)
      var fields = out.split(separator: "\0", omittingEmptySubsequences: false)
      if fields.last == "" { fields.removeLast() }
      return stride(from: 0, to: fields.count - 1, by: 2).map {
        ConventionalCommit(sha: String(fields[$0]), message: String(fields[$0 + 1]).trimmingCharacters(in: .whitespacesAndNewlines))
      }
    }
  }

  func compare(_ path: String, prefix: String = "v", tags: [String], tip: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> Answers {
    let program = try Answers(GitOracle(path: path), prefix: prefix, tags: tags, tip: tip)
    let libgit2 = try Answers(GitRepository(path: path), prefix: prefix, tags: tags, tip: tip)
    #expect(libgit2 == program, sourceLocation: sourceLocation)
    return libgit2
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
    // Its history is cut: said plainly (the version stage reads it through the GitHub API).
    let shallow = try GitRepository(path: clone.path + "/c")
    #expect(shallow.isShallow)
    #expect(try shallow.head() == (try origin.git("rev-parse", "HEAD")))
    #expect(throws: VersionSourceError.self) { try shallow.commits(since: nil) }
    #expect(try GitOracle(path: clone.path + "/c").run("rev-parse", "--is-shallow-repository") == "true")

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
      try GitRepository(path: dir.path)
    } throws: { error in
      "\(error)".contains("is not a git checkout")
    }
    let empty = try TempGitRepo()
    #expect {
      try GitRepository(path: empty.path).head()
    } throws: { error in
      "\(error)".contains("without commits")
    }
  }

  /// Commits with exact message bytes (and an optional `encoding` header), through
  /// `git fast-import`: what a hostile or unusual client can write.
  func importCommits(_ repo: TempGitRepo, _ commits: [(message: [UInt8], encoding: String?)]) throws {
    let branch = try repo.git("symbolic-ref", "HEAD")
    var stream: [UInt8] = []
    let start = Int(Date().timeIntervalSince1970) + 1
    for (i, c) in commits.enumerated() {
      stream += Array("commit \(branch)\ncommitter T <t@example.com> \(start + i) +0000\n".utf8)
      if let e = c.encoding { stream += Array("encoding \(e)\n".utf8) }
      stream += Array("data \(c.message.count)\n".utf8) + c.message + Array("\n".utf8)
      if i == 0 { stream += Array("from \(branch)^0\n".utf8) }
      stream += Array("\n".utf8)
    }
    let file = repo.directory.file(".fast-import")
    #expect(FileManager.default.createFile(atPath: file, contents: Data(stream)))
    defer { try? FileManager.default.removeItem(atPath: file) }
    let r = try runCommand("/bin/sh", ["-c", "git -C '\(repo.path)' fast-import --quiet < '\(file)'"])
    #expect(r.status == 0, "\(r.stderr)")
  }

  /// 0x1E/0x1F in a message cannot forge a commit: the git program's output is NUL-separated.
  @Test func messagesCannotForgeCommits() throws {
    let repo = try TempGitRepo()
    try repo.commit("feat: start")
    try repo.git("tag", "v1.0.0")
    let forged = "fix: innocent\u{1e}\n\(String(repeating: "0", count: 40))\u{1f}feat!: forged\u{1e}"
    try importCommits(repo, [(Array(forged.utf8), nil)])
    let answers = try compare(repo.path, tags: [])
    #expect(answers.parsed.map(\.bump) == [.patch])
    #expect(answers.commits.count == 1)
  }

  /// A `BREAKING CHANGE:` footer after CRLF line ends is found as with LF.
  @Test func crlfMessagesParseLikeLF() throws {
    let repo = try TempGitRepo()
    try repo.commit("feat: start")
    try repo.git("tag", "v1.0.0")
    try importCommits(repo, [(Array("fix(api): a\r\n\r\nBody.\r\n\r\nBREAKING CHANGE: b\r\n".utf8), nil)])
    let answers = try compare(repo.path, tags: [])
    #expect(answers.parsed.first?.breaking == true)
    #expect(answers.parsed.first?.scope == "api")
    #expect(answers.parsed.first?.bump == .major)
  }

  /// A commit with an `encoding ISO-8859-1` header reads as git re-encodes it.
  @Test func latin1CommitsAreReencoded() throws {
    let repo = try TempGitRepo()
    try repo.commit("feat: start")
    try importCommits(repo, [([UInt8]("fix: caf".utf8) + [0xe9, 0x20, 0xe0, 0x20, 0xc9, 0x74, 0xe9], "ISO-8859-1")])
    let answers = try compare(repo.path, tags: [])
    #expect(answers.parsed.last?.subject == "fix: café à Été")
  }

  /// Tags without the prefix are never releases when a prefix is set; the empty prefix
  /// selects only bare versions.
  @Test func unprefixedTagsAreNotReleases() throws {
    let repo = try TempGitRepo()
    try repo.commit("feat: start")
    try repo.git("tag", "v1.0.0")
    try repo.commit("feat: more")
    try repo.git("tag", "2.0.0")
    try repo.git("tag", "release-3.0.0")
    try repo.commit("fix: last")
    #expect(try compare(repo.path, tags: []).latest == "v1.0.0")
    #expect(try compare(repo.path, prefix: "", tags: []).latest == "2.0.0")
    #expect(try compare(repo.path, prefix: "release-", tags: []).latest == "release-3.0.0")
  }

  /// Tags pointing at a blob or a tree, a ref that is not an object name, and annotated
  /// tags nested 20 deep: passed over with a warning naming each, as git does.
  @Test func unreadableTagsArePassedOver() throws {
    let repo = try TempGitRepo()
    try repo.commit("feat: start")
    try repo.git("tag", "-a", "nest0", "-m", "0")
    for i in 1..<20 { try repo.git("-c", "advice.nestedTag=false", "tag", "-a", i == 19 ? "v5.0.0" : "nest\(i)", "-m", "\(i)", "nest\(i - 1)") }
    try repo.commit("fix: after")
    try repo.git("tag", "v9.0.0", try repo.git("hash-object", "-w", repo.directory.file("log.txt")))
    try repo.git("tag", "v8.0.0", "HEAD^{tree}")
    try "not an object name\n".write(toFile: repo.directory.file(".git/refs/tags/v7.0.0"), atomically: true, encoding: .utf8)
    // Refs that lead outside the repository: a symbolic ref, and a link to a file.
    try "ref: ../../../../../../etc/passwd\n".write(toFile: repo.directory.file(".git/refs/tags/v6.0.0"), atomically: true, encoding: .utf8)
    try FileManager.default.createSymbolicLink(atPath: repo.directory.file(".git/refs/tags/v6.5.0"), withDestinationPath: "/etc/passwd")
    let answers = try compare(repo.path, tags: ["v5.0.0"])
    #expect(answers.latest == "v5.0.0")
    #expect(answers.commits.count == 1)
    var warnings: [String] = []
    _ = try GitRepository(path: repo.path).latestTag(prefix: "v") { warnings.append($0) }
    // One warning per tag, naming it and why; never the text of a file outside the repository.
    #expect(warnings.count == 5, "\(warnings.joined(separator: " | "))")
    #expect(warnings.contains { $0.contains("v9.0.0") && $0.contains("blob") })
    #expect(warnings.contains { $0.contains("v8.0.0") && $0.contains("tree") })
    #expect(warnings.contains { $0.contains("v7.0.0") })
    #expect(warnings.contains { $0.contains("v6.0.0") && $0.contains("not a ref under refs/") })
    #expect(warnings.contains { $0.contains("v6.5.0") })
    #expect(!warnings.contains { $0.contains("root:") || $0.contains("\n") })
  }

  /// The history is read from the commit asked for, not HEAD.
  @Test func historyFromAGivenCommit() throws {
    let repo = try TempGitRepo()
    try repo.commit("feat: start")
    try repo.git("tag", "v1.0.0")
    let old = try repo.commit("fix: one")
    try repo.commit("feat: two")
    try repo.git("tag", "v1.1.0")
    let answers = try compare(repo.path, tags: [], tip: old)
    #expect(answers.latest == "v1.0.0")
    #expect(answers.parsed.map(\.subject) == ["fix: one"])
    do {
      let r = try GitRepository(path: repo.path)
      #expect(try r.resolveCommit(old) == old)
      #expect(try r.resolveCommit(String(try r.head().prefix(7))) == (try r.head()))
      #expect(throws: VersionSourceError.self) { try r.resolveCommit(String(repeating: "e", count: 40)) }
    }
  }

  /// Thousands of higher tags on commits HEAD cannot reach: one pass, same answer.
  @Test func thousandsOfUnreachableHigherTags() throws {
    let repo = try TempGitRepo()
    try repo.commit("feat: start")
    try repo.git("tag", "v1.0.0")
    try repo.git("checkout", "-q", "-b", "side")
    let side = try repo.commit("feat: side", file: "side.txt")
    try repo.git("checkout", "-q", "main")
    try repo.commit("fix: main")
    // Written as packed refs: 3,000 `git tag` runs would take a minute.
    var packed = "# pack-refs with: peeled fully-peeled sorted\n"
    for i in 1...3_000 { packed += "\(side) refs/tags/v2.\(i).0\n" }
    let existing = (try? String(contentsOfFile: repo.directory.file(".git/packed-refs"), encoding: .utf8)) ?? ""
    try (packed + existing.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0 + "\n" }.joined()).write(
      toFile: repo.directory.file(".git/packed-refs"), atomically: true, encoding: .utf8)
    let clock = ContinuousClock()
    var answers: Answers?
    let elapsed = try clock.measure { answers = try compare(repo.path, tags: ["v2.3000.0"]) }
    #expect(answers?.latest == "v1.0.0")
    #expect(answers?.tagCommits == [side])
    print("3,000 unreachable higher tags, libgit2 and git: \(elapsed)")
  }
}
