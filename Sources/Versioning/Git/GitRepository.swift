import Basics
import CGit2
import FoundationEssentials

/// The git facts the version stage needs, read from a checkout through libgit2 (no git
/// program: the action image has none, and a checkout mounted from the runner belongs to
/// another user, which git refuses as "dubious ownership"; libgit2's owner check is off).
///
/// Corrupt and malicious repositories give a ``VersionSourceError`` with one printable line
/// (never a crash, and never a file's text from outside the repository); a tag that cannot
/// be read is passed over with a warning naming it.
public struct GitRepository: Sendable {
  public let path: String
  private let handle: RepositoryHandle

  /// Why libgit2 cannot be used (a build that loads it on first use, without it installed):
  /// one line naming the library file, or nil. Loads it if it is not loaded yet.
  public static var libraryProblem: String? { LibGit2.libraryProblem }

  /// Opens the checkout at `path` (or the repository it is inside).
  /// - Throws: ``VersionSourceError`` when there is no readable repository there.
  public init(path: String) throws {
    self.path = path
    handle = try RepositoryHandle(path: path)
  }

  /// A checkout made by actions/checkout with its default fetch-depth 1 has no history.
  public var isShallow: Bool { handle.locked { git_repository_is_shallow($0) == 1 } }

  /// The commit HEAD names.
  public func head() throws -> String { try handle.reading { LibGit2.hex(try headCommit($0)) } }

  private func headCommit(_ repo: OpaquePointer) throws -> git_oid {
    guard let oid = try GitRefs.resolve(repo, "HEAD") else { throw VersionSourceError("HEAD does not name a commit yet (a repository without commits)") }
    if case .unreadable(let reason) = GitRefs.peel(repo, oid) { throw VersionSourceError("HEAD does not name a readable commit: \(reason)") }
    guard case .commit(let commit) = GitRefs.peel(repo, oid) else { throw VersionSourceError("HEAD does not name a readable commit") }
    return commit
  }

