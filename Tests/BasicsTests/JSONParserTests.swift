import Basics
import FoundationEssentials
import Testing

@Suite("Gantry's JSON reader: RFC 8259, strictly")
struct JSONParserTests {
  func parse(_ text: String) throws(JSONParseError) -> JSONValue { try JSONValue.parse(bytes: Array(text.utf8)) }

  @Test func readsEveryKindOfValue() throws {
    let v = try parse(#" { "a": [1, -2, 3.5, 1e3, -0, 9223372036854775807, 9223372036854775808], "b": {"c": null, "d": true, "e": false}, "s": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00" } "#)
    #expect(v["a"] == [.int(1), .int(-2), .double(3.5), .double(1000), .int(0), .int(Int64.max), .double(9_223_372_036_854_775_808)])
    #expect(v["b"] == ["c": .null, "d": true, "e": false])
    #expect(v["s"] == .string("x\"\\/\u{08}\u{0C}\n\r\té😀"))
    #expect(try parse("[]") == [])
    #expect(try parse("{}") == .object([:]))
    #expect(try parse("\"\"") == "")
    #expect(try parse(" 0 ") == .int(0))
  }

  @Test(arguments: [
    ("", "end"), ("{", "member name"), ("[1,]", "unexpected character"), ("{\"a\":1,}", "member name"), ("{\"a\" 1}", "':'"), ("[1 2]", "','"),
    ("01", "after the document"), ("1.", "bad number"), (".5", "unexpected character"), ("1e", "bad number"), ("-", "bad number"), ("+1", "unexpected character"),
    ("tru", "end"), ("nul", "end"), ("truex", "after the document"), ("\"a", "unterminated"), ("\"\\x\"", "unknown escape"), ("\"\\u12\"", "\\u escape"), ("\"\\u12g4\"", "bad \\u"),
    ("\"\\ud800\"", "lone surrogate"), ("\"\\udc00\"", "lone surrogate"), ("\"a\nb\"", "control character"), ("{\"a\":1,\"a\":2}", "duplicate member"),
    ("1e999", "out of range"), ("\u{FEFF}{}", "unexpected character"), ("{} {}", "after the document"), ("NaN", "unexpected character"),
  ])
  func refusesWhatIsNotJSON(text: String, why: String) {
    #expect {
      _ = try parse(text)
    } throws: { error in
      (error as? JSONParseError)?.why.contains(why) == true
    }
  }

  @Test func refusesBytesThatAreNotUTF8AndNestingPastTheLimit() {
    #expect(throws: JSONParseError.self) { try JSONValue.parse(bytes: [0x22, 0xC3, 0x28, 0x22]) }
    #expect(throws: JSONParseError.self) { try JSONValue.parse(bytes: [0x22, 0xED, 0xA0, 0x80, 0x22]) }  // an encoded surrogate
    let deep = String(repeating: "[", count: JSONValue.maxDepth) + String(repeating: "]", count: JSONValue.maxDepth)
    #expect((try? parse(deep)) != nil)
    let deeper = String(repeating: "[", count: JSONValue.maxDepth + 1) + String(repeating: "]", count: JSONValue.maxDepth + 1)
    #expect(throws: JSONParseError.self) { try parse(deeper) }
    // A hostile depth far past the limit stops at the limit, not at the stack's end.
    #expect(throws: JSONParseError.self) { try parse(String(repeating: "[", count: 1_000_000)) }
  }

  @Test func agreesWithJSONDecoderOnDocumentsBothAccept() throws {
    let documents = [
      #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aa","size":7143,"platform":{"architecture":"arm64","os":"linux","variant":"v8","os.version":"10"}}],"annotations":{"a":"b"}}"#,
      #"{"architecture":"amd64","os":"linux","config":{"Labels":{"org.opencontainers.image.revision":"abc","x":"\u00fc"}},"rootfs":{"type":"layers","diff_ids":[]}}"#,
      #"[1, 2.25, "three", [true, false, null], {"k": {"l": []}}]"#,
    ]
    for d in documents {
      let ours = try parse(d)
      let theirs = try JSONDecoder().decode(JSONValue.self, from: Data(d.utf8))
      #expect(ours == theirs, "\(d)")
    }
  }

  /// A byte order mark is refused in what registries send, skipped in files people edit.
  @Test func aByteOrderMarkIsSkippedOnlyInUserFiles() {
    let withBOM = Data([0xEF, 0xBB, 0xBF] + Array(#"{"version":"1.2.3"}"#.utf8))
    #expect(JSONValue.parse(withBOM) == nil)
    #expect(JSONValue.parse(userFile: withBOM)?["version"] == "1.2.3")
  }

  @Test func objectReaderNamesThePathOfAWrongMember() throws {
    let o = try JSONObject(parse(#"{"a": {"b": [ "x", 2 ]}, "n": null, "i": 3, "s": "t"}"#))
    #expect(try o.string("n") == nil)
    #expect(try o.string("missing") == nil)
    #expect(try o.int64("i") == 3)
    #expect(throws: JSONShapeError("s", "expected an integer")) { try o.int64("s") }
    #expect(throws: JSONShapeError("a.b[1]", "expected a string")) { try o.object("a")?.strings("b") }
    #expect(throws: JSONShapeError("missing", "missing")) { try o.requiredString("missing") }
  }
}
