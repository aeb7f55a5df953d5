import ActionsCore
import Foundation
import Sigstore
import TestSupport
import Testing

@testable import OCI
@testable import Stages

/// The staging registry as the attacker: it holds, lists and serves whatever it likes (valid
/// signatures and attestations of other images, of other platforms of the same index, by other
/// signers, broken ones, many), but cannot sign for the identity the policy names. `promote`'s
/// keyless signature and provenance gates must refuse every image the real signer did not sign
/// as it is, and move nothing. Real registries; a private Sigstore (TestSupport's TestSigstore).
@Suite("keyless gates against a hostile staging registry", .serialized)
struct KeylessHostileRegistryTests {
  let staging: RegistryProcess
  let production: RegistryProcess
  let src: RegistryClient
  let dst: RegistryClient
  let pki: TestSigstore
  let rootPath: String
  var factory: ImageFactory { ImageFactory(client: src, repository: "app") }
  let release = TestSigstore.Identity.github("acme/app", ref: "refs/tags/v1.2.0")
  static let bundleType = "application/vnd.dev.sigstore.bundle.v0.3+json"

  init() async throws {
    (staging, production, src, dst, pki, rootPath) = try await KeylessFixture.make()
  }

  func promote(_ source: String, _ extra: [String: String] = [:]) async throws -> StageResult {
    let env = [
      "INPUT_SOURCE": "\(staging.host)/app\(source)", "INPUT_TARGET": "\(production.host)/app", "INPUT_TAGS": "prod", "INPUT_TRUSTED-ROOT": rootPath,
      "INPUT_SIGNER-REPOSITORY": "acme/app",
    ]
    return try await runStage(PromoteStage.self, env.merging(extra) { $1 })
  }

  /// A keyless `.sig` layer for `image` whose payload names `names` (default: the image).
  func signKeyless(_ image: Digest, names: Digest? = nil, as id: TestSigstore.Identity? = nil) async throws {
    let payload = CosignSigner.payload(digest: (names ?? image).description, reference: "\(staging.host)/app")
    try await CosignSigner.attach(factory, to: image, suffix: .signature, layer: payload, mediaType: Cosign.simpleSigning, annotations: try pki.cosignKeyless(payload, as: id ?? release))
  }

  /// An in-toto statement with the subjects given as they are.
  static func statement(subjects: [[String: Any]], predicateType: String, predicate: [String: Any]) throws -> Data {
    let doc: [String: Any] = ["_type": "https://in-toto.io/Statement/v1", "subject": subjects, "predicateType": predicateType, "predicate": predicate]
    return try JSONSerialization.data(withJSONObject: doc, options: [.sortedKeys, .withoutEscapingSlashes])
  }

  func provenance(of digest: Digest, as id: TestSigstore.Identity? = nil) throws -> Data {
    let statement = try TestSigstore.statement(digest: digest, predicateType: Provenance.v1, predicate: TestSigstore.slsaV1(repo: "acme/app", ref: "refs/tags/v1.2.0"))
    return try pki.attest(statement, as: id ?? release).bundle
  }

  /// Pushes each bundle as an OCI 1.1 referrer (its `subject`: `subject` or the image) and lists
  /// them all, in this order, in the image's `sha256-<hex>` fallback index: what the registry
  /// answers when asked for the image's referrers.
  func listReferrers(of image: RawManifest, _ bundles: [(content: Data, subject: RawManifest?)]) async throws {
    var entries: [[String: Any]] = []
    let empty = try await src.pushBlob("app", Data("{}".utf8), mediaType: MediaType.ociEmpty)
    for b in bundles {
      let layer = try await src.pushBlob("app", b.content, mediaType: Self.bundleType)
      let m = try await factory.pushManifest(
        tag: nil,
        document: [
          "schemaVersion": 2, "mediaType": MediaType.ociManifest, "artifactType": Self.bundleType, "config": factory.descriptorJSON(empty),
          "layers": [factory.descriptorJSON(layer)], "subject": factory.descriptorJSON((b.subject ?? image).descriptor),
        ])
      var entry = factory.descriptorJSON(m.descriptor)
      entry["artifactType"] = Self.bundleType
      entries.append(entry)
    }
    _ = try await factory.pushManifest(tag: Cosign.referrersTag(image.digest), document: ["schemaVersion": 2, "mediaType": MediaType.ociIndex, "manifests": entries])
  }

