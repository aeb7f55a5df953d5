import ActionsCore
import Basics
import FoundationEssentials

#if canImport(Glibc)
  import Glibc
#endif

/// Writes whole lines to a file descriptor (stdout or stderr) with `write(2)`:
/// Swift 6 treats the C `stdout`/`stderr` globals as not concurrency-safe.
public struct FileDescriptorSink: LogSink {
  public let fd: Int32
  public init(fd: Int32) { self.fd = fd }

  public static let standardOutput = FileDescriptorSink(fd: 1)
  public static let standardError = FileDescriptorSink(fd: 2)

  public func write(_ line: String) { writeRaw(line.hasSuffix("\n") ? line : line + "\n") }

  /// A terminal, and not a GitHub runner (whose logs are files, where `\r` lines would pile up).
  public var isInteractive: Bool {
    isatty(fd) == 1 && ProcessInfo.processInfo.environment["GITHUB_ACTIONS"] != "true"
  }

  public func progress(_ line: String) {
    guard isInteractive else { return write(line) }
    writeRaw("\r\u{1B}[K" + line)
  }

  public func writeRaw(_ text: String) {
    try? Files.write(Array(text.utf8), to: fd)
  }
}

/// Appends text to a file, creating it when needed (the runner's file commands).
enum FileAppender {
  static func append(_ text: String, to path: String) throws {
    do { try Files.append(text, to: path) } catch { throw CLIError(error.description) }
  }
}

struct CLIError: Error, CustomStringConvertible {
  var description: String
  init(_ d: String) { description = d }
}
