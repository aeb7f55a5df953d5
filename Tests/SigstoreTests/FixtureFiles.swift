import Foundation
import Sigstore

/// Tests/Fixtures/sigstore: real bundles from upstream (see its README for sources).
enum FixtureFiles {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/sigstore")

  static func data(_ path: String) throws -> Data { try Data(contentsOf: root.appendingPathComponent(path)) }
  static func text(_ path: String) -> String? {
    (try? String(contentsOf: root.appendingPathComponent(path), encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
  }
  static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: root.appendingPathComponent(path).path) }

  static let publicGood: TrustedRoot = {
    do { return try TrustedRoot.publicGood() } catch { fatalError("embedded root: \(error)") }
  }()
}
