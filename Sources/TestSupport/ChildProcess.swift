import Basics
import Foundation
import HTTP
import Versioning

/// A helper process (server) owned by a test: started with a pipe on stdin so it exits when
/// we do, and stopped by pid — never by name.
///
/// Spawned with `posix_spawn` and reaped by a thread of its own, not Foundation's `Process`:
/// Foundation learns that a child exited when a socket the child inherited closes, then
/// blocks its one monitor thread in `waitpid` for that child. A socket end marked
/// close-on-exec by another thread's spawn meanwhile (``Subprocess`` marks every descriptor
/// before it spawns) closes at once, and the monitor thread then waits for a registry that runs
/// for minutes: every other child's exit went unnoticed, and each `stop()` polled its full
/// timeout on a cooperative thread — seconds during which the whole test process stalled.
public final class ChildProcess: @unchecked Sendable {
  public let pid: pid_t
  /// Our end of the child's stdin: open while we live (the fixtures exit when it closes).
  private let stdinWrite: Int32
  /// The child's stdout, unless it goes to a log file.
  private let stdoutRead: Int32?
  /// Set by the reaper. A box of its own, not a weak reference to this object: a `stop()` in
  /// `deinit` waits for the reaper, and weak references are nil by then (every deinit's stop
  /// waited its whole bound, two such stops holding both cooperative threads).
  private let exit = ExitStatus()

  /// `logFile`: where the child's stdout and stderr go instead of a pipe, for a chatty server
  /// nobody reads (a full pipe would block it: docker-registry logs every 404 at error level).
  /// Without it stdout is a pipe (``waitForLine(timeout:where:)``) and stderr is discarded.
  public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil, logFile: String? = nil) throws {
    var stdinPipe: [Int32] = [-1, -1]
    var stdoutPipe: [Int32] = [-1, -1]
    guard pipe(&stdinPipe) == 0 else { throw TestSupportError("pipe: \(String(cString: strerror(errno)))") }
    var output: Int32 = -1
    if let logFile {
      output = open(logFile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    } else if pipe(&stdoutPipe) == 0 {
      output = stdoutPipe[1]
    }
    guard output >= 0 else {
      close(stdinPipe[0])
      close(stdinPipe[1])
      throw TestSupportError("cannot open the output of \(executable): \(String(cString: strerror(errno)))")
    }
    // The child gets its three descriptors only (as Foundation's Process gives): a fixture
    // holding a copy of a test's socket, or of another fixture's stdin, would keep it open.
    // dup2 onto 0, 1 and 2 clears the flag in the child.
    Subprocess.closeOnExecAll()
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
    posix_spawn_file_actions_adddup2(&actions, output, 1)
    if logFile != nil {
      posix_spawn_file_actions_adddup2(&actions, output, 2)
    } else {
      posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    }
    var child: pid_t = 0
    let spawned = Subprocess.spawn(&child, executable, arguments, environment: environment, directory: directory, actions: &actions)
    close(stdinPipe[0])
    close(output)
    guard spawned == 0 else {
      close(stdinPipe[1])
      if logFile == nil { close(stdoutPipe[0]) }
      throw TestSupportError("cannot run \(executable): \(String(cString: strerror(spawned)))")
    }
    pid = child
    stdinWrite = stdinPipe[1]
    stdoutRead = logFile == nil ? stdoutPipe[0] : nil
    // The reaper: blocks in waitpid for this child only, on a thread of its own.
    let reaper = Thread { [pid = child, exit] in
      var raw: Int32 = 0
      while waitpid(pid, &raw, 0) == -1, errno == EINTR {}
      exit.set(raw)
    }
    reaper.name = "gantry-reaper"
    reaper.stackSize = 64 << 10
    reaper.start()
  }

  public var isRunning: Bool { exit.value == nil }

  /// The status the process exited with, if it exited (not killed by a signal).
  public var exitStatus: Int32? {
    exit.value.flatMap { $0 & 0x7f == 0 ? ($0 >> 8) & 0xff : nil }
  }

  /// The signal that ended the process, if one did.
  public var terminationSignal: Int32? {
    exit.value.flatMap { $0 & 0x7f != 0 ? $0 & 0x7f : nil }
  }

  /// Reads stdout until a line satisfies `match`, or fails after `timeout`. The reads block,
  /// so they run on a thread of their own (``BlockingWork``), not on the cooperative pool.
  public func waitForLine(timeout: Duration = .seconds(10), where match: @escaping @Sendable (String) -> Bool) async throws -> String {
    try await BlockingWork.run { try self.readLine(timeout: timeout, where: match) }
  }

  private func readLine(timeout: Duration, where match: (String) -> Bool) throws -> String {
    guard let fd = stdoutRead else { throw TestSupportError("process \(pid) writes to its log file, not a pipe") }
    let deadline = ContinuousClock.now + timeout
    var buffer = ""
    var chunk = [UInt8](repeating: 0, count: 4096)
    while ContinuousClock.now < deadline {
      var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      let left = max(1, Int32(clamping: (deadline - ContinuousClock.now).milliseconds))
      guard poll(&ready, 1, left) > 0 else { continue }
      let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n < 0, errno == EINTR { continue }
      if n <= 0 { throw TestSupportError("process \(pid) closed stdout before printing the expected line: \(buffer)") }
      buffer += String(decoding: chunk[0..<n], as: UTF8.self)
      for line in buffer.split(separator: "\n") where match(String(line)) { return String(line) }
    }
    throw TestSupportError("timed out waiting for process \(pid)")
  }

  /// Waits until the process exited (polling with `Task.sleep`: no thread held); false after
  /// `timeout`.
  @discardableResult
  public func waitForExit(timeout: Duration = .seconds(30)) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
    return !isRunning
  }

  /// Kills the process (SIGKILL, by pid) and waits until its reaper collected it, so its
  /// port is closed when this returns (a test may connect to it expecting a refusal). A
  /// killed process is gone within milliseconds; the wait is bounded at 2 s all the same.
  public func stop() {
    // Test servers keep nothing worth a graceful stop: kill outright, by pid, once.
    guard isRunning else { return }
    kill(pid, SIGKILL)
    let deadline = ContinuousClock.now + .seconds(2)
    while isRunning, ContinuousClock.now < deadline { usleep(1_000) }
  }

  deinit {
    stop()
    close(stdinWrite)
    if let stdoutRead { close(stdoutRead) }
  }
}

