import Foundation
import Sigstore
import TestSupport
import Testing

/// The identity policy against certificates of a private Sigstore (TestSupport's TestSigstore)
/// made to look almost like the signer the policy names: another repository whose name starts
/// alike, another ref, another workflow file, another case, several names, issuers that
/// disagree. Each must be refused; the real signer passes.
@Suite struct IdentityPolicyHostileTests {
  let pki: TestSigstore
  let root: TrustedRoot
  let release = "https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main"

  init() throws {
    pki = try TestSigstore()
    root = try TrustedRoot(json: try pki.trustedRootJSON(), name: "test root")
  }

  /// The verdict on a keyless cosign signature by `id` under `policy`: nil when it verifies.
  func refusal(_ id: TestSigstore.Identity, _ policy: IdentityPolicy) async throws -> SigstoreError? {
    let payload = Data("{\"critical\":{}}".utf8)
    let bundle = try CosignKeyless.signatureBundle(annotations: try pki.cosignKeyless(payload, as: id))
    do {
      _ = try await BundleVerifier(root: root, policy: policy).verify(bundle, artifact: .bytes(payload))
      return nil
    } catch { return error }
  }

  @Test func identityInputsMatchTheWholeValue() async throws {
    let main = TestSigstore.Identity.github("org/repo")
    let evilRepo = TestSigstore.Identity.github("org/repo-evil")
    let evilRef = TestSigstore.Identity.github("org/repo", ref: "refs/heads/main.evil")
    let upper = TestSigstore.Identity.github("Org/Repo")
    let exact = IdentityPolicy(identity: release, issuer: IdentityPolicy.githubActionsIssuer)
    #expect(try await refusal(main, exact) == nil)
    for id in [evilRepo, evilRef, upper] {
      #expect(try await refusal(id, exact)?.kind == .identity, "\(id.subject)")
    }
    // A regular expression written as the identity, or cut short, is matched against the whole SAN.
    for pattern in [release, "https://github.com/org/repo", #"https://github\.com/org/repo/\.github/workflows/release\.yml@refs/heads/main"#, "https://github.com/org/repo|nothing"] {
      let p = IdentityPolicy(identityRegexp: pattern, issuer: IdentityPolicy.githubActionsIssuer)
      #expect(try await refusal(evilRepo, p)?.kind == .identity, "\(pattern)")
      #expect(try await refusal(evilRef, p)?.kind == .identity, "\(pattern)")
    }
    // The issuer too: an issuer that only starts like GitHub's.
    var lookalike = main
    lookalike.issuer = IdentityPolicy.githubActionsIssuer + ".evil.example"
    #expect(try await refusal(lookalike, exact)?.kind == .identity)
    #expect(try await refusal(lookalike, IdentityPolicy(identity: release, issuerRegexp: #"https://token\.actions\.githubusercontent\.com"#))?.kind == .identity)
    // signer-repository: the whole owner/repo (GitHub's names ignore case; a longer name is another repository).
    #expect(try await refusal(evilRepo, IdentityPolicy(repository: "org/repo"))?.kind == .identity)
    #expect(try await refusal(upper, IdentityPolicy(repository: "org/repo")) == nil)
    #expect(try await refusal(main, IdentityPolicy(repository: "org/rep"))?.kind == .identity)
  }

