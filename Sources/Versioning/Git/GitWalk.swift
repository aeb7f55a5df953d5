import Basics
import CGit2
import FoundationEssentials

#if canImport(Glibc)
  import Glibc
#endif

/// The history walks of the version stage, on libgit2's revision walker.
enum GitWalk {
  /// Every commit reachable from `tip`, in one walk.
  static func ancestors(_ repo: OpaquePointer, of tip: git_oid) throws -> Set<String> {
    try Owned.revwalk(repo) { walk in
      var tip = tip
      try LibGit2.check(git_revwalk_push(walk, &tip), "cannot walk the history from \(LibGit2.hex(tip))")
      var seen: Set<String> = []
      var oid = git_oid()
      while true {
        let code = git_revwalk_next(&oid, walk)
        if code == GIT_ITEROVER.rawValue { return seen }
        try LibGit2.check(code, "cannot walk the history from \(LibGit2.hex(tip))")
        seen.insert(LibGit2.hex(oid))
      }
    }
  }

  /// `git log --reverse tip ^base`: the commits reachable from `tip` and not from `base`,
  /// oldest first, with their messages. libgit2's default order is git's (newest committer
  /// date first among the commits whose children were shown), reversed here.
  static func log(_ repo: OpaquePointer, from tip: git_oid, excluding base: git_oid?) throws -> [ConventionalCommit] {
    try Owned.revwalk(repo) { walk in
      var tip = tip
      try LibGit2.check(git_revwalk_push(walk, &tip), "cannot walk the history from \(LibGit2.hex(tip))")
      if var base { try LibGit2.check(git_revwalk_hide(walk, &base), "cannot walk the history since \(LibGit2.hex(base))") }
      var commits: [ConventionalCommit] = []
      var oid = git_oid()
      while true {
        let code = git_revwalk_next(&oid, walk)
        if code == GIT_ITEROVER.rawValue { break }
        try LibGit2.check(code, "cannot walk the history from \(LibGit2.hex(tip))")
        let message = try Owned.commit(repo, oid) { Self.message(of: $0) }
        commits.append(ConventionalCommit(sha: LibGit2.hex(oid), message: message.trimmingCharacters(in: .whitespacesAndNewlines)))
      }
      return commits.reversed()
    }
  }

  /// A commit's message as `git log` prints it: re-encoded to UTF-8 from the commit's
  /// `encoding` header (git's i18n.logOutputEncoding default); bytes that are not valid in
  /// the encoding become U+FFFD. Only the part Gantry reads is copied out of libgit2's
  /// (`ConventionalCommit.readPart(of:)`): a message may be 256 MiB.
  static func message(of commit: OpaquePointer) -> String {
    guard let raw = git_commit_message_raw(commit) else { return "" }
    let bytes = UnsafeRawBufferPointer(start: raw, count: strlen(raw))
    let encoding = git_commit_message_encoding(commit).map { String(cString: $0) }
    return decode(ConventionalCommit.readPart(of: bytes), encoding: encoding)
  }

  /// Bytes in `encoding` (nil: UTF-8) as a string. Latin-1 maps each byte to the code
  /// point of the same number; Windows-1252 through Foundation; anything else as UTF-8.
  static func decode(_ bytes: [UInt8], encoding: String?) -> String {
    switch encoding?.lowercased() {
    case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1":
      var s = String.UnicodeScalarView()
      s.append(contentsOf: bytes.map { Unicode.Scalar($0) })
      return String(s)
    case "windows-1252", "cp1252":
      return String(data: Data(bytes), encoding: .windowsCP1252) ?? String(decoding: bytes, as: UTF8.self)
    default:
      return String(decoding: bytes, as: UTF8.self)
    }
  }
}
