import Foundation
import Synchronization
import TestSupport
import Testing

@Suite struct SubprocessTests {
  /// A program that fills stderr past a pipe's 64 KiB while we would still be reading stdout
  /// (git does, with many warnings) must not block.
  @Test(.timeLimit(.minutes(1))) func bothPipesAreReadAtOnce() throws {
    let r = try Subprocess.run("/bin/sh", ["-c", "head -c 200000 /dev/zero >&2; echo done; exit 3"])
    #expect(r.status == 3)
    #expect(String(decoding: r.stdout, as: UTF8.self) == "done\n")
    #expect(r.stderr.count == 200_000)
  }

  /// posix_spawn, not Foundation's Process (which crashes intermittently on Linux): the
  /// directory, the environment, stdin from /dev/null, a signal's status, a missing program.
  @Test func directoryEnvironmentAndStatus() throws {
    let r = try Subprocess.run("/bin/sh", ["-c", "pwd; echo \"$GANTRY_X\"; cat"], environment: ["GANTRY_X": "a b"], directory: "/tmp")
    #expect(String(decoding: r.stdout, as: UTF8.self) == "/tmp\na b\n")
    #expect(try Subprocess.run("/bin/sh", ["-c", "kill -9 $$"]).status == 137)
    #expect(throws: Subprocess.SpawnError.self) { try Subprocess.run("/nonexistent/program", []) }
    // Several at once from threads of their own: none crashes, each gets its own output.
    let results = Mutex<[String]>([])
    let finished = DispatchSemaphore(value: 0)
    for i in 0..<16 {
      Thread {
        let out = (try? Subprocess.run("/bin/echo", ["\(i)"]).stdout).map { String(decoding: $0, as: UTF8.self) } ?? ""
        results.withLock { $0.append(out) }
        finished.signal()
      }.start()
    }
    for _ in 0..<16 { finished.wait() }
    #expect(Set(results.withLock { $0 }) == Set((0..<16).map { "\($0)\n" }))
  }
}
