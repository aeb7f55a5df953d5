import Foundation
import FuzzTargets
import Testing

/// The committed seed corpus (and every crash a fuzzer found, once fixed, saved next to it)
/// replays clean through its target on every test run.
@Suite struct CorpusReplayTests {
  static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz/corpus").path

  @Test("every target has a seed corpus", arguments: FuzzTargets.all.keys.sorted())
  func seeded(_ name: String) {
    #expect(FuzzTargets.files(at: "\(Self.corpus)/\(name)").count >= 3, "Tests/Fuzz/corpus/\(name) needs seeds")
  }

  @Test("the corpus replays without a trap", arguments: FuzzTargets.all.keys.sorted())
  func replay(_ name: String) throws {
    let target = try #require(FuzzTargets.all[name])
    for file in FuzzTargets.files(at: "\(Self.corpus)/\(name)") {
      target(try #require(FileManager.default.contents(atPath: file)))
    }
  }

  @Test("no corpus folder without a target")
  func noOrphans() throws {
    let folders = try FileManager.default.contentsOfDirectory(atPath: Self.corpus)
    #expect(Set(folders).subtracting(FuzzTargets.all.keys).isEmpty)
  }
}
