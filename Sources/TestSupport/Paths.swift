import Foundation

/// Locations in the source tree, for tests.
public enum RepoPaths {
  /// The package root (found from this file's path; tests run from a checkout).
  public static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  public static func fixture(_ name: String) -> String { root.appendingPathComponent("Tests/Fixtures/\(name)").path }

  /// The built `gantry` binary: `GANTRY_BINARY`, else next to the test bundle, else `.build/debug`.
  public static var gantryBinary: String {
    if let p = ProcessInfo.processInfo.environment["GANTRY_BINARY"], !p.isEmpty { return p }
    let candidates: [String] = [
      Bundle.main.executableURL?.deletingLastPathComponent().appendingPathComponent("gantry").path,
      Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("gantry").path,
      root.appendingPathComponent(".build/debug/gantry").path,
    ].compactMap { $0 }
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates.last!
  }
}

/// A temporary directory removed when the value is released.
public final class TempDirectory: @unchecked Sendable {
  public let url: URL
  public var path: String { url.path }

  public init(prefix: String = "gantry-test") throws {
    url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }

  public func file(_ name: String) -> String { url.appendingPathComponent(name).path }

  deinit { try? FileManager.default.removeItem(at: url) }
}
