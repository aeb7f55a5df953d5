import Basics
import FoundationEssentials

/// The git facts the version stage needs, read from a checkout: with the git program when it
/// is installed and accepts the checkout, else straight from `.git` (``NativeGit``) — the
/// action image has no git, and git refuses a checkout owned by another user. Both readers
/// answer every question the same way (NativeGitTests and RepositoryReaderTests ask both).
public struct GitRepository: Sendable {
  public let path: String

  /// How the repository is read.
  public enum Reader: Sendable {
    /// The git program at this path.
    case program(String)
    /// Gantry's own reader of `.git`.
    case native
  }
  public let reader: Reader
  private let native: NativeGit?

  /// Opens the checkout at `path`; `reader` nil picks git when it works here, else the
  /// native reader.
  public init(path: String, reader: Reader? = nil) throws {
    switch reader {
    case .program(let git):
      self.path = path
      self.reader = .program(git)
      native = nil
      guard (try? run(["rev-parse", "--git-dir"])) != nil else { throw VersionSourceError("\(path) is not a git checkout") }
    case .native:
      self.path = path
      self.reader = .native
      native = try NativeGit(path: path)
    case nil:
      if let git = Self.findGit(), let repo = try? GitRepository(path: path, reader: .program(git)) {
        self = repo
      } else {
        self = try GitRepository(path: path, reader: .native)
      }
    }
  }

  static func findGit() -> String? {
    ["/usr/bin/git", "/usr/local/bin/git", "/bin/git"].first { FileManager.default.isExecutableFile(atPath: $0) }
  }

  /// A checkout made by actions/checkout with its default fetch-depth 1 has no history.
  public var isShallow: Bool {
    if let native { return native.isShallow }
    return (try? run(["rev-parse", "--is-shallow-repository"])) == "true"
  }

  public func head() throws -> String {
    if let native { return try native.head() }
    return try run(["rev-parse", "HEAD"])
  }

  /// The full name of the commit `sha` (7 to 40 hex digits) names in this checkout.
  /// Without git an abbreviation can only name HEAD.
  /// - Throws: ``VersionSourceError`` when the checkout has no such commit.
  public func resolveCommit(_ sha: String) throws -> String {
    let sha = sha.lowercased()
    guard sha.count >= 7, sha.count <= 40, sha.allSatisfy(\.isHexDigit) else { throw VersionSourceError("'\(sha.prefix(80))' is not a commit SHA of 7 to 40 hex digits") }
    if let native {
      if sha.count == 40 {
        guard (try? native.commit(sha)) != nil else { throw VersionSourceError("commit \(sha) is not in the checkout") }
        return sha
      }
      let head = try native.head()
      guard head.hasPrefix(sha) else { throw VersionSourceError("commit \(sha) is not HEAD; without git only HEAD may be abbreviated: give all 40 hex digits") }
      return head
    }
    guard let full = try? run(["rev-parse", "--verify", "--quiet", "\(sha)^{commit}"]), ObjectName.isValid(full) else {
      throw VersionSourceError("commit \(sha) is not in the checkout")
    }
    return full
  }