  /// `signer-repository` and `signer-workflow` name a workflow, not a run of it: `release.yml`
  /// dispatched on any branch (anyone who can push one) signs as `release.yml`. `signer-ref`
  /// pins the run's ref, matched whole, from Fulcio's 1.14 extension or, on certificates
  /// without it, the SAN's `@ref`.
  @Test func signerRefPinsTheRunsRef() async throws {
    let tag = TestSigstore.Identity.github("org/repo", ref: "refs/tags/v1.2.0")
    let branch = TestSigstore.Identity.github("org/repo", ref: "refs/heads/feature")
    var legacy = TestSigstore.Identity.github("org/repo", ref: "refs/heads/feature")
    legacy.ref = nil  // no 1.14 extension: the SAN's @refs/heads/feature
    let tags = IdentityPolicy(repository: "org/repo", workflow: ".github/workflows/release.yml", refPattern: #"refs/tags/v\d+\.\d+\.\d+"#)
    #expect(try await refusal(tag, tags) == nil)
    #expect(try await refusal(branch, tags)?.description.contains("signed by a run of ref 'refs/heads/feature', not matching") == true)
    #expect(try await refusal(legacy, tags)?.kind == .identity)
    #expect(try await refusal(branch, IdentityPolicy(repository: "org/repo")) == nil, "without signer-ref any ref signs, as before")
    // Whole match: a branch whose name starts like the pinned one is another ref.
    let main = IdentityPolicy(repository: "org/repo", refPattern: "refs/heads/main")
    #expect(try await refusal(TestSigstore.Identity.github("org/repo", ref: "refs/heads/main-evil"), main)?.kind == .identity)
    #expect(try await refusal(TestSigstore.Identity.github("org/repo", ref: "refs/heads/main"), main) == nil)
    // Not an identity on its own, and a pattern that does not compile is named.
    #expect(IdentityPolicy(issuer: IdentityPolicy.githubActionsIssuer, refPattern: "refs/heads/main").problem?.contains("needs an identity") == true)
    #expect(IdentityPolicy(repository: "org/repo", refPattern: "refs/(").problem?.hasPrefix("signer-ref 'refs/(' is not a valid regular expression") == true)
  }

  @Test func signerWorkflowFileNameKeepsItsCase() async throws {
    // Git paths are case-sensitive: .github/workflows/Release.yml is another workflow than
    // release.yml (one a branch can add beside a protected release.yml). Owner and repository
    // names are GitHub's, which ignore case.
    let other = TestSigstore.Identity.github("org/repo", workflow: "Release.yml")
    let policy = IdentityPolicy(repository: "org/repo", workflow: ".github/workflows/release.yml")
    #expect(
      try await refusal(other, policy)?.message == "signed by workflow 'https://github.com/org/repo/.github/workflows/Release.yml', not https://github.com/org/repo/.github/workflows/release.yml")
    #expect(try await refusal(TestSigstore.Identity.github("org/repo"), policy) == nil)
    #expect(try await refusal(TestSigstore.Identity.github("Org/Repo"), IdentityPolicy(workflow: "org/repo/.github/workflows/release.yml")) == nil)
    #expect(try await refusal(TestSigstore.Identity.github("org/repo-evil"), IdentityPolicy(workflow: "org/repo/.github/workflows/release.yml"))?.kind == .identity)
  }

  @Test func identityInputsThatCannotMatchAreBadInput() {
    // An owner/repo with an empty half, or a workflow pinned to a ref (the ref is compared
    // through certificate-identity): refused as input, not a gate that refuses every image.
    #expect(IdentityPolicy(repository: "org/").problem?.hasPrefix("signer-repository 'org/'") == true)
    #expect(IdentityPolicy(repository: "/repo").problem?.hasPrefix("signer-repository '/repo'") == true)
    #expect(IdentityPolicy(workflow: "org/repo/.github/workflows/release.yml@refs/heads/main").problem?.hasPrefix("signer-workflow") == true)
    #expect(IdentityPolicy(repository: "org/repo", workflow: ".github/workflows/release.yml").problem == nil)
  }

  @Test func certificateNamingSeveralIdentitiesIsRefused() async throws {
    // Fulcio issues one SAN. A certificate with two has no single signer: whichever is read
    // first, a policy naming either one would be satisfied by a certificate also naming the other.
    var two = TestSigstore.Identity.github("org/repo")
    two.moreSubjects = ["https://github.com/evil/app/.github/workflows/release.yml@refs/heads/main"]
    let e = try await refusal(two, IdentityPolicy(identity: release, issuer: IdentityPolicy.githubActionsIssuer))
    #expect(e?.kind == .certificate)
    #expect(e?.message.contains("2 subject alternative names") == true)
  }

