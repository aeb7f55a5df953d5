import Foundation
import Testing

@testable import OCI

/// Record tag names handed out newest first without sorting a whole listing up front.
@Suite("record names newest first")
struct RecordNamesTests {
  /// Names of one key at minutes 0..<n, shuffled as a registry lists them.
  func names(_ n: Int) -> [String] {
    (0..<n).map { RecordTag.make(environment: "production", time: Date(timeIntervalSince1970: 1_795_000_000 + Double($0) * 60), random: String(format: "%08x", $0)) }
  }

  @Test func pagesComeNewestFirstAndCoverEveryNameOnce() {
    let all = names(1000)
    var listing = all.shuffled()
    listing += listing.prefix(50)  // a registry that repeats tags
    var picked = RecordNames(listing.shuffled())
    var out: [String] = []
    #expect(picked.hasMore)
    for size in [16, 1, 40, 16, 500, 1000] {
      let page = picked.next(size)
      #expect(page.count == min(size, all.count - out.count))
      out += page
    }
    #expect(out == all.reversed())
    #expect(!picked.hasMore)
    #expect(picked.next(16).isEmpty)
  }

  @Test func aFirstPageHoldingEverythingLeavesNothing() {
    var picked = RecordNames(names(5).shuffled())
    #expect(picked.next(16) == names(5).reversed())
    #expect(!picked.hasMore)
    #expect(picked.next(16).isEmpty)
    var none = RecordNames([])
    #expect(!none.hasMore)
    #expect(none.next(16).isEmpty)
  }

  /// The first page of names listed oldest first (the one-pass pick's worst order) and
  /// newest first.
  @Test func theFirstPageIsRightInAnyListingOrder() {
    for listing in [names(300), names(300).reversed()] {
      var picked = RecordNames(listing)
      #expect(picked.next(10) == Array(names(300).suffix(10).reversed()))
      #expect(picked.hasMore)
      #expect(picked.next(5) == Array(names(290).suffix(5).reversed()))
    }
  }
}

extension RecordNamesTests {
  /// A registry listing names that are not normalized text: `"e\u{301}"` and `"\u{E9}\t"`
  /// are neither `<` nor `>` each other as `String`s, nor equal; the first page put them in
  /// the wrong order (found by the record-names fuzz target). By bytes, every name comes once.
  @Test func namesOfUnnormalizedTextComeOnceInByteOrder() {
    var picked = RecordNames(["\u{5}", "e\u{301}", "\u{E9}\t", "", ""])
    var out: [String] = []
    while picked.hasMore { out += picked.next(2) }
    #expect(out.map { Array($0.utf8) } == [[0xC3, 0xA9, 0x09], [0x65, 0xCC, 0x81], [0x05], []])
  }
}
