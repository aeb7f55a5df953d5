/// A commit message read as a [Conventional Commit](https://www.conventionalcommits.org/en/v1.0.0/):
/// `type(scope)!: description`, with `BREAKING CHANGE:` / `BREAKING-CHANGE:` footers.
public struct ConventionalCommit: Sendable, Equatable {
  public var sha: String
  public var type: String?
  public var scope: String?
  public var breaking: Bool
  public var description: String
  /// The subject as written, for commits that do not follow the convention.
  public var subject: String

  public init(sha: String, message: String) {
    self.sha = sha
    let lines = message.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    subject = lines.first?.trimmingSpacesOnly() ?? ""
    let footerBreaking = lines.dropFirst().contains { $0.hasPrefix("BREAKING CHANGE:") || $0.hasPrefix("BREAKING-CHANGE:") }
    // type(scope)!: description
    var type: String?
    var scope: String?
    var bang = false
    var description = subject
    if let colon = subject.firstIndex(of: ":") {
      var head = Substring(subject[..<colon])
      if head.hasSuffix("!") {
        bang = true
        head = head.dropLast()
      }
      if let open = head.firstIndex(of: "("), head.hasSuffix(")") {
        scope = String(head[head.index(after: open)..<head.index(before: head.endIndex)])
        head = head[..<open]
      }
      if !head.isEmpty, head.allSatisfy({ $0.isLetter || $0 == "-" }), !head.contains(" ") {
        type = head.lowercased()
        description = String(subject[subject.index(after: colon)...]).trimmingSpacesOnly()
      } else {
        scope = nil
        bang = false
      }
    }
    self.type = type
    self.scope = type == nil ? nil : scope
    self.breaking = (type != nil && bang) || footerBreaking
    self.description = description
  }

  /// The bump this commit asks for: fix/perf → patch, feat → minor, breaking → major.
  public var bump: Bump {
    if breaking { return .major }
    switch type {
    case "feat": return .minor
    case "fix", "perf": return .patch
    default: return .none
    }
  }
}

/// A version bump, ordered by size.
public enum Bump: String, Sendable, Comparable, CaseIterable {
  case none, patch, minor, major

  public static func < (a: Bump, b: Bump) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }

  /// Applies the bump. With `zeroMajorBreaking` false (semantic-release's default for 0.x is
  /// not to leave 0 on a breaking change; many teams prefer to stay), a breaking change on
  /// 0.y.z bumps the minor instead.
  public func apply(to v: SemVer, majorOnZero: Bool = false) -> SemVer {
    switch self {
    case .none: return v
    case .patch: return SemVer(v.major, v.minor, v.patch + 1)
    case .minor: return SemVer(v.major, v.minor + 1, 0)
    case .major: return v.major == 0 && !majorOnZero ? SemVer(0, v.minor + 1, 0) : SemVer(v.major + 1, 0, 0)
    }
  }
}

/// Release notes from commits: breaking changes, features, fixes, others.
public enum Changelog {
  public static func markdown(_ commits: [ConventionalCommit], escape: (String) -> String) -> String {
    func line(_ c: ConventionalCommit) -> String {
      let scope = c.scope.map { "**\(escape($0)):** " } ?? ""
      return "- \(scope)\(escape(c.type == nil ? c.subject : c.description)) (\(c.sha.prefix(7)))"
    }
    var sections: [(String, [ConventionalCommit])] = [
      ("Breaking changes", commits.filter(\.breaking)),
      ("Features", commits.filter { !$0.breaking && $0.type == "feat" }),
      ("Fixes", commits.filter { !$0.breaking && ($0.type == "fix" || $0.type == "perf") }),
    ]
    sections.append(("Other changes", commits.filter { c in !c.breaking && !["feat", "fix", "perf"].contains(c.type ?? "") }))
    return sections.filter { !$0.1.isEmpty }.map { "### \($0.0)\n\n" + $0.1.map(line).joined(separator: "\n") }.joined(separator: "\n\n")
  }
}

extension String {
  func trimmingSpacesOnly() -> String {
    var s = Substring(self)
    while let f = s.first, f == " " || f == "\t" || f == "\r" { s.removeFirst() }
    while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
    return String(s)
  }
}
