import Foundation
import Versioning

/// A helper process (server) owned by a test: started with a pipe on stdin so it exits when
/// we do, and stopped by pid — never by name.
public final class ChildProcess: @unchecked Sendable {
  public let process: Process
  private let stdinPipe = Pipe()
  private let stdoutPipe = Pipe()
  private let stderrPipe = Pipe()

  /// `logFile`: where the child's stdout and stderr go instead of pipes, for a chatty server
  /// nobody reads (a full pipe would block it: docker-registry logs every 404 at error level).
  public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil, logFile: String? = nil) throws {
    process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    process.standardInput = stdinPipe
    if let logFile, FileManager.default.createFile(atPath: logFile, contents: nil), let handle = FileHandle(forWritingAtPath: logFile) {
      process.standardOutput = handle
      process.standardError = handle
    } else {
      process.standardOutput = stdoutPipe
      process.standardError = stderrPipe
    }
    try process.run()
  }

  public var pid: Int32 { process.processIdentifier }

  /// Reads stdout until a line satisfies `match`, or fails after `timeout`. The reads block,
  /// so they run on a thread of their own (``BlockingWork``), not on the cooperative pool.
  public func waitForLine(timeout: Duration = .seconds(10), where match: @escaping @Sendable (String) -> Bool) async throws -> String {
    try await BlockingWork.run { try self.readLine(timeout: timeout, where: match) }
  }

  private func readLine(timeout: Duration, where match: (String) -> Bool) throws -> String {
    let handle = stdoutPipe.fileHandleForReading
    let deadline = ContinuousClock.now + timeout
    var buffer = ""
    while ContinuousClock.now < deadline {
      let data = handle.availableData
      if data.isEmpty { throw TestSupportError("process \(pid) closed stdout before printing the expected line: \(buffer)") }
      buffer += String(decoding: data, as: UTF8.self)
      for line in buffer.split(separator: "\n") where match(String(line)) { return String(line) }
    }
    throw TestSupportError("timed out waiting for process \(pid)")
  }

  /// Waits (off the cooperative pool) until the process exited; false after `timeout`.
  @discardableResult
  public func waitForExit(timeout: Duration = .seconds(30)) async -> Bool {
    let process = self.process
    return (try? await BlockingWork.run { Subprocess.waitForExit(process, timeout: timeout) }) ?? false
  }

  public func stop() {
    guard process.isRunning else { return }
    // Test servers keep nothing worth a graceful stop, and Foundation's children may start
    // with SIGTERM blocked: kill outright, by pid.
    kill(process.processIdentifier, SIGKILL)
    Subprocess.waitForExit(process, timeout: .seconds(5))
  }

  deinit { stop() }
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