  /// The highest release tag (``ReleaseTags``) whose commit is reachable from `tip` (default
  /// HEAD), found in one pass: every commit reachable from the tip is listed once, then the
  /// candidates are checked highest first by lookup — not one `merge-base` per candidate,
  /// which cost seconds with thousands of unreachable higher tags. Exact where
  /// `git tag --merged` walks by commit date and misses tags when committer clocks were
  /// skewed. Tags that cannot be read (pointing at a blob or tree, a broken ref, nested too
  /// deep) are passed over, each reported through `warn`.
  public func latestTag(
    prefix: String, includePrereleases: Bool = false, from tip: String? = nil, warn: (String) -> Void = { _ in }
  ) throws -> (tag: String, version: SemVer, commit: String)? {
    let tip = try tip ?? head()
    if let native {
      let (tags, warnings) = native.tags()
      warnings.forEach(warn)
      let candidates = ReleaseTags.candidates(tags.keys, prefix: prefix, includePrereleases: includePrereleases)
      guard !candidates.isEmpty else { return nil }
      let reachable = try native.ancestors(of: tip)
      for c in candidates {
        guard let object = tags[c.tag] else { continue }
        // A lightweight tag of a reachable commit needs no object read.
        if reachable.contains(object) { return (c.tag, c.version, object) }
        let commit: String
        do { commit = try native.peel(object) } catch {
          warn("tag \(NativeGit.printable(c.tag)) skipped: \(error)")
          continue
        }
        if reachable.contains(commit) { return (c.tag, c.version, commit) }
      }
      return nil
    }
    // Each tag with its object and, for annotated tags, the object it names (one level:
    // tags of tags are peeled below). for-each-ref passes over broken refs with a warning
    // on stderr, as the native reader does.
    let listed = try run(["for-each-ref", "--format=%(objectname) %(*objectname) %(*objecttype) %(refname)", "refs/tags/"])
    var objects: [String: String] = [:]
    var nested: [String] = []
    for line in listed.split(separator: "\n") {
      let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
      guard parts.count == 4, ObjectName.isValid(parts[0]), parts[3].hasPrefix("refs/tags/") else { continue }
      let name = String(parts[3].dropFirst("refs/tags/".count))
      objects[name] = String(ObjectName.isValid(parts[1]) ? parts[1] : parts[0])
      if parts[2] == "tag" { nested.append(name) }
    }
    // Tags of tags (rare): peeled fully by rev-parse, in batches; unreadable ones stay unpeeled.
    for batch in stride(from: 0, to: nested.count, by: 200).map({ Array(nested[$0..<min($0 + 200, nested.count)]) }) {
      guard let peeled = try? run(["rev-parse"] + batch.map { "refs/tags/\($0)^{}" }).split(separator: "\n"), peeled.count == batch.count else { continue }
      for (name, sha) in zip(batch, peeled) where ObjectName.isValid(sha) { objects[name] = String(sha) }
    }
    let candidates = ReleaseTags.candidates(objects.keys, prefix: prefix, includePrereleases: includePrereleases)
    guard !candidates.isEmpty else { return nil }
    let reachable = Set(try run(["rev-list", tip]).split(separator: "\n").map(String.init))
    for c in candidates {
      if let commit = objects[c.tag], reachable.contains(commit) { return (c.tag, c.version, commit) }
    }
    return nil
  }

  /// Commits after `base` (a tag name or a commit; all when nil) up to `tip` (default HEAD),
  /// oldest first.
  public func commits(since base: String?, to tip: String? = nil) throws -> [ConventionalCommit] {
    let tip = try tip ?? head()
    let baseCommit = try base.map { b -> String in
      if ObjectName.isValid(b) { return b.lowercased() }
      guard let c = commit(ofTag: b) else { throw VersionSourceError("no tag \(NativeGit.printable(b))") }
      return c
    }
    if let native {
      let excluded = try baseCommit.map { try native.ancestors(of: $0) } ?? []
      return try native.log(from: tip, excluding: excluded).map {
        ConventionalCommit(sha: $0.sha, message: $0.commit.message.trimmingCharacters(in: .whitespacesAndNewlines))
      }
    }
    // NUL-separated: a commit message cannot hold NUL, so no message can forge an entry
    // (0x1E/0x1F separators could be written into a message). `--format` ends every entry
    // with the separator: "sha\0message\0" per commit.
    let out = try run(["log", "--reverse", "-z", "--format=%H%x00%B", tip] + (baseCommit.map { ["^\($0)"] } ?? []), trim: false)
    var fields = out.split(separator: "\0", omittingEmptySubsequences: false)
    if fields.last == "" { fields.removeLast() }
    guard fields.count % 2 == 0 else { throw VersionSourceError("git log printed a malformed history") }
    return try stride(from: 0, to: fields.count, by: 2).map { i in
      guard ObjectName.isValid(fields[i]) else { throw VersionSourceError("git log printed a malformed history") }
      return ConventionalCommit(sha: String(fields[i]), message: String(fields[i + 1]).trimmingCharacters(in: .whitespacesAndNewlines))
    }
  }

  /// Whether `tag` exists and at which commit.
  public func commit(ofTag tag: String) -> String? {
    if let native { return native.tags().tags[tag].flatMap { try? native.peel($0) } }
    guard NativeGit.isSafeRefName("refs/tags/\(tag)") else { return nil }
    return try? run(["rev-list", "-n", "1", "refs/tags/\(tag)"])
  }

  /// Runs the git program in the checkout (with the native reader: an error).
  /// `allowEmptyFailure`: status 1 with no output is an empty answer (`show-ref` without tags).
  @discardableResult
  func run(_ args: [String], trim: Bool = true, allowEmptyFailure: Bool = false) throws -> String {
    guard case .program(let git) = reader else { throw VersionSourceError("git \(args.first ?? ""): git is not installed") }
    let r = try Subprocess.run(git, ["-C", path] + args)
    if allowEmptyFailure, r.status == 1, r.stdout.isEmpty { return "" }
    guard r.status == 0 else {
      throw VersionSourceError("git \(args.first ?? ""): \(String(decoding: r.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))")
    }
    let s = String(decoding: r.stdout, as: UTF8.self)
    return trim ? s.trimmingCharacters(in: .whitespacesAndNewlines) : s
  }
}
