import ActionsCore
import Basics
import FoundationEssentials
import Sigstore

/// The keyless signature and attestation inputs of `promote`: who must have signed (cosign's
/// identity flags and GitHub shortcuts), which trusted root, which attestations and provenance
/// are required, and whether violations refuse the image or are only reported.
struct SupplyChainSettings {
  enum Mode: String { case enforce, audit }

  /// Nil when no keyless identity input is given (keyless signatures are then not checked).
  var identity: IdentityPolicy?
  var root: TrustedRoot?
  var requireProvenance: Bool
  var requiredAttestations: [String]
  var provenance: ProvenancePolicy
  var mode: Mode

  static let inputs: [InputDeclaration] = [
    InputDeclaration("certificate-identity", "Keyless: the exact signer identity (the certificate's SAN), e.g. https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/heads/main"),
    InputDeclaration("certificate-identity-regexp", "Keyless: a regular expression the whole signer identity must match"),
    InputDeclaration("certificate-oidc-issuer", "Keyless: the exact OIDC issuer, e.g. https://token.actions.githubusercontent.com"),
    InputDeclaration("certificate-oidc-issuer-regexp", "Keyless: a regular expression the whole OIDC issuer must match"),
    InputDeclaration("signer-repository", "Keyless: OWNER/REPO whose GitHub Actions workflow signed (Fulcio's source repository extension); implies GitHub's OIDC issuer"),
    InputDeclaration(
      "signer-workflow", "Keyless: the signing workflow, OWNER/REPO/.github/workflows/FILE (or .github/workflows/FILE with signer-repository), checked against Fulcio's build config extension"),
    InputDeclaration(
      "signer-trigger", "Keyless: GitHub events the signing run may have been triggered by (e.g. push, release), checked against Fulcio's build trigger extension",
      kind: .list),
    InputDeclaration(
      "signer-ref",
      "Keyless: a regular expression the signing run's whole git ref must match (Fulcio's source repository ref extension), e.g. refs/tags/v.* or refs/heads/main"),
    InputDeclaration("trusted-root", "Keyless: path of a Sigstore trusted_root.json replacing the embedded public-good root (private Sigstore, GitHub's instance)"),
    InputDeclaration(
      "require-provenance", "Refuse the image unless a verified SLSA provenance attestation (v0.2 or v1) of its digest matches the provenance-* inputs", kind: .boolean, default: "false"),
    InputDeclaration("require-attestations", "Predicate type URIs that must each have a verified attestation of the digest", kind: .list),
    InputDeclaration(
      "provenance-builder-id",
      "The exact builder ID the provenance must name; a GitHub workflow must be the signer, or the tool workflow, at a release tag, that SLSA's BYOB delegator signed for"),
    InputDeclaration("provenance-source-repository", "OWNER/REPO (or a URL) the provenance must name as its source"),
    InputDeclaration("provenance-source-ref", "A regular expression the provenance's whole source ref must match, e.g. refs/tags/v.*"),
    InputDeclaration(
      "policy-mode", "enforce: signature and attestation violations refuse the image; audit: each is a warning and the image is promoted", kind: .choice(["enforce", "audit"]), default: "enforce"),
  ]

  /// Shared by promote and verify-digest (action.yml lists an output once).
  static let signatureOutput = OutputDeclaration(
    "signature", "verified, unverified (signatures found, none verified), unsigned, or unchecked (no key or keyless identity given); verify-digest: at the target")
  static let provenanceOutput = OutputDeclaration(
    "provenance", "verified (a verified SLSA provenance attestation matches the provenance-* inputs), unverified, or unchecked (require-provenance off)")

  init(_ inputs: Inputs, files: InputFiles = InputFiles()) throws {
    let identityInputs = [
      "certificate-identity", "certificate-identity-regexp", "certificate-oidc-issuer", "certificate-oidc-issuer-regexp", "signer-repository", "signer-workflow", "signer-trigger",
      "signer-ref",
    ]
    if identityInputs.contains(where: { inputs.string($0) != nil }) {
      let policy = IdentityPolicy(
        identity: inputs.string("certificate-identity"), identityRegexp: inputs.string("certificate-identity-regexp"), issuer: inputs.string("certificate-oidc-issuer"),
        issuerRegexp: inputs.string("certificate-oidc-issuer-regexp"), repository: inputs.string("signer-repository"), workflow: inputs.string("signer-workflow"),
        triggers: inputs.list("signer-trigger"), refPattern: inputs.string("signer-ref"))
      if let problem = policy.problem {
        // Name an input the user gave (the one at fault, or the one that cannot stand alone).
        let given = identityInputs.filter { inputs.string($0) != nil }
        let badPattern = ["certificate-identity-regexp", "certificate-oidc-issuer-regexp"].first { name in
          inputs.string(name).map { (try? Regex($0)) == nil } ?? false
        }
        let named = [badPattern, given.first { problem.hasPrefix("\($0) '") }].compactMap { $0 }.first
        throw InputError(named ?? given.first ?? "certificate-identity", problem)
      }
      identity = policy
    }
    requireProvenance = try inputs.bool("require-provenance")
    requiredAttestations = inputs.list("require-attestations")
    provenance = ProvenancePolicy(
      builderID: inputs.string("provenance-builder-id"), sourceRepository: inputs.string("provenance-source-repository"), sourceRef: inputs.string("provenance-source-ref"))
    if let problem = provenance.problem {
      throw InputError(problem.hasPrefix("provenance-source-repository '") ? "provenance-source-repository" : "provenance-source-ref", problem)
    }
    // choice() names the value given and the values accepted.
    guard let m = Mode(rawValue: try inputs.choice("policy-mode") ?? "enforce") else { throw InputError("policy-mode", "expected one of enforce, audit") }
    mode = m
    let needsIdentity = requireProvenance || !requiredAttestations.isEmpty || inputs.string("trusted-root") != nil || provenance != ProvenancePolicy()
    if identity == nil, needsIdentity {
      // The input that asked for keyless verification is the one named.
      let asking =
        (requireProvenance ? "require-provenance" : nil)
        ?? ["require-attestations", "trusted-root", "provenance-builder-id", "provenance-source-repository", "provenance-source-ref"].first { inputs.string($0) != nil }
      throw InputError(
        asking ?? "certificate-identity",
        "keyless verification needs an identity policy (certificate-identity or certificate-identity-regexp with certificate-oidc-issuer, or signer-repository): \"signed by anyone\" is not a gate")
    }
    if identity != nil {
      if let path = inputs.string("trusted-root") {
        let data = Data(try files.read(path, input: "trusted-root", limit: TrustedRoot.maxFileBytes))
        do { root = try TrustedRoot(json: data, name: path.clipped(to: 100)) } catch { throw InputError("trusted-root", "not a Sigstore trusted root: \(error.message)") }
      } else {
        do { root = try TrustedRoot.publicGood() } catch { throw InputError("trusted-root", "the embedded root does not load: \(error.message)") }
      }
    }
  }

  /// Whether any keyless or attestation check is configured.
  var isActive: Bool { identity != nil }

  /// The verification of keyless signatures and attestations, when configured.
  var keyless: KeylessVerification? {
    guard let identity, let root else { return nil }
    return KeylessVerification(root: root, policy: identity)
  }
}
