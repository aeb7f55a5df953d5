import Foundation
import Sigstore
import Testing

/// A trusted root is a file the workflow names, or a release manifest when the step sets no
/// policy (a file a pull request can change): what it says reaches the error line cut.
@Suite struct TrustedRootHostileTests {
  /// A log's `baseUrl` and key details, and an authority's `uri`, of 100 000 characters were
  /// quoted whole in the note of a skipped log and in the refusal (found with the
  /// trusted-root fuzz target's error-length check).
  @Test func longNamesAreQuotedCut() throws {
    let long = String(repeating: "x", count: 100_000)
    let text = String(decoding: try FixtureFiles.data("sigstore-go/trusted-root-github-staging.json"), as: UTF8.self)
    let skipped = text.replacingOccurrences(of: "\"tlogs\": [", with: "\"tlogs\": [{\"baseUrl\": \"\(long)\", \"publicKey\": {\"keyDetails\": \"\(long)\"}},", options: [], range: nil)
    #expect(skipped != text)
    let root = try TrustedRoot(json: Data(skipped.utf8), name: "root.json")
    #expect(root.skippedLogs.count == 1 && root.skippedLogs.allSatisfy { $0.utf8.count < 300 })
    let media = "\"mediaType\": \"application/vnd.dev.sigstore.trustedroot+json;version=0.1\""
    let authority = "{\(media), \"certificateAuthorities\": [{\"uri\": \"\(long)\", \"certChain\": {\"certificates\": []}}]}"
    #expect { _ = try TrustedRoot(json: Data(authority.utf8), name: "root.json") } throws: { "\($0)".utf8.count < 500 }
  }
}
