import ActionsCore
import Foundation
import OCI
import TestSupport
import Testing

@testable import Stages

@Suite("cosign signatures and carried artifacts, against real registries", .serialized)
struct SupplyChainTests {
  let staging: RegistryProcess
  let production: RegistryProcess
  let src: RegistryClient
  let dst: RegistryClient
  let signer = CosignSigner()
  var factory: ImageFactory { ImageFactory(client: src, repository: "app") }

  init() async throws {
    staging = try await RegistryProcess()
    production = try await RegistryProcess()
    src = testRegistryClient(staging.host, side: "source")
    dst = testRegistryClient(production.host)
  }

  func promote(_ tag: String, key: String?, required: Bool = true, extra: [String: String] = [:]) async throws -> StageResult {
    var env = ["INPUT_SOURCE": "\(staging.host)/app:\(tag)", "INPUT_TARGET": "\(production.host)/app", "INPUT_REQUIRE-SIGNATURE": String(required)]
    if let key { env["INPUT_COSIGN-PUBLIC-KEY"] = key }
    return try await runStage(PromoteStage.self, env.merging(extra) { $1 })
  }

  @Test func validSignatureIsVerifiedAndCarriedWithTheSameDigest() async throws {
    let image = try await factory.pushImage(tag: "signed")
    let sig = try await signer.attachSignature(factory, to: image.digest, reference: "\(staging.host)/app")
    let r = try await promote("signed", key: signer.publicKeyPEM)
    #expect(r.failure == nil)
    #expect(r.outputs["signature"] == "verified")
    #expect(r.outputs["artifacts-copied"] == "1")
    #expect(try await dst.resolve("app", Cosign.tag(image.digest, .signature))?.digest == sig.digest)
    let md = r.summary.render()
    #expect(md.contains("| signature | ✓ | verified with key 1"))
    #expect(md.contains("identity \(staging.host)/app"))
    #expect(md.contains("| `\(Cosign.tag(image.digest, .signature)) layer 1` | ✓ verified |"))
  }

  @Test func wrongKeyIsRefusedBeforeAnyCopy() async throws {
    let image = try await factory.pushImage(tag: "other-key")
    try await CosignSigner().attachSignature(factory, to: image.digest, reference: "x")
    let r = try await promote("other-key", key: signer.publicKeyPEM)
    #expect(r.failure?.contains("signature does not verify with key 1") == true)
    #expect(r.summary.render().contains("| signature | ✗ |"))
    #expect(try await dst.resolve("app", "other-key") == nil)
    #expect(try await dst.blobSize("app", image.digest) == nil)
    #expect(try await dst.tags("app").isEmpty)
  }

  @Test func payloadNamingAnotherDigestIsRefused() async throws {
    let image = try await factory.pushImage(tag: "swapped")
    let other = try await factory.pushImage(tag: nil)
    // A genuine signature, but of another image, replayed under this image's .sig tag.
    try await signer.attachSignature(factory, to: image.digest, reference: "x", payload: CosignSigner.payload(digest: other.digest.description, reference: "x"))
    let r = try await promote("swapped", key: signer.publicKeyPEM)
    #expect(r.failure?.contains("payload signs \(other.digest), not \(image.digest)") == true)
    #expect(try await dst.resolve("app", "swapped") == nil)
  }

  @Test func tamperedPayloadIsRefused() async throws {
    let image = try await factory.pushImage(tag: "tampered")
    let genuine = CosignSigner.payload(digest: image.digest.description, reference: "registry.example/app")
    let edited = CosignSigner.payload(digest: image.digest.description, reference: "evil.example/app")
    try await signer.attachSignature(factory, to: image.digest, reference: "x", payload: edited, signature: signer.sign(genuine))
    let r = try await promote("tampered", key: signer.publicKeyPEM)
    #expect(r.failure?.contains("does not verify") == true)
    #expect(try await dst.resolve("app", "tampered") == nil)
  }