  /// Fulcio certifies a username (an OIDC issuer's username claim) as an otherName SAN of type
  /// 1.3.6.1.4.1.57264.1.7; cosign's `--certificate-identity` matches it. It was refused as "no
  /// subject alternative name", so such signers could not be named at all.
  @Test func aUsernameIdentityIsMatchedAndABadOneRefused() async throws {
    var user = TestSigstore.Identity(subject: "deploy-bot!ci.example.com", issuer: "https://ci.example.com")
    user.asUsername = true
    #expect(try await refusal(user, IdentityPolicy(identity: "deploy-bot!ci.example.com", issuer: "https://ci.example.com")) == nil)
    #expect(try await refusal(user, IdentityPolicy(identity: "other!ci.example.com", issuer: "https://ci.example.com"))?.kind == .identity)
    // Not a UTF8String (an INTEGER): refused as a certificate that names no readable signer.
    var bad = user
    bad.usernameValue = [0x02, 0x01, 0x05]
    let e = try await refusal(bad, IdentityPolicy(identity: "deploy-bot!ci.example.com", issuer: "https://ci.example.com"))
    #expect(e?.kind == .certificate && e?.message.contains("57264.1.7") == true, "\(String(describing: e))")
    // An otherName of another type (a UPN, 1.3.6.1.4.1.311.20.2.3) names no Fulcio signer.
    var foreign = user
    foreign.usernameType = [1, 3, 6, 1, 4, 1, 311, 20, 2, 3]
    let f = try await refusal(foreign, IdentityPolicy(identity: "deploy-bot!ci.example.com", issuer: "https://ci.example.com"))
    #expect(f?.kind == .certificate && f?.message.contains("no subject alternative name") == true, "\(String(describing: f))")
  }

  @Test func issuerExtensionsThatDisagreeAreRefused() async throws {
    // Fulcio writes the OIDC issuer twice (1.1 raw, 1.8 DER UTF8String) with one value; a
    // certificate whose two say different things names no issuer.
    let policy = IdentityPolicy(identity: release, issuer: IdentityPolicy.githubActionsIssuer)
    var same = TestSigstore.Identity.github("org/repo")
    same.legacyIssuer = IdentityPolicy.githubActionsIssuer
    #expect(try await refusal(same, policy) == nil)
    var split = same
    split.legacyIssuer = "https://accounts.google.com"
    let e = try await refusal(split, policy)
    #expect(e?.kind == .certificate)
    #expect(e?.message.contains("1.3.6.1.4.1.57264.1.1") == true)
  }

