import ActionsCore
import Foundation
import GantryCLI

/// Runs the whole CLI in-process with a temp GITHUB_OUTPUT, collecting stdout lines.
enum GantryCLIHarness {
  static func run(_ env: [String: String], _ out: MemoryLogSink, interruptions: Interruptions = Interruptions()) async -> Int32 {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("out-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    var e = env
    e["GITHUB_OUTPUT"] = path
    e["GITHUB_ACTIONS"] = "true"
    e["GITHUB_STEP_SUMMARY"] = path + ".md"
    defer { try? FileManager.default.removeItem(atPath: path + ".md") }
    return await GantryCLI.run(arguments: [], environment: e, stdout: out, interruptions: interruptions)
  }
}
