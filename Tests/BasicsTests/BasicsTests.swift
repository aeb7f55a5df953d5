import Basics
import FoundationEssentials
import Testing

@Suite struct UTCTimeTests {
  @Test func printsAndParsesTheFormatsGantryWrites() throws {
    let date = Date(timeIntervalSince1970: 1_795_835_700.123)  // 2026-11-28T03:15:00.123Z
    let t = UTCTime(date)
    #expect(t.iso8601() == "2026-11-28T03:15:00Z")
    #expect(t.iso8601(milliseconds: true) == "2026-11-28T03:15:00.123Z")
    #expect(t.compact == "20261128T031500.123Z")
    #expect(t.dateTime == "2026-11-28 03:15:00")
    #expect(UTCTime.parseISO8601("2026-11-28T03:15:00.123Z") == date)
    #expect(UTCTime.parseCompact("20261128T031500.123Z") == date)
    #expect(UTCTime.parseISO8601("2026-11-28T04:15:00+01:00") == Date(timeIntervalSince1970: 1_795_835_700))
    #expect(UTCTime.parseHTTPDate("Sat, 28 Nov 2026 03:15:00 GMT") == Date(timeIntervalSince1970: 1_795_835_700))
  }

  @Test func agreesWithTheCalendarAcrossLeapYearsAndCenturies() {
    for (text, seconds) in [("1970-01-01T00:00:00Z", 0.0), ("2000-02-29T12:00:00Z", 951_825_600), ("1900-03-01T00:00:00Z", -2_203_891_200), ("2100-03-01T00:00:00Z", 4_107_542_400)] {
      #expect(UTCTime.parseISO8601(text) == Date(timeIntervalSince1970: seconds), "\(text)")
      #expect(UTCTime(Date(timeIntervalSince1970: seconds)).iso8601() == text)
    }
  }

  @Test(arguments: [
    "", "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-28T24:00:00Z", "2026-11-28T01:15:00", "2026-11-28T01:15:00.Z", "2026-11-28T01:15:00.1234567890Z",
    "2026-11-28T01:15:00Zjunk", "２０２６-11-28T01:15:00Z", "2026-11-28T01:15:00+25:00", "Sat, 28 Nov 2026 01:15:00 UTC", "Xyz, 28 Nov 2026 01:15:00 GMT",
    String(repeating: "9", count: 10_000),
  ])
  func refusesWhatIsNotADate(_ text: String) {
    #expect(UTCTime.parseISO8601(text) == nil)
    #expect(UTCTime.parseCompact(text) == nil)
    #expect(UTCTime.parseHTTPDate(text) == nil)
  }

  @Test func clampsDatesItCannotPrint() {
    #expect(UTCTime(Date(timeIntervalSince1970: 1e300)).year == 9999)
    #expect(UTCTime(Date(timeIntervalSince1970: -1e300)).year == 1)
    #expect(UTCTime(Date(timeIntervalSince1970: .nan)).iso8601() == "1970-01-01T00:00:00Z")
  }
}

@Suite struct FormatAndTextTests {
  @Test func formatsLikePrintf() {
    #expect(Format.hex([0x00, 0x0f, 0xa5, 0xff]) == "000fa5ff")
    #expect(Format.fixed(1.25, digits: 1) == "1.3")
    #expect(Format.fixed(-0.04, digits: 1) == "0.0")
    #expect(Format.fixed(12.5, digits: 0) == "13")
    #expect(Format.fixed(3.14159, digits: 2) == "3.14")
    #expect(Format.fixed(0.05, digits: 3) == "0.050")
    #expect(Format.fixed(.infinity, digits: 1) == "inf")
  }

  /// Before, a one-image release said "1 images restored" and "Validate 1 images".
  @Test func countsReadAsEnglish() {
    #expect(Format.count(1, "image") == "1 image")
    #expect(Format.count(3, "image") == "3 images")
    #expect(Format.count(0, "blob") == "0 blobs")
    #expect(Format.count(2, "entry", plural: "entries") == "2 entries")
  }

  @Test func trimsReplacesAndPadsAsFoundationDid() {
    #expect(" \t a b \u{00A0}".trimmingCharacters(in: .whitespaces) == "a b")
    #expect("\n a \r\n".trimmingCharacters(in: .whitespacesAndNewlines) == "a")
    #expect("  ".trimmingCharacters(in: .whitespaces) == "")
    #expect("a::b::".replacingOccurrences(of: "::", with: "%3A") == "a%3Ab%3A")
    #expect("a\r\nb".replacingOccurrences(of: "\r", with: "%0D") == "a%0D\nb")
    #expect("ab".padding(toLength: 4, withPad: " ", startingAt: 0) == "ab  ")
    #expect("abcdef".padding(toLength: 3, withPad: " ", startingAt: 0) == "abc")
    #expect("/a/b/pyproject.toml".lastPathComponent == "pyproject.toml")
    #expect("dir/".lastPathComponent == "dir")
  }

