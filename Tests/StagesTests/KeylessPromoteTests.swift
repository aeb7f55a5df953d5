import ActionsCore
import Foundation
import OCI
import Sigstore
import TestSupport
import Testing

@testable import Stages

/// Keyless signatures and attestations through `promote`, against real registries, signed by a
/// private Sigstore (TestSupport's TestSigstore) whose trusted root is given as `trusted-root`.
@Suite("keyless signatures and provenance through promote, against real registries", .serialized)
struct KeylessPromoteTests {
  let staging: RegistryProcess
  let production: RegistryProcess
  let src: RegistryClient
  let dst: RegistryClient
  let pki: TestSigstore
  let rootPath: String
  var factory: ImageFactory { ImageFactory(client: src, repository: "app") }
  let release = TestSigstore.Identity.github("acme/app", ref: "refs/tags/v1.2.0")

  init() async throws {
    (staging, production, src, dst, pki, rootPath) = try await KeylessFixture.make()
  }

  func promote(_ tag: String, _ extra: [String: String] = [:], log: MemoryLogSink = MemoryLogSink()) async throws -> StageResult {
    let env = [
      "INPUT_SOURCE": "\(staging.host)/app:\(tag)", "INPUT_TARGET": "\(production.host)/app", "INPUT_TRUSTED-ROOT": rootPath, "INPUT_SIGNER-REPOSITORY": "acme/app",
    ]
    return try await runStage(PromoteStage.self, env.merging(extra) { $1 }, log: log)
  }

  func signKeyless(_ image: RawManifest, as id: TestSigstore.Identity, payloadDigest: Digest? = nil) async throws {
    let payload = CosignSigner.payload(digest: (payloadDigest ?? image.digest).description, reference: "\(staging.host)/app")
    try await CosignSigner.attach(factory, to: image.digest, suffix: .signature, layer: payload, mediaType: Cosign.simpleSigning, annotations: try pki.cosignKeyless(payload, as: id))
  }

  @Test func goodKeylessSignaturePromotes() async throws {
    let image = try await factory.pushImage(tag: "good")
    try await signKeyless(image, as: release)
    let r = try await promote("good", ["INPUT_REQUIRE-SIGNATURE": "true", "INPUT_SIGNER-WORKFLOW": ".github/workflows/release.yml"])
    #expect(r.failure == nil)
    #expect(r.outputs["signature"] == "verified")
    #expect(try await dst.resolve("app", "good")?.digest == image.digest)
    let md = r.summary.render()
    #expect(md.contains("keyless identity https\\://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.0"))
  }

  @Test func signerTriggerIsChecked() async throws {
    let image = try await factory.pushImage(tag: "trigger")
    try await signKeyless(image, as: release)  // a push-triggered run
    let wrong = try await promote("trigger", ["INPUT_REQUIRE-SIGNATURE": "true", "INPUT_SIGNER-TRIGGER": "release, workflow_dispatch"])
    #expect(wrong.failure?.contains("triggered by 'push', not release or workflow_dispatch") == true)
    #expect(try await dst.resolve("app", "trigger") == nil)
    await #expect(throws: InputError.self) { try await promote("trigger", ["INPUT_SIGNER-TRIGGER": "on push"]) }
    let r = try await promote("trigger", ["INPUT_REQUIRE-SIGNATURE": "true", "INPUT_SIGNER-TRIGGER": "push"])
    #expect(r.outputs["signature"] == "verified")
    #expect(try await dst.resolve("app", "trigger")?.digest == image.digest)
  }

  @Test func signerRefIsChecked() async throws {
    let image = try await factory.pushImage(tag: "ref")
    try await signKeyless(image, as: TestSigstore.Identity.github("acme/app", ref: "refs/heads/try-this"))
    let wrong = try await promote("ref", ["INPUT_REQUIRE-SIGNATURE": "true", "INPUT_SIGNER-REF": "refs/tags/v.*"])
    #expect(wrong.failure?.contains("signed by a run of ref 'refs/heads/try-this', not matching 'refs/tags/v.*'") == true, "\(wrong.failure ?? "")")
    #expect(try await dst.resolve("app", "ref") == nil)
    do {
      _ = try await promote("ref", ["INPUT_REQUIRE-SIGNATURE": "true", "INPUT_SIGNER-REF": "refs/tags/(v"])
      Issue.record("a signer-ref that does not compile was accepted")
    } catch let e as InputError {
      #expect(e.input == "signer-ref", "\(e)")
    }
    try await signKeyless(image, as: release)
    let r = try await promote("ref", ["INPUT_REQUIRE-SIGNATURE": "true", "INPUT_SIGNER-REF": "refs/tags/v.*"])
    #expect(r.outputs["signature"] == "verified", "\(r.failure ?? "")")
    #expect(try await dst.resolve("app", "ref")?.digest == image.digest)
  }

