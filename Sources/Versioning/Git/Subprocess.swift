import Dispatch
import Foundation

/// Runs a program to completion: how the version stage calls `git` (and tests their tools).
public enum Subprocess {
  /// What the program did.
  public struct Result: Sendable {
    public var status: Int32
    public var stdout: Data
    public var stderr: Data
  }

  /// Runs `executable` with stdin from /dev/null and returns its status and output. Both pipes
  /// are read at once: a program that fills one (64 KiB) while we read the other to its end
  /// would block forever.
  public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil) throws -> Result {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    if let environment { p.environment = environment }
    if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let group = DispatchGroup()
    nonisolated(unsafe) var errData = Data()
    group.enter()
    DispatchQueue.global().async {
      errData = err.fileHandleForReading.readDataToEndOfFile()
      group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    waitForExit(p)
    return Result(status: p.terminationStatus, stdout: outData, stderr: errData)
  }

  /// Polls instead of `Process.waitUntilExit`, which spins a run loop at full CPU (and can
  /// hang) when called off the main thread on Linux. Returns false on timeout.
  @discardableResult
  public static func waitForExit(_ p: Process, timeout: Duration = .seconds(600)) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while p.isRunning {
      if ContinuousClock.now > deadline { return false }
      usleep(1_000)
    }
    return true
  }
}
