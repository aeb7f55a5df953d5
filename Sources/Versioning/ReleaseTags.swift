/// Which tags are releases, the same for every way history is read (the repository through
/// libgit2, and the GitHub API): the name is the prefix followed by a semantic
/// version. A tag without the prefix never counts when one is set; with the empty prefix
/// only bare versions (`1.2.3`) count.
public enum ReleaseTags {
  /// The release tags among `names`, highest version first; equal versions (which differ
  /// only in build metadata) ordered by name, so every reader picks the same one.
  public static func candidates(_ names: some Sequence<String>, prefix: String, includePrereleases: Bool = false) -> [(tag: String, version: SemVer)] {
    names.compactMap { name -> (tag: String, version: SemVer)? in
      guard let version = version(of: name, prefix: prefix), includePrereleases || !version.isPrerelease else { return nil }
      return (name, version)
    }.sorted { a, b in
      if a.version < b.version { return false }
      if b.version < a.version { return true }
      return a.tag < b.tag
    }
  }

  /// The version a release tag names, or nil when `name` is not `prefix` + a version.
  public static func version(of name: String, prefix: String) -> SemVer? {
    guard name.hasPrefix(prefix) else { return nil }
    return SemVer.parse(String(name.dropFirst(prefix.count)))
  }
}
