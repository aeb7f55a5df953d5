#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// Runs a program to its end and returns what it printed: how the binary reads a hostile file
/// with a parser that may abort the process it runs in (toml++ asserts on some malformed
/// TOML) — in a child process, whose crash is then an answer, not the end of the stage.
///
/// Spawned with `posix_spawn` (no `fork` of a multithreaded process), stdin and stderr on
/// `/dev/null`, stdout on a pipe read to its end.
public enum IsolatedRun {
  /// How the program ended.
  public enum Ending: Sendable, Equatable {
    case exited(Int32)
    case signaled(Int32)
    /// Still running at the time limit: killed (SIGKILL) and reaped.
    case timedOut
  }

  /// The program could not be started.
  public struct Failure: Error, Sendable, CustomStringConvertible {
    public let description: String
  }

  /// Runs `executable` with `arguments` (and this process's environment) and returns its
  /// ending and at most `limit` bytes of its stdout (the rest is read and dropped, so the
  /// program is never blocked writing). A program still running after `timeLimit` is killed:
  /// a parser a hostile file sends into a loop ends the wait, not the stage.
  public static func run(_ executable: String, _ arguments: [String], limit: Int = 64 << 10, timeLimit: Duration = .seconds(10)) throws(Failure) -> (
    ending: Ending, stdout: [UInt8]
  ) {
    var pipeEnds: [Int32] = [-1, -1]
    guard pipe(&pipeEnds) == 0 else { throw Failure(description: "pipe: \(String(cString: strerror(errno)))") }
    // Close-on-exec: a child another thread spawns meanwhile must not hold our pipe open.
    for fd in pipeEnds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    // Signals as a fresh process has them: a mask or an ignored signal inherited from this
    // process would let the child survive what should end it (an abort, a kill).
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var none = sigset_t()
    sigemptyset(&none)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attributes, &none)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
    close(pipeEnds[1])
    guard spawned == 0 else {
      close(pipeEnds[0])
      throw Failure(description: "cannot run \(executable): \(String(cString: strerror(spawned)))")
    }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16 << 10)
    let deadline = ContinuousClock.now + timeLimit
    var timedOut = false
    while true {
      let left = ContinuousClock.now.duration(to: deadline)
      guard left > .zero else {
        timedOut = true
        kill(pid, SIGKILL)
        break
      }
      var ready = pollfd(fd: pipeEnds[0], events: Int16(POLLIN), revents: 0)
      let polled = poll(&ready, 1, Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1))
      if polled < 0, errno == EINTR { continue }
      if polled == 0 { continue }  // the deadline is checked above
      let n = buffer.withUnsafeMutableBytes { read(pipeEnds[0], $0.baseAddress, $0.count) }
      if n < 0, errno == EINTR { continue }
      guard n > 0 else { break }
      if out.count < limit { out += buffer.prefix(min(n, limit - out.count)) }
    }
    close(pipeEnds[0])
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1, errno == EINTR {}
    let ending: Ending = timedOut ? .timedOut : status & 0x7f == 0 ? .exited((status >> 8) & 0xff) : .signaled(status & 0x7f)
    return (ending, out)
  }
}