  @Test func regularExpressionsReadClassesAsCosignDoes() throws {
    // cosign's expressions are Go's (RE2): \d is 0-9, \w is [0-9A-Za-z_]. Swift's default
    // reading takes any Unicode digit or letter, so a tag of Arabic-Indic digits (which a tag
    // rule for v[0-9]* does not cover) would pass a source-ref pattern written for v1.2.3. A
    // ref is UTF-8 in the predicate and in the certificate's 1.14 extension (the SAN is ASCII).
    let unicode = "refs/tags/v\u{0661}.\u{0662}.\u{0663}"
    let policy = ProvenancePolicy(sourceRef: #"refs/tags/v\d+\.\d+\.\d+"#)
    #expect(throws: SigstoreError.self) { try policy.check(try Provenance(predicateType: Provenance.v1, predicate: Self.predicate(ref: unicode))) }
    let ascii = try Provenance(predicateType: Provenance.v1, predicate: Self.predicate(ref: "refs/tags/v1.2.3"))
    try policy.check(ascii)
    var signer = FulcioIdentity(subject: "https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1.2.3", issuer: IdentityPolicy.githubActionsIssuer)
    signer.sourceRepositoryRef = unicode
    #expect(throws: SigstoreError.self) { try policy.check(ascii, signedBy: signer) }
    signer.sourceRepositoryRef = "refs/tags/v1.2.3"
    try policy.check(ascii, signedBy: signer)
    // \w and \s too, and the issuer and identity patterns compile the same way.
    #expect(throws: SigstoreError.self) {
      try ProvenancePolicy(sourceRef: #"refs/heads/\w+"#).check(try Provenance(predicateType: Provenance.v1, predicate: Self.predicate(ref: "refs/heads/r\u{00E9}lease")))
    }
    var id = FulcioIdentity(subject: "https://ci.example/\u{00E9}", issuer: "https://issuer.example/\u{0661}")
    #expect(throws: SigstoreError.self) { try IdentityPolicy(identityRegexp: #"https://ci\.example/\w"#, issuerRegexp: ".*").check(id) }
    id.subject = "https://ci.example/e"
    #expect(throws: SigstoreError.self) { try IdentityPolicy(identityRegexp: #"https://ci\.example/\w"#, issuerRegexp: #"https://issuer\.example/\d"#).check(id) }
    try IdentityPolicy(identityRegexp: #"https://ci\.example/\w"#, issuerRegexp: ".*").check(id)
  }

  /// A refusal quotes the policy's own values (the step's signer and provenance inputs) cut,
  /// as it quotes the certificate's: a 20 KB input was quoted whole, once or twice (found in
  /// the session 13 review).
  @Test func aRefusalQuotesALongPolicyValueCut() async throws {
    let long = String(repeating: "r", count: 20_000)
    let main = TestSigstore.Identity.github("org/repo")
    let issuer = IdentityPolicy.githubActionsIssuer
    let policies = [
      IdentityPolicy(identity: long, issuer: issuer), IdentityPolicy(identityRegexp: long, issuer: issuer), IdentityPolicy(identity: release, issuer: long),
      IdentityPolicy(identity: release, issuerRegexp: long), IdentityPolicy(repository: "org/" + long), IdentityPolicy(repository: "org/repo", workflow: ".github/workflows/\(long).yml"),
      IdentityPolicy(repository: "org/repo", triggers: Array(repeating: "workflow_dispatch", count: 2000)),
    ]
    for (i, policy) in policies.enumerated() {
      let refusal = try await refusal(main, policy)
      #expect(refusal?.kind == .identity, "policy \(i)")
      #expect((refusal?.description.utf8.count ?? 0) < 1000, "policy \(i): \(refusal?.description.utf8.count ?? 0) bytes")
    }
    let provenance = try Provenance(predicateType: Provenance.v1, predicate: Self.predicate(ref: "refs/tags/v1.2.3"))
    for (i, policy) in [ProvenancePolicy(builderID: long), ProvenancePolicy(sourceRepository: "org/" + long), ProvenancePolicy(sourceRef: "refs/tags/" + long)].enumerated() {
      let refusal = #expect(throws: SigstoreError.self) { try policy.check(provenance) }
      #expect((refusal?.description.utf8.count ?? 0) < 1000, "provenance policy \(i): \(refusal?.description.utf8.count ?? 0) bytes")
    }
  }

  static func predicate(ref: String) throws -> Data {
    try JSONSerialization.data(withJSONObject: TestSigstore.slsaV1(repo: "org/repo", ref: ref))
  }

  @Test func provenanceRepositoryThatCannotMatchIsBadInput() {
    // owner/repo with both halves, or a URL: "acme" or "acme/" would be compared as
    // https://github.com/acme(/), which no provenance names, refusing every image.
    for bad in ["acme", "acme/", "/app", "acme/app/extra", "acme /app"] {
      #expect(ProvenancePolicy(sourceRepository: bad).problem?.hasPrefix("provenance-source-repository '") == true, "\(bad)")
    }
    for good in ["acme/app", "https://gitlab.com/group/sub/project"] {
      #expect(ProvenancePolicy(sourceRepository: good).problem == nil, "\(good)")
    }
  }
}
