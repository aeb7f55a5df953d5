import Foundation

/// Reads what the version stage needs straight from a `.git` directory — refs, tags and
/// commits — without the git program: the action image is an empty image with one static
/// binary, and a checkout mounted from the runner belongs to another user, which git itself
/// refuses ("dubious ownership"). Answers as the git commands ``GitRepository`` runs do.
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
      guard let value = try resolveRef(ref) else { throw VersionSourceError("HEAD does not name a commit yet (a repository without commits)") }
      if value.hasPrefix("ref:") {
        ref = value.dropFirst(4).trimmingCharacters(in: .whitespaces)
      } else {
        return try peel(value)
      }
    }
    throw VersionSourceError("HEAD's symbolic refs loop")
  }

  /// Every tag and the object it names (a commit, or a tag object for annotated tags). Read
  /// once: a stage asks several times, and nothing it does changes the local refs.
  func tags() -> [String: String] {
    lock.withLock {
      if cachedTags == nil { cachedTags = readTags() }
      return cachedTags!
    }
  }

  private var cachedTags: [String: String]?

  private func readTags() -> [String: String] {
    var tags: [String: String] = [:]
    for (ref, sha) in packedRefs() where ref.hasPrefix("refs/tags/") { tags[String(ref.dropFirst("refs/tags/".count))] = sha }
    let root = "\(commonDirectory)/refs/tags"
    if let walker = FileManager.default.enumerator(atPath: root) {
      while let name = walker.nextObject() as? String {
        if let sha = try? String(contentsOfFile: "\(root)/\(name)", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), sha.count == 40 {
          tags[name] = sha
        }
      }
    }
    return tags
  }

  /// The commit an object leads to, through annotated tags.
  func peel(_ sha: String) throws -> String {
    var current = sha
    for _ in 0..<10 {
      let (kind, data) = try store.read(current)
      switch kind {
      case .commit: return current
      case .tag:
        let text = String(decoding: data, as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("object ") }) else { throw GitStoreError("tag object \(current) names no object") }
        current = String(line.dropFirst("object ".count))
      default: throw GitStoreError("\(sha) names a \(kind), not a commit")
      }
    }
    throw GitStoreError("tag \(sha) nests too deep")
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

  static func parseCommit(_ bytes: [UInt8]) -> Commit {
    var parents: [String] = []
    var time = 0
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
      }
      i += 1
      lineStart = i
    }
    let message = i < bytes.count ? String(decoding: bytes[(i + 1)...], as: UTF8.self) : ""
    return Commit(parents: parents, time: time, message: message)
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
    while !queue.isEmpty {
      // Few commits are ever queued at once (one per open branch): a linear scan is enough.
      let next = queue.indices.max { a, b in
        queue[a].time != queue[b].time ? queue[a].time < queue[b].time : queue[a].order > queue[b].order
      }!
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

  /// A ref's value: a file under the git directory, else a line of `packed-refs`.
  private func resolveRef(_ ref: String) throws -> String? {
    for dir in [gitDirectory, commonDirectory] {
      if let value = try? String(contentsOfFile: "\(dir)/\(ref)", encoding: .utf8) {
        return value.trimmingCharacters(in: .whitespacesAndNewlines)
      }
    }
    return packedRefs()[ref]
  }

  private func packedRefs() -> [String: String] {
    let text = (try? String(contentsOfFile: "\(commonDirectory)/packed-refs", encoding: .utf8)) ?? ""
    var refs: [String: String] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.hasPrefix("^") {
      let parts = line.split(separator: " ", maxSplits: 1)
      if parts.count == 2 { refs[String(parts[1])] = String(parts[0]) }
    }
    return refs
  }
}