  func nothingMoved(_ image: RawManifest) async throws -> Bool {
    let tag = try await dst.resolve("app", "prod")
    let digest = try await dst.resolve("app", image.digest.description)
    return tag == nil && digest == nil
  }

  @Test func aSignedPlatformDoesNotSignItsIndex() async throws {
    let (index, images) = try await factory.pushIndex(
      tag: "multi", platforms: [Platform(os: "linux", architecture: "amd64"), Platform(os: "linux", architecture: "arm64")])
    // The real signer signed the amd64 image and attested its provenance (its own `.sig` and
    // referrer); the registry also files that signature and that attestation under the index.
    try await signKeyless(images[0].digest)
    try await listReferrers(of: images[0], [(try provenance(of: images[0].digest), nil)])
    try await signKeyless(index.digest, names: images[0].digest)
    try await listReferrers(of: index, [(try provenance(of: images[0].digest), images[0])])
    let r = try await promote(":multi", ["INPUT_REQUIRE-SIGNATURE": "true", "INPUT_REQUIRE-PROVENANCE": "true"])
    #expect(r.failure?.hasPrefix("validation failed: signature: no signature verifies") == true)
    #expect(r.failure?.contains("payload signs \(images[0].digest), not \(index.digest)") == true)
    #expect(r.outputs["signature"] == nil)
    let unproven = try await promote(":multi", ["INPUT_REQUIRE-PROVENANCE": "true"])
    #expect(unproven.failure?.contains("no verified SLSA provenance attestation of the digest") == true)
    #expect(unproven.failure?.contains("no subject of the in-toto statement has the artifact's sha256") == true)
    #expect(try await nothingMoved(index))
  }

  @Test func aSignedIndexDoesNotSignItsPlatformsPromotedAlone() async throws {
    let (index, images) = try await factory.pushIndex(
      tag: "multi", platforms: [Platform(os: "linux", architecture: "amd64"), Platform(os: "linux", architecture: "arm64")])
    try await signKeyless(index.digest)
    try await listReferrers(of: index, [(try provenance(of: index.digest), nil)])
    // The index verifies…
    #expect(try await promote(":multi", ["INPUT_REQUIRE-SIGNATURE": "true", "INPUT_REQUIRE-PROVENANCE": "true", "INPUT_DRY-RUN": "true"]).failure == nil)
    // …its platform manifest, promoted by digest, has no signature of its own.
    let child = "@\(images[1].digest)"
    let r = try await promote(child, ["INPUT_REQUIRE-SIGNATURE": "true"])
    #expect(r.failure?.contains("no cosign signature found for \(images[1].digest.short)") == true)
    #expect(try await promote(child, ["INPUT_REQUIRE-PROVENANCE": "true"]).failure?.contains("no verified SLSA provenance attestation of the digest") == true)
    #expect(try await nothingMoved(images[1]))
  }

  @Test func oneVerifiedCandidateForThePolicyIsWhatPasses() async throws {
    let image = try await factory.pushImage(tag: "mixed")
    let other = try await factory.pushImage(tag: nil)
    var broken = try provenance(of: image.digest)
    broken = Data(String(decoding: broken, as: UTF8.self).replacingOccurrences(of: "\"sig\":\"M", with: "\"sig\":\"N").utf8)
    let hostile: [(content: Data, subject: RawManifest?)] = [
      (try provenance(of: image.digest, as: TestSigstore.Identity.github("evil/app")), nil),  // valid, another signer
      (broken, nil),  // this signer's, its signature broken
      (try provenance(of: other.digest), nil),  // this signer's, another image
      (try provenance(of: other.digest), other),  // the same, its manifest's subject the other image
      (Data("{\"mediaType\":\"not a bundle\"}".utf8), nil),
    ]
    try await listReferrers(of: image, hostile)
    let refused = try await promote(":mixed", ["INPUT_REQUIRE-PROVENANCE": "true", "INPUT_REQUIRE-SIGNATURE": "true"])
    let failure = try #require(refused.failure)
    #expect(failure.hasPrefix("validation failed: signature: no signature verifies: "))
    #expect(!failure.contains("\n"))
    #expect(failure.contains("signed from repository 'https://github.com/evil/app', not https://github.com/acme/app"))
    #expect(failure.contains("no subject of the in-toto statement has the artifact's sha256"))
    #expect(refused.outputs["signature"] == nil)
    let unproven = try await promote(":mixed", ["INPUT_REQUIRE-PROVENANCE": "true"])
    #expect(unproven.failure?.contains("no verified SLSA provenance attestation of the digest") == true)
    #expect(try await nothingMoved(image))
    // With the real signer's attestation among them (last): at least one verified candidate
    // satisfying the policy is what a signature means, as `cosign verify` reads it; junk the
    // registry adds beside it cannot take it away.
    try await listReferrers(of: image, hostile + [(try provenance(of: image.digest), nil)])
    let r = try await promote(":mixed", ["INPUT_REQUIRE-PROVENANCE": "true", "INPUT_PROVENANCE-SOURCE-REPOSITORY": "acme/app"])
    #expect(r.failure == nil)
    #expect(r.outputs["provenance"] == "verified")
  }

