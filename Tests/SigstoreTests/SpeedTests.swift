import Foundation
import Sigstore
import Testing

/// How long verifying one real bundle offline takes (the budget: 20 ms per promote).
@Suite struct SpeedTests {
  @Test func verifyingARealBundleIsFast() async throws {
    let bundle = try SigstoreBundle(json: try FixtureFiles.data("sigstore-python/bundle_v3_github.whl.sigstore"))
    let artifact = try FixtureFiles.data("sigstore-python/bundle_v3_github.whl")
    let verifier = BundleVerifier(root: FixtureFiles.publicGood, policy: IdentityPolicy(repository: "trailofbits/rfc8785.py"))
    _ = try await verifier.verify(bundle, artifact: .bytes(artifact))
    let clock = ContinuousClock()
    let runs = 20
    let start = clock.now
    for _ in 0..<runs { _ = try await verifier.verify(bundle, artifact: .bytes(artifact)) }
    let each = (clock.now - start) / runs
    print("one offline bundle verification: \(each)")
    // A generous bound (debug build, shared cores): a regression to network-like times fails.
    #expect(each < .milliseconds(200))
  }

  @Test func verifyingATimestampedRekorV2BundleIsFast() async throws {
    let dir = "conformance/rekor2-happy-path"
    let bundle = try SigstoreBundle(json: try FixtureFiles.data("\(dir)/bundle.sigstore.json"))
    let root = try TrustedRoot(json: try FixtureFiles.data("\(dir)/trusted_root.json"), name: "staging")
    let verifier = BundleVerifier(root: root, policy: IdentityPolicy(identity: ConformanceTests.defaultIdentity, issuer: ConformanceTests.defaultIssuer))
    let artifact = try FixtureFiles.data("conformance/a.txt")
    _ = try await verifier.verify(bundle, artifact: .bytes(artifact))
    let clock = ContinuousClock()
    let runs = 20
    let start = clock.now
    for _ in 0..<runs { _ = try await verifier.verify(bundle, artifact: .bytes(artifact)) }
    let each = (clock.now - start) / runs
    print("one offline verification of a bundle with an RFC 3161 timestamp: \(each)")
    #expect(each < .milliseconds(200))
  }
}
