import Foundation

/// The git facts the version stage needs, read from a checkout: with the git program when it
/// is installed and accepts the checkout, else straight from `.git` (``NativeGit``) — the
/// action image has no git, and git refuses a checkout owned by another user.
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

  /// The highest semver tag reachable from HEAD (with `prefix`). Candidates are checked
  /// highest first with `merge-base --is-ancestor`, which is exact; `git tag --merged` walks by
  /// commit date and misses tags when committer clocks were skewed.
  public func latestTag(prefix: String, includePrereleases: Bool = false) throws -> (tag: String, version: SemVer)? {
    let tagObjects = native?.tags() ?? [:]
    let tags = native != nil ? Array(tagObjects.keys) : try run(["tag", "--list", "\(prefix)*"]).split(separator: "\n").map(String.init)
    let candidates = tags.compactMap { t -> (String, SemVer)? in
      guard let v = SemVer.parse(t, prefix: prefix), includePrereleases || !v.isPrerelease else { return nil }
      return (t, v)
    }.sorted { $0.1 > $1.1 }
    if let native {
      // Every commit reachable from HEAD, once; then each candidate is a lookup.
      let reachable = try native.ancestors(of: try native.head())
      return try candidates.first { reachable.contains(try native.peel(tagObjects[$0.0]!)) }
    }
    return candidates.first { isAncestor("refs/tags/\($0.0)", of: "HEAD") }
  }

  /// Whether `ancestor` is reachable from `descendant` (git program only: refs as git names them).
  private func isAncestor(_ ancestor: String, of descendant: String) -> Bool {
    (try? run(["merge-base", "--is-ancestor", ancestor, descendant])) != nil
  }

  /// Commits after `base` up to HEAD (all when `base` is nil), oldest first.
  public func commits(since base: String?) throws -> [ConventionalCommit] {
    if let native {
      let excluded =
        try base.map { tag -> Set<String> in
          guard let object = native.tags()[tag] else { throw VersionSourceError("no tag \(tag)") }
          return try native.ancestors(of: try native.peel(object))
        } ?? []
      return try native.log(from: try native.head(), excluding: excluded).map {
        ConventionalCommit(sha: $0.sha, message: $0.commit.message.trimmingCharacters(in: .whitespacesAndNewlines))
      }
    }
    let range = base.map { "\($0)..HEAD" } ?? "HEAD"
    let out = try run(["log", "--reverse", "--format=%H%x1f%B%x1e", range], trim: false)
    return out.split(separator: "\u{1e}").compactMap { entry in
      let parts = entry.drop { $0 == "\n" }.split(separator: "\u{1f}", maxSplits: 1, omittingEmptySubsequences: false)
      guard parts.count == 2 else { return nil }
      return ConventionalCommit(sha: String(parts[0]), message: String(parts[1]).trimmingCharacters(in: .whitespacesAndNewlines))
    }
  }

  /// Whether `tag` exists and at which commit.
  public func commit(ofTag tag: String) -> String? {
    if let native { return native.tags()[tag].flatMap { try? native.peel($0) } }
    return try? run(["rev-list", "-n", "1", "refs/tags/\(tag)"])
  }

  /// Runs the git program in the checkout (with the native reader: an error).
  @discardableResult
  func run(_ args: [String], trim: Bool = true) throws -> String {
    guard case .program(let git) = reader else { throw VersionSourceError("git \(args.first ?? ""): git is not installed") }
    let r = try Subprocess.run(git, ["-C", path] + args)
    guard r.status == 0 else {
      throw VersionSourceError("git \(args.first ?? ""): \(String(decoding: r.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))")
    }
    let s = String(decoding: r.stdout, as: UTF8.self)
    return trim ? s.trimmingCharacters(in: .whitespacesAndNewlines) : s
  }
}
