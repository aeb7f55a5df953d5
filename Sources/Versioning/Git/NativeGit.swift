import Foundation  // Until the libgit2 reader replaces this file (issue 14): it links ICU.

/// Reads what the version stage needs straight from a `.git` directory — refs, tags and
/// commits — without the git program: the action image is an empty image with one static
/// binary, and a checkout mounted from the runner belongs to another user, which git itself
/// refuses ("dubious ownership"). Answers as the git commands ``GitRepository`` runs do.
///
/// Refs are untrusted text: a ref name is checked as `git check-ref-format` would before it
/// becomes a path, ref files are read only inside the repository, and a ref file's content
/// never reaches an error message (a HEAD of `ref: ../../../etc/passwd` must not print it).
final class NativeGit: @unchecked Sendable {
  let gitDirectory: String
  private let store: ObjectStore
  private var commits: [String: Commit] = [:]
  private let lock = NSLock()

  struct Commit {
    var parents: [String]
    var time: Int
    var message: String
  }

  /// Finds the repository of the checkout at `path` (`.git` directory, `.git` file of a
  /// worktree or submodule, or a bare repository).
  init(path: String) throws {
    let fm = FileManager.default
    var dir = "\(path)/.git"
    var isDir: ObjCBool = false
    if fm.fileExists(atPath: dir, isDirectory: &isDir), !isDir.boolValue {
      let text = (try? String(contentsOfFile: dir, encoding: .utf8)) ?? ""
      guard let line = text.split(separator: "\n").first, line.hasPrefix("gitdir:") else { throw VersionSourceError("\(dir) is not a gitdir file") }
      let target = line.dropFirst("gitdir:".count).trimmingCharacters(in: .whitespaces)
      dir = target.hasPrefix("/") ? target : "\(path)/\(target)"
    } else if !fm.fileExists(atPath: dir) {
      dir = path  // bare
    }
    guard fm.fileExists(atPath: "\(dir)/HEAD") else { throw VersionSourceError("\(path) is not a git checkout") }
    // A worktree keeps its objects and refs in the main repository (`commondir`).
    if let common = try? String(contentsOfFile: "\(dir)/commondir", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !common.isEmpty {
      commonDirectory = common.hasPrefix("/") ? common : "\(dir)/\(common)"
    } else {
      commonDirectory = dir
    }
    let config = (try? String(contentsOfFile: "\(commonDirectory)/config", encoding: .utf8)) ?? ""
    if config.range(of: #"objectformat\s*=\s*sha256"#, options: [.regularExpression, .caseInsensitive]) != nil {
      throw VersionSourceError("\(path) is a SHA-256 repository, which Gantry cannot read without git; install git in the job")
    }
    gitDirectory = dir
    store = ObjectStore(objectsDirectory: "\(commonDirectory)/objects")
    let shallow = (try? String(contentsOfFile: "\(commonDirectory)/shallow", encoding: .utf8)) ?? ""
    shallowCommits = Set(shallow.split(separator: "\n").map(String.init))
  }

  /// Where objects and refs live (the main repository of a worktree).
  private let commonDirectory: String
  /// The boundary commits of a shallow clone (`shallow` file).
  private let shallowCommits: Set<String>

  /// `git rev-parse --is-shallow-repository`.
  var isShallow: Bool { !shallowCommits.isEmpty }

  /// The commit HEAD names (following `ref:` links).
  func head() throws -> String {
    var ref = "HEAD"
    for _ in 0..<10 {
      switch try resolveRef(ref) {
      case nil: throw VersionSourceError("HEAD does not name a commit yet (a repository without commits)")
      case .symbolic(let target): ref = target
      case .object(let sha): return try peel(sha)
      }
    }
    throw VersionSourceError("HEAD's symbolic refs loop")
  }

  /// Every readable tag and the object it names (a commit, or a tag object for annotated
  /// tags), and a warning for each tag ref that could not be read. Read once: a stage asks
  /// several times, and nothing it does changes the local refs.
  func tags() -> (tags: [String: String], warnings: [String]) {
    if let hit = lock.withLock({ cachedTags }) { return hit }
    let read = readTags()
    lock.withLock { cachedTags = read }
    return read
  }

  private var cachedTags: (tags: [String: String], warnings: [String])?

  private func readTags() -> (tags: [String: String], warnings: [String]) {
    var tags: [String: String] = [:]
    var warnings: [String] = []
    for (ref, sha) in packedRefs() where ref.hasPrefix("refs/tags/") { tags[String(ref.dropFirst("refs/tags/".count))] = sha }
    let root = "\(commonDirectory)/refs/tags"
    if let walker = FileManager.default.enumerator(atPath: root) {
      while let name = walker.nextObject() as? String {
        guard walker.fileAttributes?[.type] as? FileAttributeType != .typeDirectory else { continue }
        switch try? resolveRef("refs/tags/\(name)") {
        case .object(let sha): tags[name] = sha
        default:
          tags[name] = nil
          warnings.append("tag \(Self.printable(name)) skipped: its ref is not readable as an object name")
        }
      }
    }
    return (tags, warnings)
  }

  /// The commit an object leads to, through annotated tags. Remembered: many tags often name
  /// one commit.
  func peel(_ sha: String) throws -> String {
    if let hit = lock.withLock({ peeled[sha] }) { return hit }
    let commit = try peelUncached(sha)
    lock.withLock { peeled[sha] = commit }
    return commit
  }

  private var peeled: [String: String] = [:]

  private func peelUncached(_ sha: String) throws -> String {
    var current = sha
    for _ in 0..<GitLimits.maxTagNesting {
      let (kind, data) = try store.read(current)
      switch kind {
      case .commit: return current
      case .tag:
        // "object <sha>" is the tag object's first line.
        guard let line = data.split(separator: UInt8(ascii: "\n"), maxSplits: 1).first, line.starts(with: Array("object ".utf8)) else {
          throw GitStoreError("tag object \(current) names no object")
        }
        let target = String(decoding: line.dropFirst("object ".count), as: UTF8.self)
        guard ObjectName.isValid(target) else { throw GitStoreError("tag object \(current) names no object") }
        current = target
      default: throw GitStoreError("\(sha) names a \(kind), not a commit")
      }
    }
    throw GitStoreError("tag \(sha) nests more than \(GitLimits.maxTagNesting) annotated tags")
  }

  func commit(_ sha: String) throws -> Commit {
    if let hit = lock.withLock({ commits[sha] }) { return hit }
    let (kind, data) = try store.read(sha)
    guard kind == .commit else { throw GitStoreError("\(sha) is a \(kind), not a commit") }
    let commit = Self.parseCommit([UInt8](data))
    lock.withLock { commits[sha] = commit }
    return commit
  }

  /// The parents, committer time and message of a commit object's bytes. Read as bytes:
  /// thousands of commits go through here, and String searching was most of the time.
  private static let parentField = Array("parent ".utf8)
  private static let committerField = Array("committer ".utf8)
  private static let encodingField = Array("encoding ".utf8)

  static func parseCommit(_ bytes: [UInt8]) -> Commit {
    var parents: [String] = []
    var time = 0
    var encoding: String?
    var lineStart = 0
    var i = 0
    let newline = UInt8(ascii: "\n")
    while i < bytes.count {
      guard bytes[i] == newline else {
        i += 1
        continue
      }
      if i == lineStart { break }  // the blank line before the message
      let line = bytes[lineStart..<i]
      if line.starts(with: Self.parentField) {
        parents.append(String(decoding: line.dropFirst(Self.parentField.count), as: UTF8.self))
      } else if line.starts(with: Self.committerField) {
        // "committer Name <mail> 1700000000 +0100": the next-to-last field.
        let fields = line.split(separator: UInt8(ascii: " "))
        if fields.count >= 2, let t = Int(String(decoding: fields[fields.count - 2], as: UTF8.self)) { time = t }
      } else if line.starts(with: Self.encodingField) {
        encoding = String(decoding: line.dropFirst(Self.encodingField.count), as: UTF8.self)
      }
      i += 1
      lineStart = i
    }
    let body = i < bytes.count ? Array(bytes[(i + 1)...]) : []
    return Commit(parents: parents, time: time, message: decodeMessage(body, encoding: encoding))
  }

  /// A message as `git log` prints it: re-encoded to UTF-8 from the commit's `encoding`
  /// header (as git's i18n.logOutputEncoding default does); bytes that are not valid become
  /// U+FFFD either way.
  static func decodeMessage(_ bytes: [UInt8], encoding: String?) -> String {
    switch encoding?.lowercased() {
    case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "iso_8859-1":
      return String(data: Data(bytes), encoding: .isoLatin1) ?? String(decoding: bytes, as: UTF8.self)
    case "windows-1252", "cp1252":
      return String(data: Data(bytes), encoding: .windowsCP1252) ?? String(decoding: bytes, as: UTF8.self)
    default:
      return String(decoding: bytes, as: UTF8.self)
    }
  }

  /// Every commit reachable from `tip`.
  func ancestors(of tip: String) throws -> Set<String> {
    var seen: Set<String> = [tip]
    var stack = [tip]
    while let sha = stack.popLast() {
      for p in try parentsIfPresent(sha) where seen.insert(p).inserted { stack.append(p) }
    }
    return seen
  }

  /// `git log --reverse tip ^exclude…`: commits reachable from `tip` and not from `excluded`,
  /// oldest first. Walked as git's default order does — newest committer date first among the
  /// commits whose children were shown, ties in the order they were found — then reversed.
  func log(from tip: String, excluding excluded: Set<String>) throws -> [(sha: String, commit: Commit)] {
    var queue: [(time: Int, order: Int, sha: String)] = []
    var order = 0
    var seen: Set<String> = [tip]
    var out: [(String, Commit)] = []
    if !excluded.contains(tip) { queue.append((try commit(tip).time, 0, tip)) }
    // Few commits are ever queued at once (one per open branch): a linear scan is enough.
    while let next = queue.indices.max(by: { a, b in
      queue[a].time != queue[b].time ? queue[a].time < queue[b].time : queue[a].order > queue[b].order
    }) {
      let sha = queue.remove(at: next).sha
      let c = try commit(sha)
      out.append((sha, c))
      for p in try parentsIfPresent(sha) where !excluded.contains(p) && seen.insert(p).inserted {
        order += 1
        queue.append((try commit(p).time, order, p))
      }
    }
    return out.reversed()
  }

  /// A commit's parents; none for a shallow checkout's boundary commits (their parents were
  /// not fetched), as git treats them.
  private func parentsIfPresent(_ sha: String) throws -> [String] {
    shallowCommits.contains(sha) ? [] : try commit(sha).parents
  }

  /// What a ref holds.
  enum RefValue: Equatable {
    case object(String)
    case symbolic(String)
  }

  /// A ref's value: a file under the git directory, else a line of `packed-refs`; nil when
  /// the ref does not exist.
  func resolveRef(_ ref: String) throws -> RefValue? {
    guard Self.isSafeRefName(ref) else { throw VersionSourceError("'\(Self.printable(ref))' is not a valid ref name (refs must stay inside .git)") }
    for dir in [gitDirectory, commonDirectory] {
      if let bytes = try Self.readConfined("\(dir)/\(ref)", inside: dir) {
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.hasPrefix("ref:") {
          let target = text.dropFirst(4).trimmingCharacters(in: .whitespaces)
          guard Self.isSafeRefName(target), target.hasPrefix("refs/") else {
            throw VersionSourceError("\(ref) points at '\(Self.printable(target))', which is not a ref under refs/")
          }
          return .symbolic(target)
        }
        guard ObjectName.isValid(text) else { throw VersionSourceError("\(ref) holds neither an object name nor a symbolic ref") }
        return .object(text.lowercased())
      }
    }
    return packedRefs()[ref].map(RefValue.object)
  }

  /// The bytes of a regular file that is inside `directory` once symbolic links are
  /// resolved; nil when there is no such file.
  private static func readConfined(_ path: String, inside directory: String) throws -> [UInt8]? {
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    let root = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path
    guard real.hasPrefix(root + "/") else { throw VersionSourceError("a ref file links outside the repository") }
    guard (try? FileManager.default.attributesOfItem(atPath: real)[.type] as? FileAttributeType) == .typeRegular else {
      throw VersionSourceError("a ref is not a regular file")
    }
    guard let handle = FileHandle(forReadingAtPath: real) else { return nil }
    defer { try? handle.close() }
    // A ref is one line; more than this is not a ref.
    return [UInt8](try handle.read(upToCount: 4096) ?? Data())
  }

  /// `git check-ref-format`'s rules, for names read from the repository before they become
  /// paths: no `..`, no component starting with `.`, no control characters or `~^:?*[\`.
  static func isSafeRefName(_ ref: String) -> Bool {
    guard ref == "HEAD" || ref.hasPrefix("refs/"), ref.utf8.count <= 1024, !ref.contains(".."), !ref.contains("@{") else { return false }
    for component in ref.split(separator: "/", omittingEmptySubsequences: false) {
      if component.isEmpty || component.hasPrefix(".") || component.hasSuffix(".lock") { return false }
    }
    let forbidden = Set(" ~^:?*[\\".utf8)
    return !ref.utf8.contains { $0 < 0x20 || $0 == 0x7f || forbidden.contains($0) }
  }

  /// Untrusted names shortened and stripped of control characters, for messages.
  static func printable(_ text: some StringProtocol) -> String {
    String(String(text).unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : Character($0) }.prefix(120))
  }

  /// `packed-refs`, read once (a repository can hold tens of thousands of tags there).
  private func packedRefs() -> [String: String] {
    if let hit = lock.withLock({ cachedPackedRefs }) { return hit }
    let refs = readPackedRefs()
    lock.withLock { cachedPackedRefs = refs }
    return refs
  }

  private var cachedPackedRefs: [String: String]?

  private func readPackedRefs() -> [String: String] {
    let text = (try? String(contentsOfFile: "\(commonDirectory)/packed-refs", encoding: .utf8)) ?? ""
    var refs: [String: String] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.hasPrefix("^") {
      let parts = line.split(separator: " ", maxSplits: 1)
      if parts.count == 2, ObjectName.isValid(parts[0]), Self.isSafeRefName(String(parts[1])) { refs[String(parts[1])] = parts[0].lowercased() }
    }
    return refs
  }
}
