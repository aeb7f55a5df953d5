import Crypto
import Foundation
import Sigstore
import TestSupport
import Testing

/// RFC 3161 timestamps in bundles, on the private Sigstore's timestamp authority
/// (TestSupport's TestTimestampAuthority): real tokens, each way to get one wrong refused.
@Suite struct TimestampTests {
  let pki: TestSigstore
  let root: TrustedRoot
  let id = TestSigstore.Identity.github("acme/app")
  let policy = IdentityPolicy(repository: "acme/app", workflow: ".github/workflows/release.yml")
  let artifact = Data("release notes".utf8)

  init() throws {
    pki = try TestSigstore()
    root = try TrustedRoot(json: try pki.trustedRootJSON(), name: "test root")
  }

  func verify(_ bundleJSON: Data, root: TrustedRoot? = nil) async throws -> VerifiedSignature {
    try await BundleVerifier(root: root ?? self.root, policy: policy).verify(try SigstoreBundle(json: bundleJSON), artifact: .bytes(artifact))
  }

  func refusal(_ bundleJSON: Data, root: TrustedRoot? = nil) async -> SigstoreError? {
    do {
      _ = try await verify(bundleJSON, root: root)
      return nil
    } catch let e as SigstoreError { return e } catch { return SigstoreError(.malformed, "\(error)") }
  }

  /// A bundle dated only by a timestamp (no SET: a Rekor v2 style entry) made with `o`.
  func stampedOnly(_ o: TestTimestampAuthority.Options = .init(), tsa: TestTimestampAuthority? = nil) throws -> Data {
    let authority = tsa ?? pki.tsa
    return try pki.messageBundle(artifact, as: id, set: false) { sig in [try authority.timestamp(over: sig, o)] }
  }

