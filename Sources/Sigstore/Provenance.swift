import Basics
import FoundationEssentials

/// What a SLSA provenance predicate (v0.2 or v1) says about the build, read leniently: each
/// field nil when absent. https://slsa.dev/spec/v1.0/provenance, https://slsa.dev/provenance/v0.2
public struct Provenance: Sendable, Equatable {
  public static let v02 = "https://slsa.dev/provenance/v0.2"
  public static let v1 = "https://slsa.dev/provenance/v1"

  public var builderID: String?
  /// The build type URI (v1: `buildDefinition.buildType`; v0.2: `buildType`).
  public var buildType: String?
  /// The source repository, normalized to `https://github.com/owner/repo` form (no `git+`, no `@ref`).
  public var sourceRepository: String?
  /// The source ref, e.g. `refs/heads/main` or `refs/tags/v1.2.3`.
  public var sourceRef: String?

  public static func isProvenance(_ predicateType: String) -> Bool { predicateType == v02 || predicateType == v1 }

  public init(predicateType: String, predicate: Data?) throws(SigstoreError) {
    guard Self.isProvenance(predicateType) else { throw SigstoreError(.attestation, "predicate type is not SLSA provenance v0.2 or v1") }
    guard let predicate, let p = JSONValue.parse(predicate), p.object != nil else { throw SigstoreError(.attestation, "SLSA predicate is not a JSON object") }
    func dig(_ o: JSONValue?, _ path: String...) -> JSONValue? {
      var cur = o
      for k in path { cur = cur?[k] }
      return cur
    }
    func gitURI(_ s: String?) -> (repo: String, ref: String?)? {
      guard var s else { return nil }
      if s.hasPrefix("git+") { s.removeFirst(4) }
      let parts = s.split(separator: "@", maxSplits: 1)
      guard let repo = parts.first else { return nil }
      var r = String(repo)
      if r.hasSuffix(".git") { r.removeLast(4) }
      return (r, parts.count > 1 ? String(parts[1]) : nil)
    }
    if predicateType == Self.v1 {
      builderID = dig(p, "runDetails", "builder", "id")?.string
      buildType = dig(p, "buildDefinition", "buildType")?.string
      let workflow = dig(p, "buildDefinition", "externalParameters", "workflow")
      let deps = dig(p, "buildDefinition", "resolvedDependencies")?.array
      let dep = gitURI(deps?.first?["uri"]?.string)
      sourceRepository = dig(workflow, "repository")?.string.map { gitURI($0)?.repo ?? $0 } ?? dep?.repo
      sourceRef = dig(workflow, "ref")?.string ?? dep?.ref
    } else {
      builderID = dig(p, "builder", "id")?.string
      buildType = p["buildType"]?.string
      let config = gitURI(dig(p, "invocation", "configSource", "uri")?.string)
      let material = gitURI(p["materials"]?.array?.first?["uri"]?.string)
      sourceRepository = config?.repo ?? material?.repo
      sourceRef = config?.ref ?? material?.ref
    }
  }
}

/// The provenance inputs: each given field must match the verified predicate.
public struct ProvenancePolicy: Sendable, Equatable {
  /// Exact builder ID (e.g. `https://github.com/actions/runner/github-hosted` or a reusable workflow URI).
  public var builderID: String?
  /// `owner/repo` or a full URL: the repository the build came from.
  public var sourceRepository: String?
  /// A regular expression the whole source ref must match, e.g. `refs/tags/v.*`.
  public var sourceRef: String?

  public init(builderID: String? = nil, sourceRepository: String? = nil, sourceRef: String? = nil) {
    self.builderID = builderID
    self.sourceRepository = sourceRepository
    self.sourceRef = sourceRef
  }

  /// Why the policy cannot be used, starting with the input at fault, or nil.
  public var problem: String? {
    if let r = sourceRepository, !r.contains("://") {
      let parts = r.split(separator: "/", omittingEmptySubsequences: false)
      if parts.count != 2 || parts.contains(where: \.isEmpty) || r.contains(where: \.isWhitespace) {
        return "provenance-source-repository '\(r.clipped(to: 100))' is not owner/repo or a URL"
      }
    }
    if let r = sourceRef, PolicyPattern.compile(r) == nil { return "provenance-source-ref '\(r.clipped(to: 100))' is not a valid regular expression" }
    return nil
  }

  /// `sourceRepository` as a URL.
  var repositoryURL: String? { sourceRepository.map { $0.contains("://") ? $0 : "https://github.com/\($0)" } }