  @Test func jsonValuesKeepIntegersAndSortKeys() throws {
    let doc = JSONValue.parse(Data(#"{"size": 9223372036854775807, "b": [1.5, null, true], "a": "x/y"}"#.utf8))
    #expect(doc?["size"] == .int(Int64.max))
    let bytes = try #require(doc).serialized()
    #expect(String(decoding: bytes, as: UTF8.self) == #"{"a":"x/y","b":[1.5,null,true],"size":9223372036854775807}"#)
    #expect(JSONValue.parse(Data("{".utf8)) == nil)
  }

  @Test func readsRangesWithoutReadingTheFile() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("basics-\(UInt64.random(in: 0...UInt64.max))").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try Files.append("0123456789", to: path)
    let file = try Files.Reader(path: path)
    #expect(file.size == 10)
    #expect(file.read(at: 3, count: 4) == Array("3456".utf8))
    #expect(file.read(at: 8, count: 4) == Array("89".utf8))
    #expect(file.read(at: 20, count: 4).isEmpty)
    #expect(file.read(at: -1, count: 4).isEmpty)
    #expect(file.read(at: Int64.max, count: 4).isEmpty)
    #expect(Files.readPrefix(path, limit: 4) == Array("0123".utf8))
  }
}

@Suite("a list cut for one line")
struct JoinedFirstTests {
  @Test func moreThanShownSaysHowManyMore() {
    #expect(["a", "b", "c", "d", "e"].joinedFirst(3, separator: "; ") == "a; b; c; and 2 more")
    #expect(["a", "b", "c", "d"].joinedFirst(2, separator: " | ", more: " (see the summary)") == "a | b | and 2 more (see the summary)")
  }

  @Test func upToShownIsTheWholeList() {
    #expect(["a", "b", "c"].joinedFirst(3, separator: "; ") == "a; b; c")
    #expect([String]().joinedFirst(3, separator: "; ") == "")
  }
}

@Suite("where a checkout's path leads")
struct CheckoutPathTests {
  /// A pull request's symbolic link must not tell it which runner paths exist: a link to a
  /// path outside that exists and one to a path that does not read the same (they read
  /// "escapes" and "missing" before). Only what is missing under the checkout is missing.
  @Test func aLinkOutsideReadsTheSameWhetherItsTargetExistsOrNot() throws {
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("checkout-\(UInt64.random(in: 0...UInt64.max))").path
    let ws = base + "/ws"
    defer { try? FileManager.default.removeItem(atPath: base) }
    try FileManager.default.createDirectory(atPath: ws + "/.git", withIntermediateDirectories: true)
    try FileManager.default.createDirectory(atPath: ws + "/dir", withIntermediateDirectories: true)
    try FileManager.default.createDirectory(atPath: base + "/out", withIntermediateDirectories: true)
    try Files.append("x", to: base + "/out/there")
    try Files.append("x", to: ws + "/dir/file")
    let links = [
      "there": base + "/out/there", "nothere": base + "/out/nothere", "outdir": base + "/out", "nodir": base + "/nodir",
      "gitlink": ".git", "inside": "dir/file", "dangling": "dir/nothere",
    ]
    for (name, target) in links { try FileManager.default.createSymbolicLink(atPath: ws + "/" + name, withDestinationPath: target) }
    let outside = Files.CheckoutPath.escapes(finalLink: true)
    let throughDirectory = Files.CheckoutPath.escapes(finalLink: false)
    let cases: [(String, Files.CheckoutPath)] = [
      ("there", outside), ("nothere", outside), ("outdir/there", throughDirectory), ("outdir/nothere", throughDirectory),
      ("nodir/x", throughDirectory), ("nodir/x/y", throughDirectory), ("dir/../outdir/nothere", throughDirectory),
      ("gitlink/config", throughDirectory), (".git/absent", throughDirectory), ("dangling", outside),
      ("absent", .missing), ("dir/absent", .missing), ("dir/absent/deeper", .missing),
      ("inside", .file(Files.realPath(ws + "/dir/file") ?? "")), ("dir/file", .file(Files.realPath(ws + "/dir/file") ?? "")),
    ]
    for (path, expected) in cases {
      #expect(Files.inCheckout(ws + "/" + path, checkout: ws) == expected, "\(path)")
    }
    #expect(Files.inCheckout(base + "/out/nothere", checkout: ws) == .file(base + "/out/nothere"))
  }
}
