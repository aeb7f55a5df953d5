import Basics
import FoundationEssentials

/// TOML manifests read in a child process. toml++ 3.4.0 aborts the process it runs in on some
/// malformed TOML (its assertions: `[ (` was one, found by fuzzing), and the file is a pull
/// request's to write. ``ManifestFiles`` refuses the shapes known to do it before toml++ sees
/// them; reading in a child makes one nobody has found yet an error naming the file, not the
/// end of the stage. The binary turns this on (`GantryCLI.isolateParsers()`); tests that call
/// the library read in process.
extension ManifestFiles {
  /// The argument that makes the binary answer for one manifest as the child of
  /// ``versionInChild(_:named:command:)``.
  public static let childArgument = "__manifest-version"
  /// The manifests read in a child when isolation is on: those read with toml++.
  static let isolatedNames: Set<String> = ["pyproject.toml", "Cargo.toml"]

  private final class Setting: @unchecked Sendable {
    let lock = Lock()
    var command: [String]?
  }
  private static let setting = Setting()

  /// The program (and its leading arguments) that reads a TOML manifest in a child process,
  /// or nil to read it in this one.
  public static var childCommand: [String]? {
    get { setting.lock.withLock { setting.command } }
    set { setting.lock.withLock { setting.command = newValue } }
  }

  /// The version in the manifest at `path` (resolved within the checkout; the child reads it
  /// through ``contents(_:checkout:)``), as the child `command` + [name, path] answers it (``answerInChild(name:path:)``). A child
  /// that cannot be started leaves the file to be read here.
  static func versionInChild(_ path: String, named name: String, command: [String], timeLimit: Duration = .seconds(10)) throws -> String {
    guard let executable = command.first else { return try version(in: contents(path), named: name) }
    let run: (ending: IsolatedRun.Ending, stdout: [UInt8])
    do { run = try IsolatedRun.run(executable, Array(command.dropFirst()) + [name, path], timeLimit: timeLimit) } catch {
      return try version(in: contents(path), named: name)
    }
    let text = String(decoding: run.stdout, as: UTF8.self)
    guard run.ending == .exited(0), let kind = text.first else {
      let how: String
      switch run.ending {
      case .signaled(let signal): how = "was stopped by signal \(signal)"
      case .exited(let status): how = "ended with status \(status)"
      case .timedOut: how = "did not finish within \(timeLimit.components.seconds) s"
      }
      throw VersionSourceError("\(name) cannot be read: the TOML reader \(how) on it; refused")
    }
    let answer = String(text.dropFirst())
    switch kind {
    case "V": return answer
    case "N": throw VersionSourceError(answer, noVersion: true)
    default: throw VersionSourceError(answer)
    }
  }

  /// The child's answer for the manifest called `name` at `path`: `V` and the version, or `N`
  /// (no version) or `E` (refused) and the reason.
  public static func answerInChild(name: String, path: String) -> String {
    do { return "V" + (try version(in: contents(path), named: name)) } catch let e as VersionSourceError {
      return (e.noVersion ? "N" : "E") + e.description
    } catch {
      return "E\(name): \(error)"
    }
  }
}
