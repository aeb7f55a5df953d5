import Foundation

/// The git facts the version stage needs, read with the git CLI from a checkout.
public struct GitRepository: Sendable {
  public let path: String
  public let git: String

  public init(path: String, git: String? = nil) throws {
    self.path = path
    guard let g = git ?? Self.findGit() else { throw VersionSourceError("git is not installed") }
    self.git = g
    guard (try? run(["rev-parse", "--git-dir"])) != nil else { throw VersionSourceError("\(path) is not a git checkout") }
  }

  static func findGit() -> String? {
    ["/usr/bin/git", "/usr/local/bin/git", "/bin/git"].first { FileManager.default.isExecutableFile(atPath: $0) }
  }

  /// A checkout made by actions/checkout with its default fetch-depth 1 has no history.
  public var isShallow: Bool { (try? run(["rev-parse", "--is-shallow-repository"])) == "true" }

  public func head() throws -> String { try run(["rev-parse", "HEAD"]) }

  /// The highest semver tag reachable from HEAD (with `prefix`). Candidates are checked
  /// highest first with `merge-base --is-ancestor`, which is exact; `git tag --merged` walks by
  /// commit date and misses tags when committer clocks were skewed.
  public func latestTag(prefix: String, includePrereleases: Bool = false) throws -> (tag: String, version: SemVer)? {
    let tags = try run(["tag", "--list", "\(prefix)*"]).split(separator: "\n").map(String.init)
    let candidates = tags.compactMap { t -> (String, SemVer)? in
      guard let v = SemVer.parse(t, prefix: prefix), includePrereleases || !v.isPrerelease else { return nil }
      return (t, v)
    }.sorted { $0.1 > $1.1 }
    return candidates.first { isAncestor("refs/tags/\($0.0)", of: "HEAD") }
  }

  /// Whether `ancestor` is reachable from `descendant`.
  public func isAncestor(_ ancestor: String, of descendant: String) -> Bool {
    (try? run(["merge-base", "--is-ancestor", ancestor, descendant])) != nil
  }

  /// Commits after `base` up to HEAD (all when `base` is nil), oldest first.
  public func commits(since base: String?) throws -> [ConventionalCommit] {
    let range = base.map { "\($0)..HEAD" } ?? "HEAD"
    let out = try run(["log", "--reverse", "--format=%H%x1f%B%x1e", range], trim: false)
    return out.split(separator: "\u{1e}").compactMap { entry in
      let parts = entry.drop { $0 == "\n" }.split(separator: "\u{1f}", maxSplits: 1, omittingEmptySubsequences: false)
      guard parts.count == 2 else { return nil }
      return ConventionalCommit(sha: String(parts[0]), message: String(parts[1]).trimmingCharacters(in: .whitespacesAndNewlines))
    }
  }

  /// Whether `tag` exists and at which commit.
  public func commit(ofTag tag: String) -> String? { try? run(["rev-list", "-n", "1", "refs/tags/\(tag)"]) }

  @discardableResult
  public func run(_ args: [String], trim: Bool = true) throws -> String {
    let r = try Subprocess.run(git, ["-C", path] + args)
    guard r.status == 0 else {
      throw VersionSourceError("git \(args.first ?? ""): \(String(decoding: r.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))")
    }
    let s = String(decoding: r.stdout, as: UTF8.self)
    return trim ? s.trimmingCharacters(in: .whitespacesAndNewlines) : s
  }
}
