import Foundation

/// A real git repository in a temp dir, for version tests.
public final class TempGitRepo: @unchecked Sendable {
  public let directory: TempDirectory
  public var path: String { directory.path }
  private let env = ["PATH": "/usr/bin:/bin", "HOME": "/tmp", "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.com"]

  public init() throws {
    directory = try TempDirectory(prefix: "gantry-git")
    try git("init", "-q", "-b", "main")
  }

  @discardableResult
  public func git(_ args: String...) throws -> String {
    let r = try runCommand("/usr/bin/git", ["-C", path] + args, environment: env)
    guard r.status == 0 else { throw TestSupportError("git \(args.joined(separator: " ")): \(r.stderr)") }
    return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// Commits a change with `message`; returns the new SHA.
  @discardableResult
  public func commit(_ message: String, file: String = "log.txt") throws -> String {
    let p = directory.file(file)
    let old = (try? String(contentsOfFile: p, encoding: .utf8)) ?? ""
    try (old + message + "\n").write(toFile: p, atomically: true, encoding: .utf8)
    try git("add", "-A")
    try git("commit", "-q", "-m", message)
    return try git("rev-parse", "HEAD")
  }

  public func write(_ name: String, _ text: String) throws {
    try text.write(toFile: directory.file(name), atomically: true, encoding: .utf8)
  }

  /// Appends empty commits with these messages to the current branch in one `git fast-import`
  /// (hundreds of commits in milliseconds, for history-length tests).
  /// `startTime` (Unix seconds) sets the first committer date, e.g. in the past for clock-skew tests.
  public func emptyCommits(_ messages: [String], startTime: Int? = nil) throws {
    let branch = try git("symbolic-ref", "HEAD")
    var stream = ""
    // Later than the commits before them: real histories mostly are.
    let start = startTime ?? Int(Date().timeIntervalSince1970) + 1
    for (i, m) in messages.enumerated() {
      let data = Data(m.utf8)
      stream += "commit \(branch)\ncommitter T <t@example.com> \(start + i) +0000\ndata \(data.count)\n\(m)\n"
      if i == 0 { stream += "from \(branch)^0\n" }
      stream += "\n"
    }
    let file = directory.file(".fast-import")
    try stream.write(toFile: file, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: file) }
    let r = try runCommand("/bin/sh", ["-c", "git -C '\(path)' fast-import --quiet < '\(file)'"], environment: env)
    guard r.status == 0 else { throw TestSupportError("git fast-import: \(r.stderr)") }
  }

  /// Appends commits with these exact message bytes and, when given, an `encoding` header, in
  /// one `git fast-import`: what a hostile or unusual client can write (separator bytes,
  /// CRLF, Latin-1).
  public func rawCommits(_ commits: [(message: [UInt8], encoding: String?)]) throws {
    let branch = try git("symbolic-ref", "HEAD")
    var stream: [UInt8] = []
    let start = Int(Date().timeIntervalSince1970) + 1
    for (i, c) in commits.enumerated() {
      stream += Array("commit \(branch)\ncommitter T <t@example.com> \(start + i) +0000\n".utf8)
      if let e = c.encoding { stream += Array("encoding \(e)\n".utf8) }
      stream += Array("data \(c.message.count)\n".utf8) + c.message + Array("\n".utf8)
      if i == 0 { stream += Array("from \(branch)^0\n".utf8) }
      stream += Array("\n".utf8)
    }
    let file = directory.file(".fast-import")
    guard FileManager.default.createFile(atPath: file, contents: Data(stream)) else { throw TestSupportError("cannot write \(file)") }
    defer { try? FileManager.default.removeItem(atPath: file) }
    let r = try runCommand("/bin/sh", ["-c", "git -C '\(path)' fast-import --quiet < '\(file)'"], environment: env)
    guard r.status == 0 else { throw TestSupportError("git fast-import: \(r.stderr)") }
  }
}
