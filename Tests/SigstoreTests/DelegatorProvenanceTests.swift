import Foundation
import OCI
import Sigstore
import TestSupport
import Testing

/// SLSA BYOB provenance: signed by slsa-github-generator's delegator workflow for the tool's
/// reusable workflow (TRW) its predicate names. Accepted when the delegator is the trusted one
/// at a release tag and the predicate's builder is the TRW `provenance-builder-id` names, as
/// slsa-verifier accepts it (Sigstore's `Delegator`); refused otherwise. First real provenance
/// from slsa-verifier's test data (Tests/Fixtures/sigstore/slsa-verifier), then a private
/// Sigstore's certificates naming the signers an attacker would choose.
@Suite struct DelegatorProvenanceTests {
  static let trw = "https://github.com/slsa-framework/example-trw/.github/workflows/builder_high-perms_slsa3.yml"
  static let generic = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/delegator_generic_slsa3.yml"
  static let lowPerms = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/delegator_lowperms-generic_slsa3.yml"
  static let byobType = "https://github.com/slsa-framework/slsa-github-generator/delegator-generic@v0"

  // MARK: real provenance (public-good Sigstore)

  /// A real bundle of slsa-verifier's, verified offline against the embedded public-good root
  /// (signer: a workflow run of slsa-framework/example-package), and its predicate.
  func real(_ version: String) async throws -> (Provenance, FulcioIdentity) {
    let dir = "slsa-verifier/gha_delegator/\(version)"
    let bundle = try SigstoreBundle(json: try FixtureFiles.data("\(dir)/binary-linux-amd64-push-v14.build.slsa"))
    let v = try await BundleVerifier(root: FixtureFiles.publicGood, policy: IdentityPolicy(repository: "slsa-framework/example-package"))
      .verify(bundle, artifact: .bytes(try FixtureFiles.data("\(dir)/binary-linux-amd64-push-v14")))
    let s = try InTotoStatement(payloadType: try #require(v.payloadType), payload: try #require(v.payload))
    return (try Provenance(predicateType: s.predicateType, predicate: s.predicate), v.identity)
  }

  @Test func realDelegatorProvenanceIsAcceptedForTheBuilderNamed() async throws {
    let (p, id) = try await real("v2.1.0")
    #expect(id.buildSignerURI == "\(Self.generic)@refs/tags/v2.1.0")
    #expect(id.subject == "\(Self.generic)@refs/tags/v2.1.0")
    #expect(p.builderID == "\(Self.trw)@refs/tags/v2.1.0")
    #expect(p.buildType == Self.byobType)
    let policy = ProvenancePolicy(builderID: "\(Self.trw)@refs/tags/v2.1.0", sourceRepository: "slsa-framework/example-package", sourceRef: "refs/tags/v14")
    try policy.check(p, signedBy: id)
    // Another builder: another version of the TRW, the TRW without its ref, the delegator
    // itself, a generator.
    for other in [
      "\(Self.trw)@refs/tags/v2.0.0", Self.trw, "\(Self.generic)@refs/tags/v2.1.0",
      "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.1.0",
    ] {
      let e = #expect(throws: SigstoreError.self) { try ProvenancePolicy(builderID: other, sourceRepository: "slsa-framework/example-package").check(p, signedBy: id) }
      #expect(e?.message.hasPrefix("provenance builder is '\(Self.trw)@refs/tags/v2.1.0', not '\(other)'") == true, "\(e?.message ?? "")")
    }
    // The source rules still hold: the run was from refs/tags/v14.
    let e = #expect(throws: SigstoreError.self) { try ProvenancePolicy(builderID: "\(Self.trw)@refs/tags/v2.1.0", sourceRef: "refs/tags/v13.*").check(p, signedBy: id) }
    #expect(e?.message.contains("does not match 'refs/tags/v13.*'") == true)
  }

  /// slsa-verifier's v1.9.0 data was signed by the delegator at `refs/heads/main` (its own
  /// end-to-end test mode accepts that; a release verification does not).
  @Test func realDelegatorAtABranchIsRefused() async throws {
    let (p, id) = try await real("v1.9.0")
    #expect(id.buildSignerURI == "\(Self.generic)@refs/heads/main")
    #expect(p.builderID == "\(Self.trw)@refs/tags/v1.9.0")
    let e = #expect(throws: SigstoreError.self) { try ProvenancePolicy(builderID: "\(Self.trw)@refs/tags/v1.9.0").check(p, signedBy: id) }
    #expect(e?.message == "provenance names builder '\(Self.trw)@refs/tags/v1.9.0', signed by SLSA's BYOB delegator '\(Self.generic)@refs/heads/main', which is not at a release tag refs/tags/vX.Y.Z")
  }

  // MARK: a private Sigstore's certificates

  let pki: TestSigstore
  let root: TrustedRoot

  init() throws {
    pki = try TestSigstore()
    root = try TrustedRoot(json: try pki.trustedRootJSON(), name: "test root")
  }

  /// acme/app's release run calling a TRW, whose signing job is the delegator's at `delegator`.
  static func delegated(_ delegator: String = "\(DelegatorProvenanceTests.generic)@refs/tags/v2.1.0") -> TestSigstore.Identity {
    var id = TestSigstore.Identity.github("acme/app", ref: "refs/tags/v1.2.0")
    id.subject = delegator
    id.buildSigner = delegator
    return id
  }

  /// The verified predicate and signer of a statement about an image (its source acme/app at
  /// `ref`), signed as `id`.
  func signed(
    builder: String = "\(DelegatorProvenanceTests.trw)@refs/tags/v1.0.0", buildType: String = DelegatorProvenanceTests.byobType, ref: String = "refs/tags/v1.2.0",
    as id: TestSigstore.Identity = DelegatorProvenanceTests.delegated(), v02: Bool = false
  ) async throws -> (Provenance, FulcioIdentity) {
    let digest = OCI.Digest.sha256(Data("an image manifest".utf8))
    let predicate: [String: Any] =
      v02
      ? ["builder": ["id": builder], "buildType": buildType, "invocation": ["configSource": ["uri": "git+https://github.com/acme/app@\(ref)", "entryPoint": ".github/workflows/release.yml"]]]
      : TestSigstore.slsaV1(repo: "acme/app", ref: ref, builder: builder, buildType: buildType)
    let statement = try TestSigstore.statement(digest: digest, predicateType: v02 ? Provenance.v02 : Provenance.v1, predicate: predicate)
    let bundle = try SigstoreBundle(json: try pki.attest(statement, as: id).bundle)
    // Any signer: the identity policy is the step's other gate; this is the provenance policy's.
    let v = try await BundleVerifier(root: root, policy: IdentityPolicy(identityRegexp: ".*", issuerRegexp: ".*")).verify(bundle, artifact: .sha256(Data(hex: digest.hex)))
    let s = try InTotoStatement(payloadType: try #require(v.payloadType), payload: try #require(v.payload))
    return (try Provenance(predicateType: s.predicateType, predicate: s.predicate), v.identity)
  }

  let policy = ProvenancePolicy(builderID: "\(Self.trw)@refs/tags/v1.0.0", sourceRepository: "acme/app", sourceRef: "refs/tags/v.*")

  func refusal(_ signed: (Provenance, FulcioIdentity), _ policy: ProvenancePolicy? = nil) -> String? {
    do {
      try (policy ?? self.policy).check(signed.0, signedBy: signed.1)
      return nil
    } catch { return error.message }
  }

  @Test func eitherDelegatorAtAReleaseTagSignsForTheBuilderNamed() async throws {
    for delegator in ["\(Self.generic)@refs/tags/v2.1.0", "\(Self.lowPerms)@refs/tags/v1.10.0", "\(Self.generic)@refs/tags/v0.0.0"] {
      #expect(refusal(try await signed(as: Self.delegated(delegator))) == nil, "\(delegator)")
    }
    #expect(refusal(try await signed(v02: true)) == nil)
    // JReleaser's TRW is released at vX.Y.Z-java tags (slsa-verifier's one exception).
    let jreleaser = "https://github.com/jreleaser/release-action/.github/workflows/builder_slsa3.yml@refs/tags/v1.2.0-java"
    #expect(refusal(try await signed(builder: jreleaser), ProvenancePolicy(builderID: jreleaser)) == nil)
  }

  @Test func aDelegatorOfAnotherRepositoryOrNameIsNoDelegator() async throws {
    for signer in [
      "https://github.com/evil/slsa-github-generator/.github/workflows/delegator_generic_slsa3.yml@refs/tags/v2.1.0",
      "https://github.com/slsa-framework/slsa-github-generator-fork/.github/workflows/delegator_generic_slsa3.yml@refs/tags/v2.1.0",
      "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/delegator_generic_slsa3.yaml@refs/tags/v2.1.0",
      "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.1.0",
      "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/delegator_generic_slsa3.yml@refs/tags/v2.1.0@refs/tags/v2.1.0",
      "\(Self.generic)",
    ] {
      let e = refusal(try await signed(as: Self.delegated(signer)))
      #expect(e == "provenance names builder '\(Self.trw)@refs/tags/v1.0.0', but the certificate says it was signed by '\(signer)', not '\(Self.trw)@refs/tags/v1.0.0'", "\(signer)")
    }
  }

  @Test func aDelegatorNotAtAReleaseTagIsRefused() async throws {
    for ref in ["refs/heads/main", "refs/tags/v2.1", "refs/tags/v2", "refs/tags/v2.1.0-rc.1", "refs/tags/v2.1.0+build", "refs/tags/v02.1.0", "refs/tags/2.1.0", "refs/tags/v2.1.x", "v2.1.0", ""] {
      let e = refusal(try await signed(as: Self.delegated("\(Self.generic)@\(ref)")))
      #expect(e?.hasSuffix("signed by SLSA's BYOB delegator '\(Self.generic)@\(ref)', which is not at a release tag refs/tags/vX.Y.Z") == true, "\(ref): \(e ?? "accepted")")
    }
  }

  @Test func aDelegatorVouchesOnlyForTheBuilderItNames() async throws {
    // The predicate names another TRW (or another version of it) than the step trusts.
    for other in ["https://github.com/evil/trw/.github/workflows/builder.yml@refs/tags/v1.0.0", "\(Self.trw)@refs/tags/v0.9.0"] {
      let e = refusal(try await signed(builder: other))
      #expect(e == "provenance builder is '\(other)', not '\(Self.trw)@refs/tags/v1.0.0'")
    }
    // A TRW not at a release tag, even when the step names it so.
    for ref in ["refs/heads/main", "refs/tags/v1.0", ""] {
      let builder = "\(Self.trw)@\(ref)"
      let e = refusal(try await signed(builder: builder), ProvenancePolicy(builderID: builder))
      #expect(e?.hasSuffix("but the builder is not at a release tag (name@refs/tags/vX.Y.Z)") == true, "\(ref): \(e ?? "accepted")")
    }
    let e = refusal(try await signed(builder: Self.trw), ProvenancePolicy(builderID: Self.trw))
    #expect(e?.hasSuffix("but the builder is not at a release tag (name@refs/tags/vX.Y.Z)") == true)
    // Another build type than the delegator's.
    let typed = refusal(try await signed(buildType: "https://actions.github.io/buildtypes/workflow/v1"))
    #expect(typed?.hasSuffix("but the build type is 'https://actions.github.io/buildtypes/workflow/v1', not '\(Self.byobType)'") == true)
  }

  @Test func aWorkflowThatIsNoDelegatorCannotClaimATool() async throws {
    // acme/app's own release workflow writes the TRW (and the delegator's build type).
    let own = TestSigstore.Identity.github("acme/app", ref: "refs/tags/v1.2.0")
    let e = refusal(try await signed(as: own))
    #expect(e == "provenance names builder '\(Self.trw)@refs/tags/v1.0.0', but the certificate says it was signed by '\(own.subject)', not '\(Self.trw)@refs/tags/v1.0.0'")
  }

  @Test func theDelegatorsCertificateMustBeGitHubsAndNameItTwice() async throws {
    var otherIssuer = Self.delegated()
    otherIssuer.issuer = "https://issuer.example"
    #expect(refusal(try await signed(as: otherIssuer))?.hasSuffix("but the certificate was issued for OIDC issuer 'https://issuer.example', not 'https://token.actions.githubusercontent.com'") == true)
    // The SAN is acme/app's workflow, only the Build Signer URI names the delegator.
    var split = Self.delegated()
    split.subject = TestSigstore.Identity.github("acme/app", ref: "refs/tags/v1.2.0").subject
    #expect(refusal(try await signed(as: split))?.hasSuffix("but the certificate's identity is '\(split.subject)'") == true)
  }

  @Test func theSourceRulesStillHoldForADelegatedBuild() async throws {
    // A branch's run calls the TRW; the predicate claims a tag.
    var branch = Self.delegated()
    branch.ref = "refs/heads/feature"
    let e = refusal(try await signed(as: branch))
    #expect(e?.contains("the certificate says the run was from ref 'refs/heads/feature', which does not match 'refs/tags/v.*'") == true, "\(e ?? "accepted")")
    var fork = Self.delegated()
    fork.repository = "https://github.com/evil/app"
    #expect(refusal(try await signed(as: fork))?.contains("the certificate says the run was from repository 'https://github.com/evil/app'") == true)
  }

  @Test func aDelegatedRefusalQuotesLongValuesCut() async throws {
    let long = String(repeating: "x", count: 20_000)
    let cases = [
      refusal(try await signed(as: Self.delegated("\(Self.generic)@refs/heads/\(long)"))),
      refusal(try await signed(buildType: "https://example/\(long)")),
      refusal(try await signed(builder: "\(Self.trw)@refs/heads/\(long)"), ProvenancePolicy(builderID: "\(Self.trw)@refs/heads/\(long)")),
    ]
    for (i, e) in cases.enumerated() {
      #expect(e != nil, "case \(i) accepted")
      #expect((e?.utf8.count ?? 0) < 1000, "case \(i): \(e?.utf8.count ?? 0) bytes")
    }
  }
}
