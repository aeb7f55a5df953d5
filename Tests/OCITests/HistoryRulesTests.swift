import Foundation
import OCI
import Testing

/// The history rules and the record format, without a registry.
@Suite("history rules and record format")
struct HistoryRulesTests {
  let a = Digest.sha256(Data("a".utf8))
  let b = Digest.sha256(Data("b".utf8))
  let t0 = Date(timeIntervalSince1970: 1_795_000_000)

  func entry(_ state: PromotionState, _ digest: Digest, at seconds: Double, run: String = "r1", format: Int? = 2, intent: String? = nil, lease: Double? = nil) -> HistoryEntry {
    let time = t0.addingTimeInterval(seconds)
    let record = PromotionRecord(
      environment: "production", state: state, digest: digest, previousDigest: nil, version: nil, tags: [], source: nil, time: time, runURL: run, format: format,
      leaseExpires: lease.map { time.addingTimeInterval($0) }, intent: intent)
    return HistoryEntry(tag: RecordTag.make(environment: "production", time: time, random: String(format: "%08d", Int(seconds))), record: record)
  }

  @Test func intentsAreClosedByTheRecordThatNamesThem() {
    let intent = entry(.inProgress, a, at: 0, lease: 600)
    let other = entry(.inProgress, b, at: 1, run: "r2", lease: 600)
    let done = entry(.completed, a, at: 2, intent: intent.tag)
    #expect(HistoryRules.isClosed(intent, by: [done]))
    #expect(!HistoryRules.isClosed(other, by: [done]))
    // Format 1: closed by a later completed or failed record of the same run and image.
    let legacy = entry(.inProgress, a, at: 0, format: nil)
    #expect(HistoryRules.isClosed(legacy, by: [entry(.failed, a, at: 3, format: nil)]))
    #expect(!HistoryRules.isClosed(legacy, by: [entry(.failed, a, at: 3, run: "r9", format: nil)]))
  }

  @Test func leasesRunOutAndNewerChangesDecideOlderIntents() {
    let older = entry(.inProgress, a, at: 0, lease: 600)
    let younger = entry(.inProgress, b, at: 10, run: "r2", lease: 600)
    let entries = [younger, older]
    #expect(HistoryRules.openIntents(entries, now: t0.addingTimeInterval(20), timeout: 600).map(\.tag) == [older.tag, younger.tag])
    #expect(HistoryRules.staleIntents(entries, now: t0.addingTimeInterval(605), timeout: 600).map(\.tag) == [older.tag])
    // The younger run finished: the older intent is decided (it lost), whatever its records say.
    let done = entry(.completed, b, at: 12, run: "r2", intent: younger.tag)
    #expect(HistoryRules.openIntents([done, younger, older], now: t0.addingTimeInterval(20), timeout: 600).isEmpty)
  }

  @Test func rollbackCandidatesAreCompletedOtherImagesOnce() {
    var seen = Set<Digest>()
    let c = Digest.sha256(Data("c".utf8))
    let entries = [entry(.completed, a, at: 5), entry(.completed, b, at: 4), entry(.failed, c, at: 3), entry(.completed, b, at: 2)]
    #expect(HistoryRules.candidates(entries, current: a, seen: &seen).map(\.record.digest) == [b])
  }

  @Test func recordsDecodeAcrossFormats() throws {
    let legacy = #"{"digest":"\#(a)","environment":"prod","state":"completed","tags":["prod"],"time":"2026-11-22T03:15:00Z"}"#
    let r = try PromotionRecord.decode(Data(legacy.utf8))
    #expect(r.format == nil && r.environment == "prod" && r.state == .completed)
    #expect(throws: PromotionRecord.DecodeError.futureFormat(3)) { try PromotionRecord.decode(Data(#"{"format":3}"#.utf8)) }
    #expect(throws: PromotionRecord.DecodeError.self) { try PromotionRecord.decode(Data("[1]".utf8)) }
    #expect(throws: PromotionRecord.DecodeError.self) { try PromotionRecord.decode(Data(#"{"format":2,"state":"exploded"}"#.utf8)) }
    let written = entry(.abandoned, b, at: 1.5, intent: "gantry-production-x").record
    #expect(try PromotionRecord.decode(try written.encoded()) == written)
  }
}
