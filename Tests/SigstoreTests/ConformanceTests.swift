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
  /// through cosign-public-key).
  static func unsupported(_ name: String) -> String? {
    if FixtureFiles.exists("conformance/\(name)/key.pub") { return "managed key, not keyless" }
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

  /// The timestamp and Rekor v2 cases are refused for the reason their README gives, not by
  /// accident (an unsupported algorithm or encoding would refuse them too).
  @Test(arguments: [
    ("rekor2-timestamp-outside-trust-root-tsa-validity_fail", "not valid at"),
    ("rekor2-timestamp-outside-tsa-cert-validity_fail", "does not chain to a timestamp authority"),
    ("rekor2-timestamp-payload-mismatch_fail", "for another signature"),
    ("rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail", "neither embedded nor a timestamp authority"),
    ("rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail", "does not chain to a timestamp authority"),
    ("rekor2-timestamp-with-incorrect-time_fail", "signing certificate does not chain"),
    ("intoto-tsa-timestamp-outside-cert-validity_fail", "signing certificate does not chain"),
    ("rekor2-no-timestamp_fail", "no verified signing time"),
    ("rekor2-dsse-mismatch-envelope_fail", "records another artifact"),
    ("rekor2-dsse-mismatch-sig_fail", "records another signature"),
  ])
  func refusedForItsReason(_ name: String, _ reason: String) async {
    guard case .failure(let e) = await Self.verdict(name) else {
      Issue.record("\(name) verified")
      return
    }
    #expect(e.message.contains(reason), "\(name): \(e.message)")
  }

  @Test func rekorV2BundleDatedByItsTimestampVerifies() async throws {
    let v = try await Self.verdict("rekor2-happy-path").get()
    #expect(v.time == Date(timeIntervalSince1970: 1_749_729_740))
  }
}
