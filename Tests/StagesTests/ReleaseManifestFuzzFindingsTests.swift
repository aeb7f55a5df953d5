import ActionsCore
import Foundation
import Testing

@testable import Stages

/// What fuzzing the release manifest (Tests/Fuzz/corpus/release-manifest) found: YAML the
/// subset documents but read wrongly, and errors that quoted the file at length.
extension ReleaseManifestTests {
  static func read(_ text: String) throws -> ReleaseManifest { try ReleaseManifest.parse(Array(text.utf8)) }

  /// A file saved with Windows line ends: Swift reads "\r\n" as one character, which splitting
  /// on "\n" never met, so the whole file was one line ("expected `images:`").
  @Test func crlfLineEndsReadAsLF() throws {
    let lf = "images:\n  - source: r/a:1 # a comment\n    target: r/b\n    tags:\n      - one\n"
    #expect(try Self.read(lf.replacingOccurrences(of: "\n", with: "\r\n")) == Self.read(lf))
  }

  /// A quote escaped inside a double-quoted value (`\"`), or doubled inside a single-quoted one
  /// (`''`), does not close the value: a ` #` after it is text, not a comment.
  @Test func escapedQuotesDoNotEndAValueBeforeAComment() throws {
    let m = try Self.read("images:\n- source: r/a:1\n  target: r/b\n  version: \"1\\\" # 2\"\n  required-labels: 'it'' # s'\n")
    #expect(m.images.first?.overrides["version"] == "1\" # 2")
    #expect(m.images.first?.overrides["required-labels"] == "it' # s")
  }

  /// A flow list's quoted item may hold `,`, `[` and `]`.
  @Test func quotedFlowListItemsKeepCommasAndBrackets() throws {
    let m = try Self.read("images:\n- source: r/a:1\n  target: r/b\n  required-labels: [\"a,b\", 'c]d', \"[e]\", f]\n")
    #expect(m.images.first?.overrides["required-labels"] == "a,b\nc]d\n[e]\nf")
    #expect(throws: InputError.self) { try Self.read("images:\n- source: r/a:1\n  target: r/b\n  tags: [a, [b]]\n") }
  }

  /// `'a' b'` is not one single-quoted value (its inner quote is not doubled).
  @Test func textAfterASingleQuotedValueIsRefused() throws {
    #expect { try Self.read("images:\n- source: 'r/a:1' x'\n  target: r/b\n") } throws: { "\($0)".contains("line 2: text after a closing quote") }
  }

  /// A field name of 100 000 letters: the error names it cut, in one short line.
  @Test func errorsQuoteALongFieldNameCut() throws {
    let key = String(repeating: "k", count: 100_000)
    for text in [
      "images:\n- source: r/a:1\n  target: r/b\n  \(key):\n", "images:\n- source: r/a:1\n  target: r/b\n  \(key):\n    - [x]\n",
      "images:\n- source: r/a:1\n  target: r/b\n  \(key): x\n",
    ] {
      #expect { try Self.read(text) } throws: { "\($0)".utf8.count < 1000 }
    }
  }
}

extension ReleaseManifestTests {
  /// A value of 8000 characters (within the manifest's cap) that an input's reader refuses:
  /// the error quoted it whole, once or twice (16 KB, 24 KB for a key path), in the one
  /// `::error::` line. Each reader now quotes at most a hundred or two characters of it.
  @Test(arguments: [
    "source: r/LONG:1", "source: r/a@LONG:1", "source: LONG.example:99999/a:1", "target: r/LONG", "tags: [LONG]", "max-size: LONG", "platforms: LONG", "no-clobber: LONG",
    "policy-mode: LONG", "cosign-public-key: LONG", "certificate-identity-regexp: \"(LONG\"\n  certificate-oidc-issuer: x",
  ])
  func errorsQuoteALongValueCut(_ field: String) throws {
    let long = String(repeating: "a", count: 8000)
    var fields = ["source: r/a:1", "target: r/b"].filter { !field.hasPrefix($0.prefix(6)) }
    fields.append(field.replacingOccurrences(of: "LONG", with: long))
    let manifest = "images:\n- " + fields.joined(separator: "\n  ") + "\n"
    #expect { _ = try ReleaseInputsProbe.settings(Array(manifest.utf8), variables: ["INPUT_STAGE": "promote"]) } throws: { error in
      "\(error)".utf8.count < 800 && "\(error)".contains("images[0].")
    }
  }

  /// A quote followed by a combining mark is still a quote (YAML is read by Unicode scalar).
  @Test func aQuoteBeforeACombiningMarkStillQuotes() throws {
    let m = try Self.read("images:\n- source: r/a:1\n  target: r/b\n  version: \"\u{301}1 # x\"\n")
    #expect(m.images.first?.overrides["version"] == "\u{301}1 # x")
  }
}