  @Test func timestampIsAVerifiedTime() async throws {
    let genTime = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 20).rounded(.down))
    // Alone (no SET): the timestamp is the only verified time, and it is enough.
    let v = try await verify(try stampedOnly(.init(genTime: genTime)))
    #expect(v.time == genTime)
    // With the log's SET as well: both times verify, the earliest is reported.
    let both = try pki.messageBundle(artifact, as: id) { sig in [try pki.tsa.timestamp(over: sig, .init(genTime: genTime))] }
    #expect(try await verify(both).time <= genTime)
    // A bare TimeStampToken (ContentInfo) instead of a TimeStampResp; no embedded certificates
    // (the signer then comes from the trusted root's timestamp authority).
    _ = try await verify(try stampedOnly(.init(tokenOnly: true)))
    _ = try await verify(try stampedOnly(.init(embedCertificates: false)))
  }

  @Test func badTimestampsAreRefused() async throws {
    // Tampered token: the last byte is inside the signature.
    let tampered = try pki.messageBundle(artifact, as: id, set: false) { sig in
      var t = try pki.tsa.timestamp(over: sig)
      t[t.count - 1] ^= 1
      return [t]
    }
    #expect(await refusal(tampered)?.kind == .signature)
    // The imprint is not the hash of this signature.
    #expect(await refusal(try stampedOnly(.init(imprint: Data(repeating: 1, count: 32))))?.kind == .time)
    // The signed messageDigest is not the TSTInfo's digest.
    #expect(await refusal(try stampedOnly(.init(wrongMessageDigest: true)))?.kind == .signature)
    // A timestamp authority the trusted root does not list, with and without its certificates.
    let stranger = try TestSigstore().tsa
    #expect(await refusal(try stampedOnly(tsa: stranger))?.kind == .time)
    #expect(await refusal(try stampedOnly(.init(embedCertificates: false), tsa: stranger))?.kind == .time)
    // genTime outside the TSA certificate's validity.
    let expired = try pki.tsa.signer(from: Date().addingTimeInterval(-7200), until: Date().addingTimeInterval(-3600))
    #expect(await refusal(try stampedOnly(.init(signer: expired)))?.kind == .time)
    // genTime outside the trusted root's validFor for the authority.
    let closed = try TrustedRoot(json: try pki.trustedRootJSON(tsaValidFor: ["start": "2020-01-01T00:00:00Z", "end": "2021-01-01T00:00:00Z"]), name: "closed TSA")
    let outside = await refusal(try stampedOnly(), root: closed)
    #expect(outside?.kind == .time)
    #expect(outside?.message.contains("not valid at") == true)
    // No timeStamping EKU, or not critical.
    let noEKU = try pki.tsa.signer(usage: .none, from: Date().addingTimeInterval(-3600), until: Date().addingTimeInterval(3600))
    #expect(await refusal(try stampedOnly(.init(signer: noEKU)))?.kind == .certificate)
    let softEKU = try pki.tsa.signer(usage: .nonCriticalTimeStamping, from: Date().addingTimeInterval(-3600), until: Date().addingTimeInterval(3600))
    #expect(await refusal(try stampedOnly(.init(signer: softEKU)))?.kind == .certificate)
    // genTime in the future.
    #expect(await refusal(try stampedOnly(.init(genTime: Date().addingTimeInterval(3600))))?.kind == .time)
    // A bad timestamp next to a good SET is still refused (not silently ignored).
    let withSET = try pki.messageBundle(artifact, as: id) { sig in [try pki.tsa.timestamp(over: sig, .init(imprint: Data(repeating: 1, count: 32)))] }
    #expect(await refusal(withSET)?.kind == .time)
    // The same token twice.
    let twice = try pki.messageBundle(artifact, as: id, set: false) { sig in
      let t = try pki.tsa.timestamp(over: sig)
      return [t, t]
    }
    #expect(await refusal(twice) != nil)
  }

  @Test func bundleWhoseOnlyTimeCannotBeVerifiedIsRefused() async throws {
    // No SET and no timestamp: nothing dates the signature.
    let none = await refusal(try pki.messageBundle(artifact, as: id, set: false))
    #expect(none?.kind == .time)
    #expect(none?.message.contains("no verified signing time") == true)
    // No SET and a timestamp from an authority the root does not trust.
    #expect(await refusal(try stampedOnly(tsa: try TestSigstore().tsa)) != nil)
    // A root without timestamp authorities cannot verify any timestamp.
    var doc = try #require(try JSONSerialization.jsonObject(with: try pki.trustedRootJSON()) as? [String: Any])
    doc["timestampAuthorities"] = nil
    let noTSA = try TrustedRoot(json: try JSONSerialization.data(withJSONObject: doc), name: "no TSA")
    #expect(await refusal(try stampedOnly(), root: noTSA)?.kind == .time)
  }

  @Test func timestampOutsideTheSigningCertificateIsRefused() async throws {
    // The certificate was valid for ten minutes two hours ago; the TSA dates the signature now.
    let late = try pki.messageBundle(artifact, as: id, certAt: Date().addingTimeInterval(-7200), set: false) { sig in [try pki.tsa.timestamp(over: sig)] }
    #expect(await refusal(late)?.kind == .certificate)
  }

  @Test func realTokenIsParsedExactly() throws {
    // sigstore-conformance's intoto-with-custom-trust-root carries a token from a mock TSA.
    let json = try FixtureFiles.data("conformance/intoto-with-custom-trust-root/bundle.sigstore.json")
    let stamp = try RFC3161Timestamp(der: try #require(try SigstoreBundle(json: json).rfc3161Timestamps.first))
    #expect(stamp.genTime == Date(timeIntervalSince1970: 1_675_209_600))  // 2023-02-01T00:00:00Z
    #expect(stamp.serialNumber == Data([0xDE, 0xAD, 0xBE, 0xEF]))
    #expect(stamp.nonce == Data([0x49, 0x96, 0x02, 0xD2]))
    #expect(stamp.imprintAlgorithm == .sha256)
    #expect(stamp.digestAlgorithm == .sha256)
    #expect(stamp.certificates.isEmpty)
    #expect(stamp.signingCertificateHash?.algorithm == .sha256)
  }

  @Test func hostileTokensAreRefusedByTheParser() throws {
    let sig = Data("a signature".utf8)
    let good = try pki.tsa.timestamp(over: sig)
    _ = try RFC3161Timestamp(der: good)
    // Oversized, truncated, trailing bytes, empty.
    #expect(throws: SigstoreError.self) { try RFC3161Timestamp(der: Data(repeating: 0x30, count: RFC3161Timestamp.maxSize + 1)) }
    #expect(throws: SigstoreError.self) { try RFC3161Timestamp(der: good.prefix(good.count - 1)) }
    #expect(throws: SigstoreError.self) { try RFC3161Timestamp(der: good + Data([0])) }
    #expect(throws: SigstoreError.self) { try RFC3161Timestamp(der: Data()) }
    // Every single-byte truncation or flip either parses or throws: never traps.
    for i in stride(from: 0, to: good.count, by: 7) {
      var flipped = good
      flipped[i] ^= 0x5A
      _ = try? RFC3161Timestamp(der: flipped)
    }
  }
}