  @Test func wrongIdentityIsRefusedAndNothingMoves() async throws {
    let image = try await factory.pushImage(tag: "evil")
    try await signKeyless(image, as: TestSigstore.Identity.github("evil/app"))
    let r = try await promote("evil", ["INPUT_REQUIRE-SIGNATURE": "true"])
    #expect(r.failure?.contains("signed from repository 'https://github.com/evil/app', not https://github.com/acme/app") == true)
    #expect(try await dst.resolve("app", "evil") == nil)
    #expect(try await dst.blobSize("app", image.digest) == nil)
  }

  @Test func signatureOverAnotherDigestIsRefused() async throws {
    let image = try await factory.pushImage(tag: "replayed")
    let other = try await factory.pushImage(tag: nil)
    try await signKeyless(image, as: release, payloadDigest: other.digest)
    let r = try await promote("replayed", ["INPUT_REQUIRE-SIGNATURE": "true"])
    #expect(r.failure?.contains("payload signs \(other.digest), not \(image.digest)") == true)
    #expect(try await dst.resolve("app", "replayed") == nil)
  }

  @Test func keylessWithoutAnIdentityPolicyIsBadInput() async throws {
    _ = try await factory.pushImage(tag: "nopolicy")
    for extra in [["INPUT_REQUIRE-PROVENANCE": "true"], ["INPUT_REQUIRE-SIGNATURE": "true"], ["INPUT_CERTIFICATE-IDENTITY": "someone"]] {
      var env = ["INPUT_SOURCE": "\(staging.host)/app:nopolicy", "INPUT_TARGET": "\(production.host)/app", "INPUT_TRUSTED-ROOT": rootPath]
      env.merge(extra) { $1 }
      await #expect(throws: InputError.self) { try await runStage(PromoteStage.self, env) }
    }
    await #expect(throws: InputError.self) { try await promote("nopolicy", ["INPUT_TRUSTED-ROOT": "/nonexistent/root.json"]) }
    await #expect(throws: InputError.self) { try await promote("nopolicy", ["INPUT_POLICY-MODE": "lenient"]) }
    #expect(try await dst.resolve("app", "nopolicy") == nil)
  }

  @Test func provenanceBundleReferrerIsVerified() async throws {
    let image = try await factory.pushImage(tag: "prov")
    let statement = try TestSigstore.statement(digest: image.digest, predicateType: Provenance.v1, predicate: TestSigstore.slsaV1(repo: "acme/app", ref: "refs/tags/v1.2.0"))
    let (_, _, bundle) = try pki.attest(statement, as: release)
    let bundleType = "application/vnd.dev.sigstore.bundle.v0.3+json"
    try await CosignSigner.attachReferrer(factory, to: image, artifactType: bundleType, content: bundle, layerMediaType: bundleType)
    let inputs = ["INPUT_REQUIRE-PROVENANCE": "true", "INPUT_PROVENANCE-SOURCE-REPOSITORY": "acme/app", "INPUT_PROVENANCE-SOURCE-REF": "refs/tags/v.*"]
    let r = try await promote("prov", inputs)
    #expect(r.failure == nil)
    #expect(r.outputs["provenance"] == "verified")
    #expect(r.summary.render().contains("| provenance | ✓ |"))
    #expect(try await dst.resolve("app", "prov")?.digest == image.digest)
    // The same attestation against a stricter ref pattern: refused.
    let strict = try await promote("prov", inputs.merging(["INPUT_PROVENANCE-SOURCE-REF": "refs/heads/main"]) { $1 })
    #expect(strict.failure?.contains("provenance source ref 'refs/tags/v1.2.0' does not match 'refs/heads/main'") == true)
  }

  @Test func attestationOfAnotherDigestDoesNotCount() async throws {
    let image = try await factory.pushImage(tag: "otherprov")
    let other = try await factory.pushImage(tag: nil)
    let statement = try TestSigstore.statement(digest: other.digest, predicateType: Provenance.v1, predicate: TestSigstore.slsaV1(repo: "acme/app"))
    let (_, _, bundle) = try pki.attest(statement, as: release)
    let bundleType = "application/vnd.dev.sigstore.bundle.v0.3+json"
    try await CosignSigner.attachReferrer(factory, to: image, artifactType: bundleType, content: bundle, layerMediaType: bundleType)
    let r = try await promote("otherprov", ["INPUT_REQUIRE-PROVENANCE": "true"])
    #expect(r.failure?.contains("no verified SLSA provenance attestation") == true)
    #expect(r.failure?.contains("no subject of the in-toto statement") == true)
    #expect(try await dst.resolve("app", "otherprov") == nil)
  }

