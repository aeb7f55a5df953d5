import Foundation
import Testing

@testable import Versioning

@Suite struct SubprocessTests {
  /// A program that fills stderr past a pipe's 64 KiB while we would still be reading stdout
  /// (git does, with many warnings) must not block.
  @Test(.timeLimit(.minutes(1))) func bothPipesAreReadAtOnce() throws {
    let r = try Subprocess.run("/bin/sh", ["-c", "head -c 200000 /dev/zero >&2; echo done; exit 3"])
    #expect(r.status == 3)
    #expect(String(decoding: r.stdout, as: UTF8.self) == "done\n")
    #expect(r.stderr.count == 200_000)
  }

  @Test func gitErrorsCarryGitsOwnWords() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gantry-subprocess-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    #expect(throws: VersionSourceError.self) { try GitRepository(path: dir) }
    #expect(try Subprocess.run("/usr/bin/git", ["-C", dir, "init", "-q"]).status == 0)
    let repo = try GitRepository(path: dir)
    // A repository without commits: git explains that HEAD is unknown, and the error says so.
    #expect {
      try repo.head()
    } throws: { error in
      "\(error)".hasPrefix("git rev-parse: ") && "\(error)".contains("HEAD")
    }
  }
}