  @Test func unsignedIsRefusedWhenRequiredAndReportedWhenNot() async throws {
    let image = try await factory.pushImage(tag: "unsigned")
    let refused = try await promote("unsigned", key: signer.publicKeyPEM)
    #expect(refused.failure?.contains("no cosign signature found for \(image.digest.short)") == true)
    #expect(try await dst.resolve("app", "unsigned") == nil)

    let allowed = try await promote("unsigned", key: signer.publicKeyPEM, required: false)
    #expect(allowed.failure == nil)
    #expect(allowed.outputs["signature"] == "unsigned")
    #expect(allowed.summary.render().contains("| signature | ✓ | no cosign signature found"))
    #expect(try await dst.resolve("app", "unsigned")?.digest == image.digest)
  }

  @Test func keylessOnlyIsExplained() async throws {
    let image = try await factory.pushImage(tag: "keyless")
    let other = CosignSigner()
    try await other.attachSignature(factory, to: image.digest, reference: "x", annotations: [Cosign.certificateAnnotation: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"])
    let r = try await promote("keyless", key: signer.publicKeyPEM)
    #expect(r.failure?.contains("only signatures the given inputs cannot verify") == true)
    #expect(r.failure?.contains("keyless signature (Fulcio certificate): set certificate-identity") == true)
  }

  @Test func sigstoreBundlesAreReportedNotAccepted() async throws {
    let image = try await factory.pushImage(tag: "bundle")
    try await CosignSigner.attachReferrer(
      factory, to: image, artifactType: "application/vnd.dev.sigstore.bundle.v0.3+json", content: Data(#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}"#.utf8))
    let r = try await promote("bundle", key: signer.publicKeyPEM)
    #expect(r.failure?.contains("only signatures the given inputs cannot verify") == true)
    #expect(r.failure?.contains("sigstore bundle: set certificate-identity") == true)
    #expect(try await dst.resolve("app", "bundle") == nil)
  }

  @Test func attestationSBOMAndReferrersTravelWithTheIndex() async throws {
    let (index, images) = try await factory.pushIndex(tag: "multi", platforms: [Platform(os: "linux", architecture: "amd64"), Platform(os: "linux", architecture: "arm64")])
    let sig = try await signer.attachSignature(factory, to: index.digest, reference: "app")
    let platformSig = try await signer.attachSignature(factory, to: images[1].digest, reference: "app")
    let att = try await CosignSigner.attach(
      factory, to: index.digest, suffix: .attestation, layer: Data(#"{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}"#.utf8), mediaType: Cosign.dsse)
    let sbom = try await CosignSigner.attach(factory, to: index.digest, suffix: .sbom, layer: Data(#"{"spdxVersion":"SPDX-2.3"}"#.utf8), mediaType: "text/spdx+json")
    let referrer = try await CosignSigner.attachReferrer(factory, to: index, artifactType: "application/vnd.example.sbom+json", content: Data(#"{"sbom":true}"#.utf8))
    // The target already has a signature of its own for this image: it must survive.
    let targetSigner = CosignSigner()
    let targetSig = try await targetSigner.attachSignature(ImageFactory(client: dst, repository: "app"), to: index.digest, reference: "prod")

    let r = try await promote("multi", key: "\(signer.publicKeyPEM)\n\(targetSigner.publicKeyPEM)")
    #expect(r.failure == nil)
    #expect(r.outputs["artifacts-copied"] == "5")
    for (tag, manifest) in [(Cosign.tag(index.digest, .attestation), att), (Cosign.tag(index.digest, .sbom), sbom), (Cosign.tag(images[1].digest, .signature), platformSig)] {
      #expect(try await dst.resolve("app", tag)?.digest == manifest.digest)
    }
    #expect(try await dst.resolve("app", referrer.digest.description)?.digest == referrer.digest)
    let fallback = try await dst.manifest("app", Cosign.referrersTag(index.digest))
    guard case .index(let listed, _) = fallback.content else { Issue.record("fallback tag is not an index"); return }
    #expect(listed.map(\.digest) == [referrer.digest])
    #expect(listed.first?.artifactType == "application/vnd.example.sbom+json")
    // Merged: the target's signature layer first, ours appended; both verify.
    let merged = try await dst.manifest("app", Cosign.tag(index.digest, .signature))
    guard case .image(_, let layers, _, _) = merged.content, case .image(_, let ours, _, _) = sig.content, case .image(_, let theirs, _, _) = targetSig.content else {
      Issue.record("not image manifests"); return
    }
    #expect(layers.map(\.digest) == theirs.map(\.digest) + ours.map(\.digest))
    #expect(r.summary.render().contains("(merged with the target's)"))

    // Promoting again changes nothing at the target.
    let again = try await promote("multi", key: signer.publicKeyPEM)
    #expect(again.failure == nil)
    #expect(try await dst.resolve("app", Cosign.tag(index.digest, .signature))?.digest == merged.digest)
    #expect(try await dst.manifest("app", Cosign.referrersTag(index.digest)).digest == fallback.digest)
  }

  @Test func copyArtifactsFalseLeavesThemBehind() async throws {
    let image = try await factory.pushImage(tag: "bare")
    try await signer.attachSignature(factory, to: image.digest, reference: "app")
    let r = try await promote("bare", key: signer.publicKeyPEM, extra: ["INPUT_COPY-ARTIFACTS": "false"])
    #expect(r.failure == nil)
    #expect(r.outputs["signature"] == "verified")
    #expect(r.outputs["artifacts-copied"] == "0")
    #expect(try await dst.resolve("app", Cosign.tag(image.digest, .signature)) == nil)
  }

  @Test func badKeyInputsNameTheInput() async throws {
    try await factory.pushImage(tag: "k")
    for (key, required) in [(nil as String?, true), ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", true), ("/nonexistent/cosign.pub", false)] {
      await #expect {
        _ = try await promote("k", key: key, required: required)
      } throws: { error in
        (error as? InputError)?.input == "cosign-public-key" || (error as? SignatureError).map { "\($0)".hasPrefix("cosign-public-key") } == true
      }
    }
  }
}

@Suite("cosign key and payload parsing")
struct CosignUnitTests {
  @Test func parsesInlineBlocksAndPaths() throws {
    let a = CosignSigner()
    let b = CosignSigner()
    let dir = try TempDirectory()
    let path = dir.url.appendingPathComponent("cosign.pub").path
    try b.publicKeyPEM.write(toFile: path, atomically: true, encoding: .utf8)
    let keys = try CosignPublicKey.parse("  \(a.publicKeyPEM)\n\(path)\n", readFile: { try String(contentsOfFile: $0, encoding: .utf8) })
    #expect(keys.map(\.name) == ["key 1", path])
    #expect(Set(keys.map(\.fingerprint)).count == 2)
  }

  @Test func verdicts() throws {
    let signer = CosignSigner()
    let digest = Digest.sha256(Data("image".utf8))
    let payload = CosignSigner.payload(digest: digest.description, reference: "r")
    let verifier = SignatureVerifier(keys: [try CosignPublicKey(pem: signer.publicKeyPEM, name: "k")])
    func layer(_ p: Data, _ sig: String?) -> Descriptor {
      Descriptor(mediaType: Cosign.simpleSigning, digest: .sha256(p), size: Int64(p.count), annotations: sig.map { [Cosign.signatureAnnotation: $0] })
    }
    #expect(verifier.check(payload: payload, layer: layer(payload, signer.sign(payload)), expected: digest, location: "l").verdict == .verified(key: "k"))
    #expect(verifier.check(payload: payload, layer: layer(payload, nil), expected: digest, location: "l").verdict == .invalid("no base64 \(Cosign.signatureAnnotation) annotation"))
    let wrongLayer = Descriptor(mediaType: Cosign.simpleSigning, digest: .sha256(Data("x".utf8)), size: 1)
    #expect(verifier.check(payload: payload, layer: wrongLayer, expected: digest, location: "l").verdict == .invalid("payload bytes do not match the layer digest (tampered)"))
    let junk = Data("not json".utf8)
    #expect(verifier.check(payload: junk, layer: layer(junk, signer.sign(junk)), expected: digest, location: "l").verdict == .invalid("payload is not a cosign simple-signing document"))
  }
}
