import Basics
import Dispatch
import FoundationEssentials

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Runs a program to completion: how the tests run git, registries and their other tools.
///
/// Spawned with `posix_spawn`, not Foundation's `Process`: on Linux `Process.run()` crashes
/// intermittently (SIGSEGV in a buffer over-read while it lists `/proc/self/fd`,
/// swiftlang/swift-corelibs-foundation#5472, Swift 6.3.1), and the tests must not.
public enum Subprocess {
  /// What the program did.
  public struct Result: Sendable {
    public var status: Int32
    public var stdout: Data
    public var stderr: Data
  }

  /// A program that could not be started.
  public struct SpawnError: Error, CustomStringConvertible {
    public var description: String
  }

  /// Runs `executable` with stdin from /dev/null and returns its status and output. Both pipes
  /// are read at once: a program that fills one (64 KiB) while we read the other to its end
  /// would block forever. `environment` nil passes this process's environment.
  public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil) throws -> Result {
    var outPipe: [Int32] = [-1, -1]
    var errPipe: [Int32] = [-1, -1]
    guard pipe(&outPipe) == 0 else { throw SpawnError(description: "pipe: \(String(cString: strerror(errno)))") }
    guard pipe(&errPipe) == 0 else {
      close(outPipe[0])
      close(outPipe[1])
      throw SpawnError(description: "pipe: \(String(cString: strerror(errno)))")
    }
    // Close-on-exec: a child started meanwhile by another thread must not keep these ends
    // (it would hold our pipe open); dup2 onto 1 and 2 clears the flag in this child.
    for fd in outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    closeOnExecAll()
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
    posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
    var pid: pid_t = 0
    let spawned = spawn(&pid, executable, arguments, environment: environment, directory: directory, actions: &actions)
    close(outPipe[1])
    close(errPipe[1])
    guard spawned == 0 else {
      close(outPipe[0])
      close(errPipe[0])
      throw SpawnError(description: "cannot run \(executable): \(String(cString: strerror(spawned)))")
    }
    // stderr on a thread of its own, not a dispatch queue: a caller that occupies the global
    // queue's threads (many subprocesses at once) would otherwise starve its own reader.
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var errData = Data()
    let errFD = errPipe[0]
    let started = Threads.detach(name: "gantry-stderr") {
      errData = readAll(errFD)
      done.signal()
    }
    if !started {
      errData = readAll(errFD)
      done.signal()
    }
    let outData = readAll(outPipe[0])
    done.wait()
    close(outPipe[0])
    close(errPipe[0])
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1, errno == EINTR {}
    // Exit code, or 128 + signal as a shell reports it.
    let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return Result(status: code, stdout: outData, stderr: errData)
  }

  /// `posix_spawn` of `executable` with `arguments`, in `directory` when given (posix_spawn has
  /// no portable chdir: a shell changes directory, then becomes the program), with
  /// `environment` (default: this process's). Returns posix_spawn's result; `pid` is set on 0.
  static func spawn(
    _ pid: inout pid_t, _ executable: String, _ arguments: [String], environment: [String: String]?, directory: String?, actions: inout posix_spawn_file_actions_t
  ) -> Int32 {
    let command = directory.map { ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", $0, executable] + arguments } ?? [executable] + arguments
    let argv = command.map { strdup($0) } + [nil]
    let env = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
      argv.forEach { free($0) }
      env.forEach { free($0) }
    }
    return posix_spawn(&pid, command[0], &actions, nil, argv, env)
  }

  /// Marks every open descriptor above 2 close-on-exec, so the child gets only its three
  /// (as Process does by closing them): no socket or pipe of this process is held open by a
  /// git that outlives a request. The flag only matters at exec; this process is unaffected.
  public static func closeOnExecAll() {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
    for name in names {
      guard let fd = Int32(name), fd > 2 else { continue }
      let flags = fcntl(fd, F_GETFD)
      if flags >= 0, flags & FD_CLOEXEC == 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
    }
  }

  private static func readAll(_ fd: Int32) -> Data {
    var data = Data()
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
      let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n > 0 {
        data.append(contentsOf: buffer[0..<n])
      } else if n == 0 || errno != EINTR {
        return data
      }
    }
  }
}