/// A child's `waitpid` status, once its reaper collected it.
private final class ExitStatus: @unchecked Sendable {
  private let lock = NSLock()
  private var raw: Int32?
  func set(_ status: Int32) { lock.withLock { raw = status } }
  var value: Int32? { lock.withLock { raw } }
}

public struct TestSupportError: Error, CustomStringConvertible {
  public var description: String
  public init(_ d: String) { description = d }
}

/// Runs a command to completion and returns (status, stdout, stderr). Blocks: from async code
/// use ``awaitCommand(_:_:environment:directory:)``.
@discardableResult
public func runCommand(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
  let r = try Subprocess.run(executable, arguments, environment: environment, directory: directory)
  return (r.status, String(decoding: r.stdout, as: UTF8.self), String(decoding: r.stderr, as: UTF8.self))
}

/// ``runCommand(_:_:environment:directory:)`` on a thread of its own: the calling task waits
/// without holding one of the cooperative pool's threads (``BlockingWork``).
@discardableResult
public func awaitCommand(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil) async throws -> (
  status: Int32, stdout: String, stderr: String
) {
  let r = try await BlockingWork.run { try Subprocess.run(executable, arguments, environment: environment, directory: directory) }
  return (r.status, String(decoding: r.stdout, as: UTF8.self), String(decoding: r.stderr, as: UTF8.self))
}

/// Finds an executable on PATH.
public func which(_ name: String) -> String? {
  let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
  for dir in path.split(separator: ":") {
    let candidate = "\(dir)/\(name)"
    if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
  }
  return nil
}
