import Basics

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
    // CRLF line ends (commits made on Windows, or through some web editors) read as LF.
    let lines = message.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
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

  private var rank: Int {
    switch self {
    case .none: 0
    case .patch: 1
    case .minor: 2
    case .major: 3
    }
  }

  public static func < (a: Bump, b: Bump) -> Bool { a.rank < b.rank }

  /// Applies the bump. With `majorOnZero` false (semantic-release's default for 0.x is
  /// not to leave 0 on a breaking change; many teams prefer to stay), a breaking change on
  /// 0.y.z bumps the minor instead.
  /// - Throws: ``SemVerError`` when the number to raise is already Int.max (a tag such as
  ///   `v1.0.9223372036854775807` can be pushed by anyone who can push tags).
  public func apply(to v: SemVer, majorOnZero: Bool = false) throws -> SemVer {
    func raise(_ n: Int, _ part: String) throws -> Int {
      let (r, overflow) = n.addingReportingOverflow(1)
      guard !overflow else { throw SemVerError(text: v.description, reason: "its \(part) number cannot be raised (\(n) is the largest Gantry handles)") }
      return r
    }
    switch self {
    case .none: return v
    case .patch: return SemVer(v.major, v.minor, try raise(v.patch, "patch"))
    case .minor: return SemVer(v.major, try raise(v.minor, "minor"), 0)
    case .major: return v.major == 0 && !majorOnZero ? SemVer(0, try raise(v.minor, "minor"), 0) : SemVer(try raise(v.major, "major"), 0, 0)
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
