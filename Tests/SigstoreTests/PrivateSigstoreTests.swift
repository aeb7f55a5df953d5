import Crypto
import Foundation
import OCI
import Sigstore
import TestSupport
import Testing

/// Every positive and negative case on a private Sigstore (TestSupport's TestSigstore): real
/// certificates, SCTs, SETs, inclusion proofs and checkpoints made with the test keys.
@Suite struct PrivateSigstoreTests {
  let pki: TestSigstore
  let root: TrustedRoot
  let id = TestSigstore.Identity.github("acme/app")
  let policy = IdentityPolicy(repository: "acme/app", workflow: ".github/workflows/release.yml")

  init() throws {
    pki = try TestSigstore()
    root = try TrustedRoot(json: try pki.trustedRootJSON(), name: "test root")
  }

  func verifyCosign(_ payload: Data, _ annotations: [String: String], root: TrustedRoot? = nil, policy: IdentityPolicy? = nil) async throws -> VerifiedSignature {
    try await BundleVerifier(root: root ?? self.root, policy: policy ?? self.policy).verify(try CosignKeyless.signatureBundle(annotations: annotations), artifact: .bytes(payload))
  }

  func refusal(_ body: () async throws -> VerifiedSignature) async -> SigstoreError? {
    do {
      _ = try await body()
      return nil
    } catch let e as SigstoreError { return e } catch { return SigstoreError(.malformed, "\(error)") }
  }

  @Test func keylessCosignSignatureVerifies() async throws {
    let payload = Data("{\"critical\":{}}".utf8)
    let v = try await verifyCosign(payload, try pki.cosignKeyless(payload, as: id))
    #expect(v.identity.subject == id.subject)
    #expect(v.identity.sourceRepositoryRef == "refs/heads/main")
    #expect(v.certificateAuthority == "https://fulcio.test")
  }

  @Test func negativeCases() async throws {
    let payload = Data("{\"critical\":{}}".utf8)
    let good = try pki.cosignKeyless(payload, as: id)
    // Tampered signature.
    let flipped = try pki.cosignKeyless(payload, as: id) { $0[$0.count / 2] ^= 1 }
    #expect(await refusal { try await verifyCosign(payload, flipped) }?.kind == .signature)
    // Another payload.
    #expect(await refusal { try await verifyCosign(Data("{}".utf8), good) }?.kind == .signature)
    // Wrong identity or issuer.
    let other = TestSigstore.Identity.github("evil/app")
    #expect(await refusal { try await verifyCosign(payload, try pki.cosignKeyless(payload, as: other)) }?.kind == .identity)
    let google = TestSigstore.Identity(subject: id.subject, issuer: "https://accounts.google.com", repository: id.repository, buildConfig: id.buildConfig)
    #expect(await refusal { try await verifyCosign(payload, try pki.cosignKeyless(payload, as: google)) }?.kind == .identity)
    // Untrusted root: another private Sigstore's root trusts neither this log nor this CA.
    let stranger = try TrustedRoot(json: try TestSigstore().trustedRootJSON(), name: "other root")
    #expect(await refusal { try await verifyCosign(payload, good, root: stranger) }?.kind == .transparencyLog)
    // No log entry: no verified time.
    var noBundle = good
    noBundle["dev.sigstore.cosign/bundle"] = nil
    #expect(await refusal { try await verifyCosign(payload, noBundle) }?.kind == .time)
    // Certificate swapped for another one of the same CA: the log entry names the first.
    var swapped = good
    swapped["dev.sigstore.cosign/certificate"] = try pki.cosignKeyless(payload, as: id)["dev.sigstore.cosign/certificate"]
    #expect(await refusal { try await verifyCosign(payload, swapped) } != nil)
  }

  @Test func signerTriggerIsChecked() async throws {
    let payload = Data("{\"critical\":{}}".utf8)
    let signed = try pki.cosignKeyless(payload, as: id)  // triggered by push
    func with(_ triggers: [String]) -> IdentityPolicy {
      IdentityPolicy(repository: "acme/app", workflow: ".github/workflows/release.yml", triggers: triggers)
    }
    _ = try await verifyCosign(payload, signed, policy: with(["push"]))
    _ = try await verifyCosign(payload, signed, policy: with(["release", "push"]))
    let e = await refusal { try await verifyCosign(payload, signed, policy: with(["release", "workflow_dispatch"])) }
    #expect(e?.kind == .identity)
    #expect(e?.message == "signed by a run triggered by 'push', not release or workflow_dispatch")
    // A certificate without the trigger extension does not satisfy a trigger policy.
    var noTrigger = id
    noTrigger.trigger = nil
    #expect(await refusal { try await verifyCosign(payload, try pki.cosignKeyless(payload, as: noTrigger), policy: with(["push"])) }?.kind == .identity)
    // Not an identity alone; not an event name.
    #expect(IdentityPolicy(triggers: ["push"]).problem != nil)
    #expect(with(["Push!"]).problem?.hasPrefix("signer-trigger 'Push!'") == true)
  }