  /// The policy on the predicate and on the certificate that signed it. A workflow writes its
  /// own predicate (actions/attest-build-provenance signs with the workflow's certificate), so
  /// a branch's run can claim a tag: where the certificate names the run's source repository
  /// and ref (Fulcio's 1.12 and 1.14, set for CI issuers), they must satisfy the policy too.
  public func check(_ p: Provenance, signedBy id: FulcioIdentity?) throws(SigstoreError) {
    try check(p)
    // A GitHub workflow as builder (SLSA's reusable generators, a workflow attesting its own
    // build) is the workflow that signed: Fulcio's Build Signer URI (1.9; older certificates
    // name it in the SAN). Any workflow can write the generator's ID into its own predicate.
    // SLSA's BYOB delegator signs for the tool's workflow it names (see `Delegator`).
    if let builderID, builderID.hasPrefix("https://github.com/"), builderID.contains("/.github/workflows/"),
      let signer = id?.buildSignerURI ?? id.flatMap({ $0.subject.hasPrefix("https://github.com/") ? $0.subject : nil }), signer != builderID
    {
      guard let delegatorRef = Delegator.ref(ofTrusted: signer), let id else {
        throw SigstoreError(.attestation, "provenance names builder '\(Self.quoted(builderID))', but the certificate says it was signed by '\(Self.quoted(signer))', not '\(Self.quoted(builderID))'")
      }
      try Delegator.check(p, builder: builderID, signer: signer, at: delegatorRef, id)
    }
    if let full = repositoryURL, let got = id?.sourceRepositoryURI, got.lowercased() != full.lowercased() {
      throw SigstoreError(
        .attestation, "provenance names source repository '\(Self.quoted(p.sourceRepository))', but the certificate says the run was from repository '\(Self.quoted(got))', not '\(Self.quoted(full))'")
    }
    if let pattern = sourceRef, let got = id?.sourceRepositoryRef, !PolicyPattern.wholeMatch(got, pattern) {
      throw SigstoreError(
        .attestation, "provenance names source ref '\(Self.quoted(p.sourceRef))', but the certificate says the run was from ref '\(Self.quoted(got))', which does not match '\(Self.quoted(pattern))'")
    }
  }

  /// A predicate's or certificate's value as a refusal quotes it: the signer wrote it (any run
  /// the identity admits), so it is cut; the refusal is one line of the log and the summary.
  /// The policy's own values (the step's inputs) are quoted cut too.
  static func quoted(_ value: String?) -> String { value.map { $0.clipped(to: 200) } ?? "none" }

  /// The policy on the predicate alone.
  public func check(_ p: Provenance) throws(SigstoreError) {
    if let builderID, p.builderID != builderID {
      throw SigstoreError(.attestation, "provenance builder is '\(Self.quoted(p.builderID))', not '\(Self.quoted(builderID))'")
    }
    if let full = repositoryURL {
      guard p.sourceRepository?.lowercased() == full.lowercased() else {
        throw SigstoreError(.attestation, "provenance source repository is '\(Self.quoted(p.sourceRepository))', not '\(Self.quoted(full))'")
      }
    }
    if let pattern = sourceRef {
      guard PolicyPattern.wholeMatch(p.sourceRef, pattern) else {
        throw SigstoreError(.attestation, "provenance source ref '\(Self.quoted(p.sourceRef))' does not match '\(Self.quoted(pattern))'")
      }
    }
  }
}

