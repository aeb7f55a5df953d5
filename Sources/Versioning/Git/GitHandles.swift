import Basics
import CGit2
import FoundationEssentials

/// An open libgit2 repository. libgit2 forbids using one `git_repository` from two threads
/// at once, so every use goes through ``locked(_:)``; freed when the last
/// ``GitRepository`` copy goes.
final class RepositoryHandle: @unchecked Sendable {
  private let pointer: OpaquePointer
  private let lock = Lock()

  /// Opens the repository of the checkout at `path`, searching upward as git does (a
  /// `working-directory` inside a checkout), through `.git` files of worktrees and
  /// submodules, and bare repositories.
  init(path: String) throws {
    try LibGit2.start()
    var repo: OpaquePointer?
    let code = git_repository_open_ext(&repo, path, 0, nil)
    if code == GIT_ENOTFOUND.rawValue { throw VersionSourceError("\(LibGit2.printable(path)) is not a git checkout") }
    try LibGit2.check(code, "cannot open the git repository at \(LibGit2.printable(path))")
    guard let repo else { throw VersionSourceError("cannot open the git repository at \(LibGit2.printable(path))") }
    pointer = repo
  }

  deinit { git_repository_free(pointer) }

  /// The pack index check's outcome, made before the first object is read (not when the
  /// repository is opened: a corrupt store is reported as such, not as "not a checkout").
  private var indexesChecked: Result<Void, VersionSourceError>?

  /// Runs `body` with the repository, one thread at a time, without reading objects.
  func locked<T>(_ body: (OpaquePointer) throws -> T) rethrows -> T {
    try lock.withLock { try body(pointer) }
  }

  /// Runs `body` with the repository, one thread at a time, once its pack indexes passed
  /// ``PackIndexCheck``.
  func reading<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
    try lock.withLock {
      if indexesChecked == nil {
        let objects = (git_repository_commondir(pointer).map { String(cString: $0) } ?? "") + "objects"
        indexesChecked = Result { try PackIndexCheck.verify(objects: objects) }.mapError { $0 as? VersionSourceError ?? VersionSourceError("\($0)") }
      }
      try indexesChecked?.get()
      return try body(pointer)
    }
  }
}

/// Owned libgit2 handles, each freed when its scope ends.
enum Owned {
  /// Looks an object up, hands it to `body`, frees it.
  static func object<T>(_ repo: OpaquePointer, _ id: git_oid, _ body: (OpaquePointer) throws -> T) throws -> T {
    var id = id
    var object: OpaquePointer?
    try LibGit2.check(git_object_lookup(&object, repo, &id, GIT_OBJECT_ANY), "cannot read object \(LibGit2.hex(id))")
    guard let object else { throw VersionSourceError("cannot read object \(LibGit2.hex(id))") }
    defer { git_object_free(object) }
    return try body(object)
  }

  /// Looks a commit up, hands it to `body`, frees it.
  static func commit<T>(_ repo: OpaquePointer, _ id: git_oid, _ body: (OpaquePointer) throws -> T) throws -> T {
    var id = id
    var commit: OpaquePointer?
    try LibGit2.check(git_commit_lookup(&commit, repo, &id), "cannot read commit \(LibGit2.hex(id))")
    guard let commit else { throw VersionSourceError("cannot read commit \(LibGit2.hex(id))") }
    defer { git_commit_free(commit) }
    return try body(commit)
  }

  /// Looks a ref up without following symbolic refs, hands it to `body`, frees it; nil when
  /// there is no such ref.
  static func reference<T>(_ repo: OpaquePointer, _ name: String, _ body: (OpaquePointer) throws -> T) throws -> T? {
    var ref: OpaquePointer?
    let code = git_reference_lookup(&ref, repo, name)
    if code == GIT_ENOTFOUND.rawValue { return nil }
    try LibGit2.check(code, "cannot read \(LibGit2.printable(name))")
    guard let ref else { return nil }
    defer { git_reference_free(ref) }
    return try body(ref)
  }

  /// A revision walk, freed after `body`.
  static func revwalk<T>(_ repo: OpaquePointer, _ body: (OpaquePointer) throws -> T) throws -> T {
    var walk: OpaquePointer?
    try LibGit2.check(git_revwalk_new(&walk, repo), "cannot walk the history")
    guard let walk else { throw VersionSourceError("cannot walk the history") }
    defer { git_revwalk_free(walk) }
    return try body(walk)
  }
}