  @Test func certificateOutsideItsValidityAtTheLogTimeIsRefused() async throws {
    let payload = Data("{}".utf8)
    let k = P256.Signing.PrivateKey()
    // Issued two hours ago (valid ten minutes); logged now.
    let cert = try pki.issue(id, key: k.publicKey, at: Date().addingTimeInterval(-7200))
    let sig = try k.signature(for: payload).derRepresentation
    let entry = try pki.logEntry(body: try TestSigstore.hashedRekordBody(sha256: Data(SHA256.hash(data: payload)), signature: sig, cert: cert), kind: "hashedrekord")
    let ann = [
      "dev.cosignproject.cosign/signature": sig.base64EncodedString(), "dev.sigstore.cosign/certificate": try TestSigstore.pem(cert),
      "dev.sigstore.cosign/chain": try TestSigstore.pem(pki.intermediate), "dev.sigstore.cosign/bundle": TestSigstore.cosignBundleAnnotation(entry),
    ]
    #expect(await refusal { try await verifyCosign(payload, ann) }?.kind == .certificate)
  }

  @Test func certificateWithoutSCTIsRefused() async throws {
    let payload = Data("{}".utf8)
    let k = P256.Signing.PrivateKey()
    let cert = try pki.issue(id, key: k.publicKey, sct: false)
    let sig = try k.signature(for: payload).derRepresentation
    let entry = try pki.logEntry(body: try TestSigstore.hashedRekordBody(sha256: Data(SHA256.hash(data: payload)), signature: sig, cert: cert), kind: "hashedrekord")
    let ann = [
      "dev.cosignproject.cosign/signature": sig.base64EncodedString(), "dev.sigstore.cosign/certificate": try TestSigstore.pem(cert),
      "dev.sigstore.cosign/bundle": TestSigstore.cosignBundleAnnotation(entry),
    ]
    let e = await refusal { try await verifyCosign(payload, ann) }
    #expect(e?.kind == .certificate)
    #expect(e?.message.contains("SCT") == true)
  }

  @Test func dsseBundleWithProvenanceVerifies() async throws {
    let digest = OCI.Digest.sha256(Data("an image manifest".utf8))
    let statement = try TestSigstore.statement(digest: digest, predicateType: Provenance.v1, predicate: TestSigstore.slsaV1(repo: "acme/app", ref: "refs/tags/v1.2.0"))
    let (_, _, bundleJSON) = try pki.attest(statement, as: id)
    let bundle = try SigstoreBundle(json: bundleJSON)
    #expect(bundle.version == .v0_3)
    let v = try await BundleVerifier(root: root, policy: policy).verify(bundle, artifact: .sha256(Data(hex: digest.hex)))
    let s = try InTotoStatement(payloadType: try #require(v.payloadType), payload: try #require(v.payload))
    let p = try Provenance(predicateType: s.predicateType, predicate: s.predicate)
    #expect(p.sourceRepository == "https://github.com/acme/app")
    #expect(p.sourceRef == "refs/tags/v1.2.0")
    try ProvenancePolicy(sourceRepository: "acme/app", sourceRef: "refs/tags/v.*").check(p)
    #expect(throws: SigstoreError.self) { try ProvenancePolicy(sourceRef: "refs/heads/.*").check(p) }
    #expect(throws: SigstoreError.self) { try ProvenancePolicy(builderID: "https://example.com/builder").check(p) }
    // The statement is about another digest.
    let e = await refusal { try await BundleVerifier(root: root, policy: policy).verify(bundle, artifact: .sha256(Data(repeating: 7, count: 32))) }
    #expect(e?.kind == .attestation)
  }

  @Test func provenanceV02IsRead() throws {
    let v02 = try FixtureFiles.data("sigstore-python/slsa_predicate_v0_2.json")
    let p = try Provenance(predicateType: Provenance.v02, predicate: v02)
    #expect(p.builderID == "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.0.0")
    #expect(p.sourceRepository == "https://github.com/sigstore/sigstore-python")
    #expect(p.sourceRef == "refs/tags/v3.2.0")
    let v1 = try FixtureFiles.data("sigstore-python/slsa_predicate_v1_0.json")
    let p1 = try Provenance(predicateType: Provenance.v1, predicate: v1)
    #expect(p1.builderID != nil)
  }
}

extension Data {
  init(hex: String) {
    var d = Data()
    var i = hex.startIndex
    while i < hex.endIndex, let j = hex.index(i, offsetBy: 2, limitedBy: hex.endIndex) {
      d.append(UInt8(hex[i..<j], radix: 16) ?? 0)
      i = j
    }
    self = d
  }
}
