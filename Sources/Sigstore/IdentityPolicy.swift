import Basics
import FoundationEssentials

/// Who must have signed: cosign's `--certificate-identity[-regexp]` and
/// `--certificate-oidc-issuer[-regexp]`, plus GitHub shortcuts checked against Fulcio's
/// extensions. Regular expressions must match the whole value (cosign's are unanchored:
/// anchoring is the safer reading of "identity").
public struct IdentityPolicy: Sendable, Equatable {
  public var identity: String?
  public var identityRegexp: String?
  public var issuer: String?
  public var issuerRegexp: String?
  /// `owner/repo`: the Source Repository URI extension must be https://github.com/owner/repo.
  public var repository: String?
  /// `owner/repo/.github/workflows/file.yml` (or `.github/workflows/file.yml` with
  /// `repository`): the Build Config URI extension without its `@ref`.
  public var workflow: String?
  /// GitHub events the signing run may have been triggered by (`push`, `release`, …): the
  /// Build Trigger extension (1.3.6.1.4.1.57264.1.20, or the legacy 1.2) must be one of them.
  /// Empty: any trigger. Not an identity on its own (anyone's push is a push).
  public var triggers: [String]
  /// A regular expression the signing run's whole git ref must match (`refs/tags/v.*`,
  /// `refs/heads/main`): the Source Repository Ref extension (1.3.6.1.4.1.57264.1.14), or the
  /// SAN's `@ref` on certificates older than it. Not an identity on its own: it pins *when*
  /// the named workflow signed (a `release.yml` run on any branch is still `release.yml`).
  public var refPattern: String?

  /// GitHub Actions' OIDC issuer: the default issuer when a GitHub shortcut is given alone.
  public static let githubActionsIssuer = "https://token.actions.githubusercontent.com"

  public init(
    identity: String? = nil, identityRegexp: String? = nil, issuer: String? = nil, issuerRegexp: String? = nil, repository: String? = nil, workflow: String? = nil, triggers: [String] = [],
    refPattern: String? = nil
  ) {
    self.identity = identity
    self.identityRegexp = identityRegexp
    self.issuer = issuer
    self.issuerRegexp = issuerRegexp
    self.repository = repository
    self.workflow = workflow
    self.triggers = triggers
    self.refPattern = refPattern
    if issuer == nil, issuerRegexp == nil, repository != nil || workflow != nil { self.issuer = Self.githubActionsIssuer }
  }