  @Test func provenanceMustNameTheDigestAsSHA256() async throws {
    let image = try await factory.pushImage(tag: "alg")
    let predicate = TestSigstore.slsaV1(repo: "acme/app", ref: "refs/tags/v1.2.0")
    for digest in [["sha512": image.digest.hex], ["SHA256": image.digest.hex], ["sha-256": image.digest.hex], ["sha256": "sha256:" + image.digest.hex]] {
      let statement = try Self.statement(subjects: [["name": "app", "digest": digest]], predicateType: Provenance.v1, predicate: predicate)
      try await listReferrers(of: image, [(try pki.attest(statement, as: release).bundle, nil)])
      let r = try await promote(":alg", ["INPUT_REQUIRE-PROVENANCE": "true"])
      #expect(r.failure?.contains("no subject of the in-toto statement has the artifact's sha256") == true, "\(digest)")
    }
    #expect(try await nothingMoved(image))
    // Many subjects, the image among them: in-toto's meaning (the signer vouches for each).
    let other = try await factory.pushImage(tag: nil)
    let many = try Self.statement(
      subjects: [["name": "other", "digest": ["sha256": other.digest.hex]], ["name": "app", "digest": ["sha256": image.digest.hex]]], predicateType: Provenance.v1, predicate: predicate)
    try await listReferrers(of: image, [(try pki.attest(many, as: release).bundle, nil)])
    #expect(try await promote(":alg", ["INPUT_REQUIRE-PROVENANCE": "true"]).failure == nil)
  }

  @Test func otherStatementsAreNotProvenance() async throws {
    let image = try await factory.pushImage(tag: "types")
    let slsa = TestSigstore.slsaV1(repo: "acme/app", ref: "refs/tags/v1.2.0")
    let v02Shape: [String: Any] = [
      "builder": ["id": "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.0"],
      "invocation": ["configSource": ["uri": "git+https://github.com/acme/app@refs/tags/v1.2.0"]],
    ]
    let cases: [(String, [String: Any])] = [
      ("https://slsa.dev/provenance/v1#not", slsa),  // a lookalike type with a SLSA body
      ("https://example.com/build-log/v1", slsa),
      (KeylessVerification.cosignSignPredicate, [:]),  // the image's signature is not its provenance
      (Provenance.v1, v02Shape),  // v0.2 fields under the v1 type: nothing read
      (Provenance.v02, slsa),  // and the other way round
    ]
    let inputs = ["INPUT_REQUIRE-PROVENANCE": "true", "INPUT_PROVENANCE-SOURCE-REPOSITORY": "acme/app"]
    for (type, predicate) in cases {
      let statement = try TestSigstore.statement(digest: image.digest, predicateType: type, predicate: predicate)
      try await listReferrers(of: image, [(try pki.attest(statement, as: release).bundle, nil)])
      let r = try await promote(":types", inputs)
      #expect(r.failure?.hasPrefix("validation failed: provenance: no ") == true, "\(type)")
    }
    #expect(try await nothingMoved(image))
  }

