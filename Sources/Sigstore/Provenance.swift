import Basics
import FoundationEssentials

/// What a SLSA provenance predicate (v0.2 or v1) says about the build, read leniently: each
/// field nil when absent. https://slsa.dev/spec/v1.0/provenance, https://slsa.dev/provenance/v0.2
public struct Provenance: Sendable, Equatable {
  public static let v02 = "https://slsa.dev/provenance/v0.2"
  public static let v1 = "https://slsa.dev/provenance/v1"

  public var builderID: String?
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
      let workflow = dig(p, "buildDefinition", "externalParameters", "workflow")
      let deps = dig(p, "buildDefinition", "resolvedDependencies")?.array
      let dep = gitURI(deps?.first?["uri"]?.string)
      sourceRepository = dig(workflow, "repository")?.string.map { gitURI($0)?.repo ?? $0 } ?? dep?.repo
      sourceRef = dig(workflow, "ref")?.string ?? dep?.ref
    } else {
      builderID = dig(p, "builder", "id")?.string
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
    if let builderID, builderID.hasPrefix("https://github.com/"), builderID.contains("/.github/workflows/"),
      let signer = id?.buildSignerURI ?? id.flatMap({ $0.subject.hasPrefix("https://github.com/") ? $0.subject : nil }), signer != builderID
    {
      throw SigstoreError(.attestation, "provenance names builder '\(Self.quoted(builderID))', but the certificate says it was signed by '\(Self.quoted(signer))', not '\(Self.quoted(builderID))'")
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