/// GitHub's own Sigstore instance (private repositories): no transparency log and no CT log in
/// its trusted root, so a bundle is dated by its RFC 3161 timestamp alone. The fixture is
/// sigstore-go's example from GitHub's staging instance (Tests/Fixtures/sigstore/sigstore-go).
@Suite struct GitHubInstanceTests {
  static let root: TrustedRoot = {
    do { return try TrustedRoot(json: try FixtureFiles.data("sigstore-go/trusted-root-github-staging.json"), name: "GitHub staging") } catch { fatalError("\(error)") }
  }()
  let policy = IdentityPolicy(identity: "cody@soyland.com", issuer: "https://github.com/login/oauth")

  func bundle(_ edit: (inout [String: Any]) -> Void = { _ in }) throws -> SigstoreBundle {
    var doc = try #require(try JSONSerialization.jsonObject(with: try FixtureFiles.data("sigstore-go/bundle-github-staging.json")) as? [String: Any])
    edit(&doc)
    return try SigstoreBundle(json: try JSONSerialization.data(withJSONObject: doc))
  }

  @Test func timestampOnlyBundleVerifiesAgainstGitHubsRoot() async throws {
    let v = try await BundleVerifier(root: Self.root, policy: policy).verify(try bundle(), artifact: .none)
    #expect(v.time == Date(timeIntervalSince1970: 1_684_267_129))  // 2023-05-16T19:58:49Z
    #expect(v.identity.subject == "cody@soyland.com")
    #expect(v.logIndices.isEmpty)
    #expect(v.certificateAuthority == "https://fulcio-staging.service.iad.github.net/")
  }

  @Test func withoutItsTimestampOrAgainstALoggedRootItIsRefused() async throws {
    // No timestamp: nothing dates it.
    let bare = try bundle { doc in
      var vm = doc["verificationMaterial"] as? [String: Any] ?? [:]
      vm["timestampVerificationData"] = nil
      doc["verificationMaterial"] = vm
    }
    let none = await refusal { try await BundleVerifier(root: Self.root, policy: policy).verify(bare, artifact: .none) }
    #expect(none?.message.contains("no verified signing time") == true)
    // Against public-good: GitHub's TSA is not trusted there.
    let publicGood = await refusal { try await BundleVerifier(root: FixtureFiles.publicGood, policy: policy).verify(try bundle(), artifact: .none) }
    #expect(publicGood?.kind == .time)
    // A root that lists transparency logs requires a log entry, even with a good timestamp.
    var doc = try #require(try JSONSerialization.jsonObject(with: try FixtureFiles.data("sigstore-go/trusted-root-github-staging.json")) as? [String: Any])
    let publicGoodDoc = try #require(try JSONSerialization.jsonObject(with: try FixtureFiles.data("sigstore-python/staging_trusted_root.json")) as? [String: Any])
    doc["tlogs"] = publicGoodDoc["tlogs"]
    let withLogs = try TrustedRoot(json: try JSONSerialization.data(withJSONObject: doc), name: "GitHub staging with logs")
    let logged = await refusal { try await BundleVerifier(root: withLogs, policy: policy).verify(try bundle(), artifact: .none) }
    #expect(logged?.message.contains("no transparency log entry") == true)
    // Another identity.
    let other = await refusal {
      try await BundleVerifier(root: Self.root, policy: IdentityPolicy(identity: "x@example.com", issuer: "https://github.com/login/oauth")).verify(try bundle(), artifact: .none)
    }
    #expect(other?.kind == .identity)
  }

  func refusal(_ body: () async throws -> VerifiedSignature) async -> SigstoreError? {
    do {
      _ = try await body()
      return nil
    } catch let e as SigstoreError { return e } catch { return SigstoreError(.malformed, "\(error)") }
  }
}
