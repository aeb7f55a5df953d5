import Basics
import CGit2
import FoundationEssentials

/// Refs and tags, read so that a hostile repository can neither lead the reader outside
/// `.git` nor fail the whole stage with one bad tag.
///
/// libgit2 follows a symbolic ref's target as a path without checking it
/// (`ref: ../../../../etc/passwd` would be read), so symbolic refs are followed here, one
/// step at a time, each target checked as `git check-ref-format` would first.
enum GitRefs {
  /// The object a ref names, following at most 10 symbolic refs, each to a valid name under
  /// `refs/`; nil when the ref (or the branch HEAD names) does not exist.
  static func resolve(_ repo: OpaquePointer, _ name: String) throws -> git_oid? {
    var current = name
    for _ in 0..<10 {
      let step: (oid: git_oid?, next: String?)? = try Owned.reference(repo, current) { ref in
        if git_reference_type(ref) == GIT_REFERENCE_DIRECT, let target = git_reference_target(ref) { return (target.pointee, nil) }
        let target = git_reference_symbolic_target(ref).map { String(cString: $0) } ?? ""
        guard target.hasPrefix("refs/"), LibGit2.isValidRefName(target) else {
          throw VersionSourceError("\(LibGit2.printable(current)) points at '\(LibGit2.printable(target))', which is not a ref under refs/")
        }
        return (nil, target)
      }
      guard let step else { return nil }
      if let oid = step.oid { return oid }
      current = step.next ?? ""
    }
    throw VersionSourceError("\(LibGit2.printable(name)): symbolic refs nested more than 10 deep")
  }

  /// What peeling a tag found.
  enum Peeled {
    case commit(git_oid)
    /// Not a commit: why, for the warning.
    case unreadable(String)
  }

  /// The commit `id` names, through annotated tags (nested ones too); a blob, a tree or an
  /// unreadable object is said plainly.
  static func peel(_ repo: OpaquePointer, _ id: git_oid) -> Peeled {
    var current = id
    // Tags of tags cannot loop in a sound store (each names its target by hash); the bound
    // only stops a corrupt one.
    for _ in 0..<4096 {
      let step: Result<(type: git_object_t, target: git_oid?), VersionSourceError> = Result {
        try Owned.object(repo, current) { object in
          let type = git_object_type(object)
          guard type == GIT_OBJECT_TAG else { return (type, nil) }
          return (type, git_tag_target_id(object)?.pointee)
        }
      }.mapError { $0 as? VersionSourceError ?? VersionSourceError("\($0)") }
      switch step {
      case .failure(let e): return .unreadable(e.description)
      case .success(let s) where s.type == GIT_OBJECT_COMMIT: return .commit(current)
      case .success(let s) where s.type == GIT_OBJECT_TAG:
        guard let target = s.target else { return .unreadable("tag object \(LibGit2.hex(current)) names no object") }
        current = target
      case .success(let s):
        let kind = git_object_type2string(s.type).map { String(cString: $0) } ?? "object"
        return .unreadable("it names a \(kind), not a commit")
      }
    }
    return .unreadable("annotated tags nested more than 4096 deep")
  }

  /// Every tag under `refs/tags/` and the object it names (a commit, or a tag object for
  /// annotated tags), and the names of tag refs libgit2 could not read.
  ///
  /// libgit2's ref iterator passes over a loose ref it cannot parse without a word, so the
  /// loose tag files are listed too: a file the iterator did not return is looked up alone
  /// for its error, reported (by name) if the tag could have been a release.
  static func tags(_ repo: OpaquePointer) throws -> (tags: [String: git_oid], unreadable: [(name: String, reason: String)]) {
    var iterator: OpaquePointer?
    try LibGit2.check(git_reference_iterator_new(&iterator, repo), "cannot list the tags")
    defer { git_reference_iterator_free(iterator) }
    var tags: [String: git_oid] = [:]
    var unreadable: [(String, String)] = []
    var listed: Set<String> = []
    while true {
      var ref: OpaquePointer?
      let code = git_reference_next(&ref, iterator)
      if code == GIT_ITEROVER.rawValue { break }
      try LibGit2.check(code, "cannot list the tags")
      guard let ref else { break }
      defer { git_reference_free(ref) }
      guard let cName = git_reference_name(ref) else { continue }
      let full = String(cString: cName)
      guard full.hasPrefix("refs/tags/") else { continue }
      let name = String(full.dropFirst("refs/tags/".count))
      listed.insert(name)
      if git_reference_type(ref) == GIT_REFERENCE_DIRECT, let target = git_reference_target(ref) {
        tags[name] = target.pointee
      } else {
        do {
          if let oid = try resolve(repo, full) { tags[name] = oid } else { unreadable.append((name, "its symbolic ref names no object")) }
        } catch { unreadable.append((name, "\(error)")) }
      }
    }
    for name in looseTagNames(repo) where !listed.contains(name) {
      do {
        if let oid = try resolve(repo, "refs/tags/\(name)") { tags[name] = oid }
      } catch { unreadable.append((name, "\(error)")) }
    }
    return (tags, unreadable)
  }

  /// The names of the loose tag files (`refs/tags/**` in the common git directory), at most
  /// 100,000, without following symbolic links; names git would refuse are left out.
  ///
  /// Listed with `readdir` (FoundationEssentials) and `lstat` (``Files/kind(atPath:)``), not
  /// Foundation's resource values: those look the
  /// owner's name up (`getpwuid_r`), which crashes a fully static binary on a host whose
  /// name service loads a module (libnss_systemd).
  private static func looseTagNames(_ repo: OpaquePointer) -> [String] {
    guard let common = git_repository_commondir(repo) else { return [] }
    let commonDirectory = String(cString: common)
    let root = commonDirectory + (commonDirectory.hasSuffix("/") ? "" : "/") + "refs/tags"
    var names: [String] = []
    // Depth-first, symbolic links listed (libgit2 reads them as refs) but never entered.
    var pending: [String] = [""]
    while let relative = pending.popLast(), names.count < 100_000 {
      let directory = relative.isEmpty ? root : "\(root)/\(relative)"
      for entry in ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted() {
        let name = relative.isEmpty ? entry : "\(relative)/\(entry)"
        switch Files.kind(atPath: "\(root)/\(name)") {
        case .directory: if pending.count < 10_000 { pending.append(name) }
        case .regular, .symbolicLink: if LibGit2.isValidRefName("refs/tags/\(name)") { names.append(name) }
        default: continue
        }
      }
    }
    return names
  }
}