  @Test func remoteTextInARefusalIsOneShortLine() async throws {
    let image = try await factory.pushImage(tag: "loud")
    // A keyless `.sig` payload naming a "digest" of 200 000 characters with line breaks and a
    // workflow command: quoted, it is cut, and the refusal stays one line.
    let noise = "sha256:\n::error::pwned\n" + String(repeating: "x", count: 200_000)
    let payload = Data(
      #"{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"\#(noise.replacingOccurrences(of: "\n", with: "\\n"))"},"type":"cosign container image signature"}}"#.utf8)
    try await CosignSigner.attach(factory, to: image.digest, suffix: .signature, layer: payload, mediaType: Cosign.simpleSigning, annotations: try pki.cosignKeyless(payload, as: release))
    let r = try await promote(":loud", ["INPUT_REQUIRE-SIGNATURE": "true"])
    let failure = try #require(r.failure)
    #expect(failure.hasPrefix("validation failed: signature: no signature verifies: sha256-"))
    #expect(failure.unicodeScalars.count < 1000)
    // As the CLI prints it: one line, no command of the registry's.
    let sink = MemoryLogSink()
    Log(sink: sink).error(failure, title: "promote failed")
    #expect(sink.lines.count == 1)
    #expect(sink.lines.allSatisfy { !$0.contains("\n") && $0.hasPrefix("::error title=promote failed::") })
    #expect(try await nothingMoved(image))
  }

  @Test func provenanceCannotClaimASourceItsSignerWasNotRunFrom() async throws {
    // A branch of acme/app (anyone who can push one) runs release.yml and signs a SLSA
    // predicate of its own writing that claims the tag v1.2.0; its certificate says the run
    // came from refs/heads/evil. The README's policy must not take the predicate's word.
    let image = try await factory.pushImage(tag: "branch")
    let branch = TestSigstore.Identity.github("acme/app", ref: "refs/heads/evil")
    let claim = try TestSigstore.statement(digest: image.digest, predicateType: Provenance.v1, predicate: TestSigstore.slsaV1(repo: "acme/app", ref: "refs/tags/v1.2.0"))
    try await listReferrers(of: image, [(try pki.attest(claim, as: branch).bundle, nil)])
    let readme = [
      "INPUT_SIGNER-WORKFLOW": ".github/workflows/release.yml", "INPUT_REQUIRE-PROVENANCE": "true", "INPUT_PROVENANCE-SOURCE-REPOSITORY": "acme/app",
      "INPUT_PROVENANCE-SOURCE-REF": "refs/tags/v.*|refs/heads/main",
    ]
    let r = try await promote(":branch", readme)
    #expect(r.failure?.contains("the certificate says the run was from ref 'refs/heads/evil', which does not match 'refs/tags/v.*|refs/heads/main'") == true)
    // An organisation-wide identity: another repository's workflow claiming acme/app as its source.
    let elsewhere = TestSigstore.Identity.github("acme/other", ref: "refs/tags/v1.2.0")
    try await listReferrers(of: image, [(try pki.attest(claim, as: elsewhere).bundle, nil)])
    let org = [
      "INPUT_SIGNER-REPOSITORY": "", "INPUT_CERTIFICATE-IDENTITY-REGEXP": "https://github.com/acme/.*", "INPUT_CERTIFICATE-OIDC-ISSUER": IdentityPolicy.githubActionsIssuer,
      "INPUT_REQUIRE-PROVENANCE": "true", "INPUT_PROVENANCE-SOURCE-REPOSITORY": "acme/app",
    ]
    let o = try await promote(":branch", org)
    #expect(o.failure?.contains("the certificate says the run was from repository 'https://github.com/acme/other', not 'https://github.com/acme/app'") == true)
    #expect(try await nothingMoved(image))
    // The same predicate signed by a run of the tag it names passes.
    try await listReferrers(of: image, [(try pki.attest(claim, as: release).bundle, nil)])
    #expect(try await promote(":branch", readme).failure == nil)
  }

  /// A predicate is its signer's text: a run the identity admits (any branch's) can write a
  /// source of 100 000 characters with line breaks. Quoted, it is cut; the refusal stays short.
  @Test func aLongPredicateIsQuotedShortInTheRefusal() async throws {
    let image = try await factory.pushImage(tag: "long")
    let noise = "https://github.com/acme/app\n::error::pwned\n" + String(repeating: "x", count: 100_000)
    let claim = try TestSigstore.statement(digest: image.digest, predicateType: Provenance.v1, predicate: TestSigstore.slsaV1(repo: "acme/app", ref: noise))
    try await listReferrers(of: image, [(try pki.attest(claim, as: release).bundle, nil)])
    let r = try await promote(":long", ["INPUT_REQUIRE-PROVENANCE": "true", "INPUT_PROVENANCE-SOURCE-REF": "refs/tags/v.*"])
    let failure = try #require(r.failure)
    #expect(failure.contains("provenance source ref 'https://github.com/acme/app"), "\(failure.prefix(300))")
    #expect(failure.unicodeScalars.count < 2000, "a refusal of \(failure.unicodeScalars.count) scalars")
    #expect(try await nothingMoved(image))
  }

  @Test func aReleaseManifestMayTightenThePolicyNotLoosenIt() async throws {
    // The manifest is a file of the repository (docs/promote-manifest.md: whoever can open a
    // pull request can change it). The step requires a signature from acme/app; the image in
    // staging is signed by evil/app, by the attacker's own key, and by the attacker's own Sigstore.
    let workspace = try TempDirectory(prefix: "gantry-keyless-release")
    let image = try await factory.pushImage(tag: "evil")
    try await signKeyless(image.digest, as: TestSigstore.Identity.github("evil/app"))
    let attackerKey = CosignSigner()
    let attackerSigstore = try TestSigstore()
    let attackerRoot = workspace.file("root.json")
    let attackerKeyPath = workspace.file("cosign.pub")
    try attackerKey.publicKeyPEM.write(toFile: attackerKeyPath, atomically: true, encoding: .utf8)
    try attackerSigstore.trustedRootJSON().write(to: URL(fileURLWithPath: attackerRoot))
    func run(_ fields: String) async throws -> StageResult {
      let text = "images:\n  - source: \(staging.host)/app:evil\n    target: \(production.host)/app\n" + fields
      try text.write(toFile: workspace.file("release.yml"), atomically: true, encoding: .utf8)
      let env = [
        "GITHUB_WORKSPACE": workspace.path, "INPUT_MANIFEST": "release.yml", "INPUT_REQUIRE-SIGNATURE": "true", "INPUT_SIGNER-REPOSITORY": "acme/app",
        "INPUT_TRUSTED-ROOT": rootPath,
      ]
      return try await runStage(PromoteStage.self, env)
    }
    #expect(try await run("").failure?.contains("signed from repository 'https://github.com/evil/app', not https://github.com/acme/app") == true)
    let loosening = [
      "    signer-repository: evil/app\n", "    policy-mode: audit\n", "    require-signature: false\n", "    require-signature: \"\"\n",
      "    certificate-oidc-issuer-regexp: .*\n",
      "    trusted-root: \(attackerRoot)\n", "    cosign-public-key: \(attackerKeyPath)\n",
    ]
    for fields in loosening {
      do {
        let r = try await run(fields)
        Issue.record("accepted \(fields): \(r.failure ?? "promoted")")
      } catch let e as InputError {
        let field = String(fields.drop { $0 == " " }.prefix { $0 != ":" })
        #expect(e.input == "manifest")
        #expect(e.message.hasPrefix("images[0].\(field): the step sets the supply-chain policy"), "\(e.message)")
      }
    }
    #expect(try await nothingMoved(image))
    // Tightening is the manifest's to do: another constraint on the signer (each is ANDed with
    // the step's), another requirement.
    let good = try await factory.pushImage(tag: "good")
    try await signKeyless(good.digest)
    try await listReferrers(of: good, [(try provenance(of: good.digest), nil)])
    let text =
      "images:\n  - source: \(staging.host)/app:good\n    target: \(production.host)/app\n    signer-workflow: .github/workflows/release.yml\n    signer-trigger: push\n    certificate-identity-regexp: https://github.com/acme/app/.*\n    require-provenance: true\n    policy-mode: enforce\n    provenance-source-ref: refs/tags/v.*\n"
    try text.write(toFile: workspace.file("release.yml"), atomically: true, encoding: .utf8)
    let r = try await runStage(
      PromoteStage.self,
      ["GITHUB_WORKSPACE": workspace.path, "INPUT_MANIFEST": "release.yml", "INPUT_REQUIRE-SIGNATURE": "true", "INPUT_SIGNER-REPOSITORY": "acme/app", "INPUT_TRUSTED-ROOT": rootPath])
    #expect(r.failure == nil)
    #expect(try await dst.resolve("app", "good")?.digest == good.digest)
  }

  @Test func provenanceCannotClaimABuilderThatDidNotSign() async throws {
    // The policy trusts builds by SLSA's reusable generator. A workflow of acme/app (any
    // branch's) writes the generator's ID into a predicate of its own and signs it: its
    // certificate's Build Signer URI is that workflow, not the generator.
    let generator = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0"
    let image = try await factory.pushImage(tag: "builder")
    let claim = try TestSigstore.statement(
      digest: image.digest, predicateType: Provenance.v1, predicate: TestSigstore.slsaV1(repo: "acme/app", ref: "refs/tags/v1.2.0", builder: generator))
    try await listReferrers(of: image, [(try pki.attest(claim, as: release).bundle, nil)])
    let inputs = ["INPUT_REQUIRE-PROVENANCE": "true", "INPUT_PROVENANCE-BUILDER-ID": generator]
    let r = try await promote(":builder", inputs)
    #expect(r.failure?.contains("the certificate says it was signed by 'https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.0', not '\(generator)'") == true)
    #expect(try await nothingMoved(image))
    // Signed by the generator itself (a reusable workflow called from acme/app's release run).
    var byGenerator = release
    byGenerator.subject = generator
    byGenerator.buildSigner = generator
    try await listReferrers(of: image, [(try pki.attest(claim, as: byGenerator).bundle, nil)])
    #expect(try await promote(":builder", inputs).failure == nil)
  }

  @Test func aBYOBDelegatorSignsForTheToolTheStepNames() async throws {
    // SLSA's BYOB: acme/app's release run calls a tool's reusable workflow (TRW), which has
    // slsa-github-generator's delegator sign the provenance naming the TRW as builder.
    let trw = "https://github.com/tool/builder/.github/workflows/builder_slsa3.yml@refs/tags/v1.0.0"
    let image = try await factory.pushImage(tag: "byob")
    func attestation(builder: String = trw, delegator: String) throws -> Data {
      let claim = try TestSigstore.statement(
        digest: image.digest, predicateType: Provenance.v1,
        predicate: TestSigstore.slsaV1(repo: "acme/app", ref: "refs/tags/v1.2.0", builder: builder, buildType: "https://github.com/slsa-framework/slsa-github-generator/delegator-generic@v0"))
      var signer = release
      signer.subject = delegator
      signer.buildSigner = delegator
      return try pki.attest(claim, as: signer).bundle
    }
    let delegator = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/delegator_generic_slsa3.yml"
    let inputs = ["INPUT_REQUIRE-PROVENANCE": "true", "INPUT_PROVENANCE-BUILDER-ID": trw, "INPUT_PROVENANCE-SOURCE-REF": "refs/tags/v.*", "INPUT_DRY-RUN": "true"]
    // Refused: the delegator at a branch, a copy of it in another repository, a predicate
    // naming another tool.
    let refused = [
      (try attestation(delegator: "\(delegator)@refs/heads/main"), "signed by SLSA's BYOB delegator '\(delegator)@refs/heads/main', which is not at a release tag refs/tags/vX.Y.Z"),
      (
        try attestation(delegator: "https://github.com/acme/slsa-github-generator/.github/workflows/delegator_generic_slsa3.yml@refs/tags/v2.1.0"),
        "the certificate says it was signed by 'https://github.com/acme/slsa-github-generator/.github/workflows/delegator_generic_slsa3.yml@refs/tags/v2.1.0', not '\(trw)'"
      ),
      (
        try attestation(builder: "https://github.com/evil/builder/.github/workflows/b.yml@refs/tags/v1.0.0", delegator: "\(delegator)@refs/tags/v2.1.0"),
        "provenance builder is 'https://github.com/evil/builder/.github/workflows/b.yml@refs/tags/v1.0.0', not '\(trw)'"
      ),
    ]
    for (bundle, reason) in refused {
      try await listReferrers(of: image, [(bundle, nil)])
      let r = try await promote(":byob", inputs)
      #expect(r.failure?.contains("provenance: no provenance matches the provenance-* inputs") == true, "\(r.failure ?? "promoted")")
      #expect(r.failure?.contains(reason) == true, "\(r.failure ?? "promoted")")
    }
    #expect(try await nothingMoved(image))
    // The delegator at a release tag, for the TRW the step names.
    try await listReferrers(of: image, [(try attestation(delegator: "\(delegator)@refs/tags/v2.1.0"), nil)])
    let r = try await promote(":byob", inputs.merging(["INPUT_DRY-RUN": "false"]) { $1 })
    #expect(r.failure == nil)
    #expect(r.outputs["provenance"] == "verified")
    #expect(try await dst.resolve("app", "prod")?.digest == image.digest)
  }

  @Test func aSignedDocumentOfAnotherTypeIsNoImageSignature() async throws {
    // The signer's key or identity signed a simple-signing document naming the digest for
    // another purpose (another type, or none): cosign refuses it as an image signature.
    let image = try await factory.pushImage(tag: "typed")
    for type in [#","type":"atomic container signature""#, ""] {
      let payload = Data(#"{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"\#(image.digest)"}\#(type)}}"#.utf8)
      try await CosignSigner.attach(factory, to: image.digest, suffix: .signature, layer: payload, mediaType: Cosign.simpleSigning, annotations: try pki.cosignKeyless(payload, as: release))
      let r = try await promote(":typed", ["INPUT_REQUIRE-SIGNATURE": "true"])
      #expect(
        r.failure?.contains(type.isEmpty ? "payload type is missing, not 'cosign container image signature'" : "payload type is 'atomic container signature', not 'cosign container image signature'")
          == true)
    }
    #expect(try await nothingMoved(image))
  }

  @Test func aRefusalAmongManyCandidatesStaysShort() async throws {
    // Thirty broken candidates: the refusal names the first few and counts the rest; the
    // summary has a row for each.
    let image = try await factory.pushImage(tag: "many")
    let other = try await factory.pushImage(tag: nil)
    let bundle = try provenance(of: other.digest)
    try await listReferrers(of: image, Array(repeating: (bundle, nil), count: 30))
    let r = try await promote(":many", ["INPUT_REQUIRE-SIGNATURE": "true", "INPUT_REQUIRE-PROVENANCE": "true"])
    let failure = try #require(r.failure)
    #expect(failure.hasPrefix("validation failed: signature: no signature verifies: referrer "))
    #expect(failure.contains("; and 25 more (the summary lists each); nothing was copied"))
    #expect(failure.unicodeScalars.count < 1500)
    #expect(r.summary.render().components(separatedBy: "no subject of the in-toto statement").count > 30)
    #expect(try await nothingMoved(image))
  }

  @Test func aCandidateWhoseBytesAreNotItsDigestFailsClosed() async throws {
    // A registry that answers the bundle's blob with other bytes (a real docker-registry checks
    // digests on upload, so a scripted one plays it): the candidate is not read around, the
    // whole check stops with the registry's error (exit 1), and nothing can pass.
    let server = try await HostileServer()
    defer { server.stop() }
    let image = try await factory.pushImage(tag: nil)
    let bundle = try provenance(of: image.digest)
    try await server.script([HostileServer.Rule("GET", "/v2/app/blobs/", body: Data("{\"mediaType\":\"forged\"}".utf8))])
    let layer = Descriptor(mediaType: Self.bundleType, digest: .sha256(bundle), size: Int64(bundle.count))
    let doc: [String: Any] = [
      "schemaVersion": 2, "mediaType": MediaType.ociManifest, "artifactType": Self.bundleType, "config": factory.descriptorJSON(layer), "layers": [factory.descriptorJSON(layer)],
    ]
    let manifest = try RawManifest(bytes: try JSONSerialization.data(withJSONObject: doc, options: [.sortedKeys]), mediaType: MediaType.ociManifest)
    var listed = manifest.descriptor
    listed.artifactType = Self.bundleType
    let attachment = Attachment(kind: .referrer, subject: image.digest, manifest: manifest, descriptor: listed)
    let keyless = KeylessVerification(root: try TrustedRoot(json: try pki.trustedRootJSON(), name: "test"), policy: IdentityPolicy(repository: "acme/app"))
    let client = testRegistryClient(server.url("").replacingOccurrences(of: "http://", with: ""))
    do {
      let found = try await keyless.attestations(of: image.digest, attachments: [attachment], client: client, repository: "app")
      Issue.record("read: \(found)")
    } catch RegistryError.digestMismatch(let expected, _, _) {
      #expect(expected == layer.digest.description)
    }
  }

  @Test func aMessageSignatureBundleIsNoImageSignature() async throws {
    // The signer's message signature over some bytes (here the image's own manifest bytes,
    // then another image's) is a blob signature, with no statement naming the image: neither
    // a signature nor provenance of it.
    let image = try await factory.pushImage(tag: "blob")
    let other = try await factory.pushImage(tag: nil)
    for bytes in [image.bytes, other.bytes] {
      try await listReferrers(of: image, [(try pki.messageBundle(bytes, as: release), nil)])
      let r = try await promote(":blob", ["INPUT_REQUIRE-SIGNATURE": "true", "INPUT_REQUIRE-PROVENANCE": "true"])
      #expect(r.failure?.contains("keyless: a message-signature bundle, not an attestation") == true)
    }
    #expect(try await nothingMoved(image))
  }
}