  @Test func cosignAttestationsSatisfyRequiredTypes() async throws {
    let image = try await factory.pushImage(tag: "att")
    let scan = "https://example.com/vuln-scan/v1"
    let statement = try TestSigstore.statement(digest: image.digest, predicateType: scan, predicate: ["result": "clean"], v01: true)
    let (envelope, annotations, _) = try pki.attest(statement, as: release)
    try await CosignSigner.attach(factory, to: image.digest, suffix: .attestation, layer: envelope, mediaType: Cosign.dsse, annotations: annotations)
    let r = try await promote("att", ["INPUT_REQUIRE-ATTESTATIONS": scan])
    #expect(r.failure == nil)
    #expect(r.summary.render().contains("| attestations | ✓ | verified: \(Markdown.text(scan))"))
    let missing = try await promote("att", ["INPUT_REQUIRE-ATTESTATIONS": "\(scan)\nhttps://spdx.dev/Document"])
    #expect(missing.failure?.contains("no verified attestation of type https://spdx.dev/Document") == true)
  }

  @Test func auditModeWarnsAndPromotes() async throws {
    let image = try await factory.pushImage(tag: "audit")
    try await signKeyless(image, as: TestSigstore.Identity.github("evil/app"))
    let log = MemoryLogSink()
    let r = try await promote("audit", ["INPUT_REQUIRE-SIGNATURE": "true", "INPUT_REQUIRE-PROVENANCE": "true", "INPUT_POLICY-MODE": "audit"], log: log)
    #expect(r.failure == nil)
    #expect(try await dst.resolve("app", "audit")?.digest == image.digest)
    #expect(r.outputs["signature"] == "unverified")
    #expect(r.outputs["provenance"] == "unverified")
    let warnings = log.lines.filter { $0.hasPrefix("::warning") }
    #expect(warnings.contains { $0.contains("signature:") && $0.contains("policy-mode audit") })
    #expect(warnings.contains { $0.contains("provenance:") })
  }

  @Test func verifyDigestReverifiesAtTheTarget() async throws {
    let image = try await factory.pushImage(tag: "carried")
    try await signKeyless(image, as: release)
    let statement = try TestSigstore.statement(digest: image.digest, predicateType: Provenance.v1, predicate: TestSigstore.slsaV1(repo: "acme/app", ref: "refs/tags/v1.2.0"))
    let (_, _, bundle) = try pki.attest(statement, as: release)
    let bundleType = "application/vnd.dev.sigstore.bundle.v0.3+json"
    try await CosignSigner.attachReferrer(factory, to: image, artifactType: bundleType, content: bundle, layerMediaType: bundleType)
    let gates = ["INPUT_REQUIRE-SIGNATURE": "true", "INPUT_REQUIRE-PROVENANCE": "true", "INPUT_PROVENANCE-SOURCE-REPOSITORY": "acme/app"]
    let promoted = try await promote("carried", gates)
    #expect(promoted.failure == nil)
    let verify = [
      "INPUT_SOURCE": "\(staging.host)/app:carried", "INPUT_TARGET": "\(production.host)/app:carried", "INPUT_TRUSTED-ROOT": rootPath, "INPUT_SIGNER-REPOSITORY": "acme/app",
      "INPUT_REQUIRE-PROVENANCE": "true",
    ]
    let r = try await runStage(VerifyDigestStage.self, verify)
    #expect(r.failure == nil)
    #expect(r.outputs["match"] == "true")
    #expect(r.outputs["signature"] == "verified")
    #expect(r.outputs["provenance"] == "verified")
    // The heading's reference is a code span (it was escaped into literal backticks).
    #expect(r.summary.render().contains("### Signatures and attestations at `\(production.host)/app:carried`"))
    // Promoted without its artifacts: the target has the image but nothing that verifies.
    let bare = try await factory.pushImage(tag: "bare")
    try await signKeyless(bare, as: release)
    #expect(try await promote("bare", ["INPUT_REQUIRE-SIGNATURE": "true", "INPUT_COPY-ARTIFACTS": "false"]).failure == nil)
    var env = verify
    env["INPUT_SOURCE"] = "\(staging.host)/app:bare"
    env["INPUT_TARGET"] = "\(production.host)/app:bare"
    let missing = try await runStage(VerifyDigestStage.self, env)
    #expect(missing.outputs["match"] == "true")
    #expect(missing.failure?.contains("signature does not verify at \(production.host)/app:bare") == true)
  }
}