  /// The full name of the commit `sha` (7 to 40 hex digits, or a tag object's name) names in
  /// this checkout.
  /// - Throws: ``VersionSourceError`` when the checkout has no such commit.
  public func resolveCommit(_ sha: String) throws -> String {
    let sha = sha.lowercased()
    guard sha.utf8.count >= 7, sha.utf8.count <= 40, sha.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
      throw VersionSourceError("'\(LibGit2.printable(sha, limit: 80))' is not a commit SHA of 7 to 40 hex digits")
    }
    return try handle.reading { repo in
      var prefix = git_oid()
      try LibGit2.check(git_oid_fromstrn(&prefix, sha, sha.utf8.count), "'\(sha)' is not a commit SHA")
      var object: OpaquePointer?
      let code = git_object_lookup_prefix(&object, repo, &prefix, sha.utf8.count, GIT_OBJECT_ANY)
      if code == GIT_ENOTFOUND.rawValue { throw VersionSourceError("commit \(sha) is not in the checkout") }
      if code == GIT_EAMBIGUOUS.rawValue { throw VersionSourceError("\(sha) names more than one object in the checkout: give more hex digits") }
      try LibGit2.check(code, "cannot read commit \(sha)")
      guard let object, let id = git_object_id(object)?.pointee else { throw VersionSourceError("commit \(sha) is not in the checkout") }
      git_object_free(object)
      guard case .commit(let commit) = GitRefs.peel(repo, id) else { throw VersionSourceError("\(sha) does not name a commit") }
      return LibGit2.hex(commit)
    }
  }

  /// The highest release tag (``ReleaseTags``) whose commit is reachable from `tip` (default
  /// HEAD), found in one pass: every commit reachable from the tip is listed once, then the
  /// candidates are checked highest first by lookup — thousands of unreachable higher tags
  /// cost one lookup each. Exact where `git tag --merged` walks by commit date and misses
  /// tags when committer clocks were skewed. Tags that cannot be read (pointing at a blob or
  /// tree, a broken ref) are passed over, each reported once through `warn`.
  public func latestTag(
    prefix: String, includePrereleases: Bool = false, from tip: String? = nil, warn: (String) -> Void = { _ in }
  ) throws -> (tag: String, version: SemVer, commit: String)? {
    try handle.reading { repo in
      try refuseShallow(repo)
      let tipOid = try tip.map { try objectID($0) } ?? headCommit(repo)
      let (tags, unreadable) = try GitRefs.tags(repo)
      let releases = ReleaseTags.candidates(tags.keys, prefix: prefix, includePrereleases: includePrereleases)
      for (name, reason) in unreadable where ReleaseTags.version(of: name, prefix: prefix) != nil {
        warn("tag \(LibGit2.printable(name)) skipped: \(reason)")
      }
      guard !releases.isEmpty else { return nil }
      let reachable = try GitWalk.ancestors(repo, of: tipOid)
      // Peeled once per object: thousands of tags on one commit cost one read.
      var peeled: [String: GitRefs.Peeled] = [:]
      for c in releases {
        guard let object = tags[c.tag] else { continue }
        let hex = LibGit2.hex(object)
        // A lightweight tag of a reachable commit needs no object read.
        if reachable.contains(hex) { return (c.tag, c.version, hex) }
        let result = peeled[hex] ?? GitRefs.peel(repo, object)
        peeled[hex] = result
        switch result {
        case .commit(let commit):
          let name = LibGit2.hex(commit)
          if reachable.contains(name) { return (c.tag, c.version, name) }
        case .unreadable(let reason):
          warn("tag \(LibGit2.printable(c.tag)) skipped: \(reason)")
        }
      }
      return nil
    }
  }

  /// Commits after `base` (a tag name or a commit; all when nil) up to `tip` (default HEAD),
  /// oldest first.
  public func commits(since base: String?, to tip: String? = nil) throws -> [ConventionalCommit] {
    try handle.reading { repo in
      try refuseShallow(repo)
      let tipOid = try tip.map { try objectID($0) } ?? headCommit(repo)
      let baseOid = try base.map { b -> git_oid in
        if let oid = try? objectID(b) { return oid }
        guard let c = commit(repo, ofTag: b) else { throw VersionSourceError("no tag \(LibGit2.printable(b))") }
        return c
      }
      return try GitWalk.log(repo, from: tipOid, excluding: baseOid)
    }
  }

  /// Whether `tag` exists and at which commit.
  public func commit(ofTag tag: String) -> String? {
    (try? handle.reading { repo in commit(repo, ofTag: tag).map(LibGit2.hex) }) ?? nil
  }

  private func commit(_ repo: OpaquePointer, ofTag tag: String) -> git_oid? {
    let name = "refs/tags/\(tag)"
    guard LibGit2.isValidRefName(name), let object = try? GitRefs.resolve(repo, name), case .commit(let c) = GitRefs.peel(repo, object) else { return nil }
    return c
  }

  /// A shallow checkout's history stops at commits whose parents were not fetched; libgit2
  /// 1.5 cannot walk it (it has no shallow grafts). The version stage reads such a checkout's
  /// history through the GitHub API instead (``isShallow``).
  private func refuseShallow(_ repo: OpaquePointer) throws {
    guard git_repository_is_shallow(repo) == 1 else { return }
    throw VersionSourceError("\(LibGit2.printable(path)) is a shallow checkout: its history is incomplete (set fetch-depth: 0 on actions/checkout)")
  }

  /// A full object name (40 hex digits).
  private func objectID(_ hex: String) throws -> git_oid {
    guard hex.utf8.count == 40 else { throw VersionSourceError("'\(LibGit2.printable(hex, limit: 80))' is not a full commit SHA") }
    var oid = git_oid()
    try LibGit2.check(git_oid_fromstr(&oid, hex), "'\(LibGit2.printable(hex, limit: 80))' is not a commit SHA")
    return oid
  }
}