  /// Why this policy cannot be used (no subject, no issuer, a pattern that does not compile),
  /// or nil. Keyless verification without a policy accepts anyone with an OIDC account.
  public var problem: String? {
    if identity == nil, identityRegexp == nil, repository == nil, workflow == nil {
      return "keyless verification needs an identity: certificate-identity, certificate-identity-regexp, signer-repository or signer-workflow"
    }
    if issuer == nil, issuerRegexp == nil { return "keyless verification needs certificate-oidc-issuer or certificate-oidc-issuer-regexp" }
    for p in [identityRegexp, issuerRegexp].compactMap({ $0 }) where PolicyPattern.compile(p) == nil {
      return "'\(p.clipped(to: 100))' is not a valid regular expression"
    }
    if let r = refPattern, PolicyPattern.compile(r) == nil { return "signer-ref '\(r.clipped(to: 100))' is not a valid regular expression" }
    // Both halves: "owner/" would be compared as https://github.com/owner/, which no certificate names.
    if let r = repository, r.split(separator: "/", omittingEmptySubsequences: false).count != 2 || r.hasPrefix("/") || r.hasSuffix("/") || r.contains(where: \.isWhitespace) {
      return "signer-repository '\(r.clipped(to: 100))' is not owner/repo"
    }
    for t in triggers where t.isEmpty || t.count > 64 || !t.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || $0 == "_" }) {
      return "signer-trigger '\(t.prefix(64))' is not a GitHub event name (push, release, workflow_dispatch, …)"
    }
    if let w = workflow, resolvedWorkflow(w) == nil {
      return "signer-workflow '\(w.clipped(to: 100))' is not owner/repo/.github/workflows/FILE (or .github/workflows/FILE with signer-repository)"
    }
    // The ref is not part of the workflow compared: a pinned ref would never match.
    if let w = workflow, w.contains("@") {
      return "signer-workflow '\(w.clipped(to: 100))' names a ref: give the workflow without @ref, and the ref in signer-ref (or certificate-identity)"
    }
    return nil
  }

  /// https://github.com/owner/repo/.github/workflows/file.yml
  func resolvedWorkflow(_ w: String) -> String? {
    let path = w.hasPrefix("https://github.com/") ? String(w.dropFirst("https://github.com/".count)) : w
    if path.hasPrefix(".github/workflows/") {
      guard let r = repository else { return nil }
      return "https://github.com/\(r)/\(path)"
    }
    let parts = path.split(separator: "/", maxSplits: 2)
    guard parts.count == 3, parts[2].hasPrefix(".github/workflows/") else { return nil }
    return "https://github.com/\(path)"
  }

  static func matches(_ value: String?, exact: String?, pattern: String?) -> Bool {
    guard let value else { return exact == nil && pattern == nil }
    if let exact, value != exact { return false }
    if let pattern {
      guard PolicyPattern.wholeMatch(value, pattern) else { return false }
    }
    return true
  }

  /// Whether two `https://github.com/owner/repo/.github/workflows/file` name one workflow:
  /// owner and repository as GitHub compares them (ignoring case), the file's path as git
  /// does (exactly: `Release.yml` is another file than `release.yml`, one a branch can add
  /// beside a protected one).
  static func sameWorkflow(_ a: String, _ b: String) -> Bool {
    let marker = "/.github/workflows/"
    guard let ra = a.firstRange(of: marker), let rb = b.firstRange(of: marker) else { return false }
    // Bytes, not Characters: git names files by their bytes (a composed é is not a decomposed one).
    return a[..<ra.lowerBound].lowercased() == b[..<rb.lowerBound].lowercased() && a[ra.lowerBound...].utf8.elementsEqual(b[rb.lowerBound...].utf8)
  }

  /// A value as a refusal quotes it, the policy's (the step's inputs) or the certificate's:
  /// cut, for the refusal is one line of the log and the summary.
  static func quoted(_ value: String?) -> String { (value ?? "").clipped(to: 200) }

  /// Checks a verified certificate's identity; the error says what differed.
  public func check(_ id: FulcioIdentity) throws(SigstoreError) {
    guard Self.matches(id.subject, exact: identity, pattern: identityRegexp) else {
      throw SigstoreError(.identity, "signed by identity '\(id.subject.clipped(to: 100))', not \(identity.map { "'\(Self.quoted($0))'" } ?? "matching '\(Self.quoted(identityRegexp))'")")
    }
    guard Self.matches(id.issuer, exact: issuer, pattern: issuerRegexp) else {
      throw SigstoreError(
        .identity, "certificate issued for OIDC issuer '\(Self.quoted(id.issuer ?? "none"))', not \(issuer.map { "'\(Self.quoted($0))'" } ?? "matching '\(Self.quoted(issuerRegexp))'")")
    }
    if let repository {
      let want = "https://github.com/\(repository)"
      guard id.sourceRepositoryURI?.lowercased() == want.lowercased() else {
        throw SigstoreError(.identity, "signed from repository '\(Self.quoted(id.sourceRepositoryURI ?? "none"))', not \(Self.quoted(want))")
      }
    }
    if let workflow, let want = resolvedWorkflow(workflow) {
      // The workflow the run started from (1.18); older certificates name it in the SAN only.
      let config = id.buildConfigURI ?? (id.subject.hasPrefix("https://github.com/") ? id.subject : nil)
      let got = config.map { String($0.split(separator: "@", maxSplits: 1).first ?? "") }
      guard let got, Self.sameWorkflow(got, want) else {
        throw SigstoreError(.identity, "signed by workflow '\(Self.quoted(got ?? "none"))', not \(Self.quoted(want))")
      }
    }
    if let refPattern {
      let ref = id.sourceRepositoryRef ?? (id.subject.hasPrefix("https://github.com/") ? id.subject.split(separator: "@", maxSplits: 1).dropFirst().first.map(String.init) : nil)
      guard let ref, PolicyPattern.wholeMatch(ref, refPattern) else {
        throw SigstoreError(.identity, "signed by a run of ref '\((ref ?? "none").clipped(to: 100))', not matching '\(refPattern.clipped(to: 100))'")
      }
    }
    if !triggers.isEmpty {
      guard let t = id.buildTrigger, triggers.contains(t) else {
        throw SigstoreError(.identity, "signed by a run triggered by '\(Self.quoted(id.buildTrigger ?? "none"))', not \(Self.quoted(triggers.joined(separator: " or ")))")
      }
    }
  }
}
