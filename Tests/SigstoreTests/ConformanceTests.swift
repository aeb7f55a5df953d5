import Foundation
import Sigstore
import Testing

/// sigstore-conformance's bundle-verify cases (Tests/Fixtures/sigstore/conformance): real
/// bundles from Sigstore's public-good instance (and custom roots), each expected to verify or,
/// for a `_fail` case, to be refused. Gantry's verdict must equal the suite's.
@Suite struct ConformanceTests {
  static let defaultIdentity = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
  static let defaultIssuer = "https://token.actions.githubusercontent.com"

  /// Cases outside what Gantry verifies, with why: key-based bundles (Gantry verifies keys
  /// through cosign-public-key), Rekor v2 entries (hashedrekord 0.0.2).
  static func unsupported(_ name: String) -> String? {
    if FixtureFiles.exists("conformance/\(name)/key.pub") { return "managed key, not keyless" }
    if let b = try? SigstoreBundle(json: FixtureFiles.data("conformance/\(name)/bundle.sigstore.json")), b.tlogEntries.contains(where: { $0.kindVersion == "0.0.2" && $0.kind == "hashedrekord" }) {
      return "Rekor v2 entry"
    }
    return nil
  }

  static var cases: [String] {
    (try? FileManager.default.contentsOfDirectory(atPath: FixtureFiles.root.appendingPathComponent("conformance").path))?
      .filter { FixtureFiles.exists("conformance/\($0)/bundle.sigstore.json") }.sorted() ?? []
  }

  static func verdict(_ name: String) async -> Result<VerifiedSignature, SigstoreError> {
    let dir = "conformance/\(name)"
    do {
      let root = FixtureFiles.exists("\(dir)/trusted_root.json") ? try TrustedRoot(json: try FixtureFiles.data("\(dir)/trusted_root.json"), name: "\(name) root") : FixtureFiles.publicGood
      let bundle = try SigstoreBundle(json: try FixtureFiles.data("\(dir)/bundle.sigstore.json"))
      let artifact = try FixtureFiles.data(FixtureFiles.exists("\(dir)/artifact") ? "\(dir)/artifact" : "conformance/a.txt")
      let policy = IdentityPolicy(identity: FixtureFiles.text("\(dir)/identity") ?? defaultIdentity, issuer: FixtureFiles.text("\(dir)/issuer") ?? defaultIssuer)
      return .success(try await BundleVerifier(root: root, policy: policy).verify(bundle, artifact: .bytes(artifact)))
    } catch let e as SigstoreError {
      return .failure(e)
    } catch {
      return .failure(SigstoreError(.malformed, "\(error)"))
    }
  }

  @Test(arguments: cases)
  func verdictMatchesTheSuite(_ name: String) async throws {
    let result = await Self.verdict(name)
    let shouldFail = name.hasSuffix("_fail")
    if let why = Self.unsupported(name) {
      // Not verified by Gantry: must be refused, never accepted.
      if case .success = result { Issue.record("\(name) (\(why)) was accepted") }
      return
    }
    switch result {
    case .success: #expect(!shouldFail, "\(name) should be refused but verified")
    case .failure(let e): #expect(shouldFail, "\(name) should verify: \(e)")
    }
  }
}
