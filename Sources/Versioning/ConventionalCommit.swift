import Basics

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

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
    let message = message.utf8.count > Self.messageLimit ? Self.readPart(of: message) : message
    // CRLF line ends (commits made on Windows, or through some web editors) read as LF.
    let lines = message.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    subject = (lines.first?.trimmingSpacesOnly() ?? "").clipped(to: Self.subjectLimit)
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

extension ConventionalCommit {
  /// The most bytes of a commit message read: 64 KiB. A message is anyone's text whose commit
  /// is merged (or who opens a pull request): one of 20 MB held `version` for a minute and
  /// 600 MB of memory, and went whole into the changelog output, which GitHub refuses past
  /// 1 MiB for a job.
  public static let messageLimit = 64 << 10

  /// The longest subject kept, in Unicode scalars (cut with `…`): the changelog quotes it.
  public static let subjectLimit = 500

  /// What is read of `message` (UTF-8, or any encoding that spells ASCII as ASCII, as git's
  /// `encoding` header allows): its first ``messageLimit`` bytes, cut back to a whole UTF-8
  /// sequence, and a `BREAKING CHANGE:` line when such a footer starts beyond them, so the bump
  /// is what the whole message asks for.
  public static func readPart(of message: UnsafeRawBufferPointer) -> [UInt8] {
    guard message.count > messageLimit else { return Array(message) }
    var end = messageLimit
    var back = 0
    while end > 0, back < 3, message[end] & 0xC0 == 0x80 {
      end -= 1
      back += 1
    }
    var kept = Array(message[..<end])
    // From a footer's length before the cut: one cut in two counts too.
    if hasBreakingFooter(message, from: max(0, end - 17)) { kept += Array("\nBREAKING CHANGE: (in the part of the message not read)".utf8) }
    return kept
  }

  static func readPart(of message: String) -> String {
    let part = message.utf8.withContiguousStorageIfAvailable { readPart(of: UnsafeRawBufferPointer($0)) } ?? Array(message.utf8).withUnsafeBytes { readPart(of: $0) }
    return String(decoding: part, as: UTF8.self)
  }

  /// Whether a line after the first starts with `BREAKING CHANGE:` or `BREAKING-CHANGE:`, as
  /// ``init(sha:message:)`` reads footers, in `bytes` from `start` (a new line at `start` counts).
  private static func hasBreakingFooter(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Bool {
    guard let base = bytes.baseAddress else { return false }
    let tail = Array("CHANGE:".utf8)
    var i = start
    // From one new line to the next with memchr: megabytes a second byte by byte in a debug build.
    while i + 17 <= bytes.count, let found = memchr(base + i, 0x0A, bytes.count - i) {
      i = base.distance(to: UnsafeRawPointer(found))
      if i + 17 <= bytes.count, bytes[i + 9] == 0x20 || bytes[i + 9] == 0x2D, bytes[(i + 1)..<(i + 9)].elementsEqual("BREAKING".utf8),
        bytes[(i + 10)..<(i + 17)].elementsEqual(tail)
      {
        return true
      }
      i += 1
    }
    return false
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
  /// The most bytes of release notes: 256 KiB. A pull request of thousands of commits (a
  /// million empty ones push in minutes) made megabytes of them, and GitHub fails a job whose
  /// outputs pass 1 MiB.
  public static let byteLimit = 256 << 10

  /// The notes, within `limit` bytes: lines past it are left out (the last sections first:
  /// breaking changes and features come before fixes and other changes), and a last line says
  /// how many.
  public static func markdown(_ commits: [ConventionalCommit], limit: Int = byteLimit, escape: (String) -> String) -> String {
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
    // Room for the note, whatever the count it gives.
    let budget = limit - 100
    var out = ""
    var left = 0
    for (title, list) in sections where !list.isEmpty {
      let heading = (out.isEmpty ? "" : "\n\n") + "### \(title)\n"
      var shown = 0
      for c in list {
        let next = "\n" + line(c)
        let cost = (shown == 0 ? heading.utf8.count : 0) + next.utf8.count
        guard left == 0, out.utf8.count + cost <= budget else {
          left += 1
          continue
        }
        if shown == 0 { out += heading }
        out += next
        shown += 1
      }
    }
    if left > 0 { out += "\n\n*… and \(left) more commit\(left == 1 ? "" : "s"): the changelog is cut at \(limit >> 10) KiB.*" }
    return out
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