/// SLSA's "Build Your Own Builder" (BYOB) framework: a tool's reusable workflow (the TRW, the
/// builder a project calls) hands signing to slsa-github-generator's delegator workflow, which
/// signs the provenance with its own certificate and writes the TRW (`name@ref`) as the
/// predicate's builder ID. The certificate's Build Signer URI is then the delegator, not the
/// builder ID. slsa-verifier (v2.7.1, `verify-artifact`) accepts that, and only when:
/// - the certificate is GitHub Actions' and its workflow is exactly
///   `https://github.com/slsa-framework/slsa-github-generator/.github/workflows/delegator_generic_slsa3.yml`
///   or `…/delegator_lowperms-generic_slsa3.yml`, at `refs/tags/vX.Y.Z` (a semantic version
///   without pre-release or build; `refs/heads/main` only in its own end-to-end test mode):
///   `verifyTrustedBuilderID`, `isTrustedDelegatorBuilder`, `verifyTrustedBuilderRef` in
///   verifiers/internal/gha/builder.go, `IsValidBuilderTag` in verifiers/utils/builder.go;
/// - the predicate's build type is `https://github.com/slsa-framework/slsa-github-generator/delegator-generic@v0`
///   (the delegators' only entry in `buildTypeMap`, slsaprovenance/v1.0 and v0.2 provenance.go);
/// - the predicate's builder ID is `name@ref`, its ref `refs/tags/vX.Y.Z` (JReleaser's TRW,
///   `https://github.com/jreleaser/release-action…`: `refs/tags/vX.Y.Z-java`):
///   `isValidDelegatorBuilderID` in verifiers/internal/gha/provenance.go;
/// - it matches the builder ID the user trusts (`--builder-id`; `VerifyProvenance`): the
///   delegator vouches for which TRW ran, the user decides which TRW to trust.
/// Gantry takes that choice from `provenance-builder-id`, compared exactly (slsa-verifier also
/// takes the name alone, and any slsa-framework TRW when none is given: Gantry does not), and
/// requires the SAN and the Build Signer URI both to name the delegator (Fulcio writes the
/// workflow in both). The source repository and ref rules, and the certificate's own source
/// claims, apply as to any provenance.
/// Sources: https://github.com/slsa-framework/slsa-verifier/blob/aaf98fd77ddc1963c0f34f34c46bd84d7a08c260/verifiers/internal/gha/builder.go,
/// …/verifiers/internal/gha/provenance.go, …/verifiers/utils/builder.go,
/// …/verifiers/internal/gha/slsaprovenance/common/builders.go and buildtypes.go;
/// https://github.com/slsa-framework/slsa-github-generator/blob/main/BYOB.md,
/// https://slsa.dev/blog/2023/08/bring-your-own-builder-github.
enum Delegator {
  static let workflows = [
    "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/delegator_generic_slsa3.yml",
    "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/delegator_lowperms-generic_slsa3.yml",
  ]
  static let buildType = "https://github.com/slsa-framework/slsa-github-generator/delegator-generic@v0"
  static let jreleaser = "https://github.com/jreleaser/release-action"

  /// The ref of `signer` when it is one of the delegator workflows (`name@ref`, one `@`).
  static func ref(ofTrusted signer: String) -> String? {
    let parts = signer.split(separator: "@", omittingEmptySubsequences: false)
    guard parts.count == 2, workflows.contains(String(parts[0])) else { return nil }
    return String(parts[1])
  }

  /// `refs/tags/vX.Y.Z` (then `suffix`): decimal numbers without leading zeros, as Go's
  /// `semver.IsValid` reads a version of three parts with no pre-release or build.
  static func isReleaseTag(_ ref: some StringProtocol, suffix: String = "") -> Bool {
    let prefix = "refs/tags/v"
    guard ref.utf8.starts(with: prefix.utf8), ref.utf8.count > prefix.utf8.count + suffix.utf8.count, ref.utf8.reversed().starts(with: suffix.utf8.reversed()) else { return false }
    let core = Array(ref.utf8.dropFirst(prefix.utf8.count).dropLast(suffix.utf8.count))
    let numbers = core.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
    return numbers.count == 3
      && numbers.allSatisfy { n in !n.isEmpty && n.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } && (n.count == 1 || n.first != UInt8(ascii: "0")) }
  }

  /// The rule above, for a certificate whose signer is a delegator workflow (at `ref`) and a
  /// predicate whose builder ID is already `builder` (the policy's).
  static func check(_ p: Provenance, builder: String, signer: String, at ref: String, _ id: FulcioIdentity) throws(SigstoreError) {
    let q = ProvenancePolicy.quoted
    let byDelegator = "provenance names builder '\(q(builder))', signed by SLSA's BYOB delegator '\(q(signer))'"
    guard isReleaseTag(ref) else { throw SigstoreError(.attestation, "\(byDelegator), which is not at a release tag refs/tags/vX.Y.Z") }
    guard id.subject == signer else { throw SigstoreError(.attestation, "\(byDelegator), but the certificate's identity is '\(q(id.subject))'") }
    guard id.issuer == IdentityPolicy.githubActionsIssuer else {
      throw SigstoreError(.attestation, "\(byDelegator), but the certificate was issued for OIDC issuer '\(q(id.issuer))', not '\(IdentityPolicy.githubActionsIssuer)'")
    }
    guard p.buildType == buildType else { throw SigstoreError(.attestation, "\(byDelegator), but the build type is '\(q(p.buildType))', not '\(buildType)'") }
    let parts = builder.split(separator: "@", omittingEmptySubsequences: false)
    let tagged = parts.count == 2 && (parts[0].hasPrefix(jreleaser + "/") ? isReleaseTag(parts[1], suffix: "-java") : isReleaseTag(parts[1]))
    guard tagged else { throw SigstoreError(.attestation, "\(byDelegator), but the builder is not at a release tag (name@refs/tags/vX.Y.Z)") }
  }
}
