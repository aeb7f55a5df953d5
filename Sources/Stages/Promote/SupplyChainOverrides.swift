import ActionsCore

/// What a release manifest's image may do to the step's supply-chain policy. The manifest is a
/// file of the repository, which whoever can open a pull request can change
/// (docs/promote-manifest.md); the step's inputs live in the workflow. Where the step sets a
/// policy, an image may tighten it (require more, constrain the signer further) but not
/// loosen it: otherwise one line in the file (`policy-mode: audit`, another signer, its own
/// key or trusted root) lets an image the workflow would refuse through.
enum SupplyChainOverrides {
  /// Who may sign: the inputs `IdentityPolicy` ANDs together.
  static let identity = ["certificate-identity", "certificate-identity-regexp", "signer-repository", "signer-workflow", "signer-trigger"]
  /// Replace what the step trusts rather than add a constraint: a key, a root, an issuer (an
  /// issuer input also drops GitHub's issuer that `signer-repository` implies).
  static let anchors = ["cosign-public-key", "trusted-root", "certificate-oidc-issuer", "certificate-oidc-issuer-regexp"]
  /// Each checked only when given: another one is another constraint.
  static let provenance = ["provenance-builder-id", "provenance-source-repository", "provenance-source-ref"]

  /// Throws an ``InputError`` named after the overridden input when `image` (the step's inputs
  /// with the image's `overrides`) loosens the policy of `step`.
  static func check(step: Inputs, image: Inputs, overrides: Set<String>) throws {
    let stepRequires = try step.bool("require-signature") || step.bool("require-provenance") || !step.list("require-attestations").isEmpty
    let stepIdentity = identity.contains { step.string($0) != nil }
    guard stepRequires || stepIdentity || (anchors + provenance).contains(where: { step.string($0) != nil }) else { return }
    func refuse(_ name: String, _ why: String) -> InputError {
      InputError(name, "the step sets the supply-chain policy, which a file of the repository may tighten but not loosen: \(why)")
    }
    for name in overrides.sorted() where image.string(name) != step.string(name) {
      switch name {
      case "require-signature", "require-provenance":
        if try step.bool(name), try !image.bool(name) { throw refuse(name, "the step requires it") }
      case "require-attestations":
        let kept = Set(image.list(name))
        if let dropped = step.list(name).first(where: { !kept.contains($0) }) { throw refuse(name, "it drops \(dropped), which the step requires (list the step's types and more)") }
      case "policy-mode":
        if image.string(name, default: "enforce") == "audit" { throw refuse(name, "audit lets violations through; set it on the step") }
      case _ where anchors.contains(name):
        throw refuse(name, "a key, trusted root or issuer decides whom the gate trusts; set it on the step")
      case _ where identity.contains(name) || provenance.contains(name):
        if step.string(name) != nil { throw refuse(name, "the step gives it; the image may add an input the step leaves unset, not replace one") }
        if identity.contains(name), !stepIdentity { throw refuse(name, "the step names no keyless signer; a signer added here would be trusted besides the step's key") }
      default: continue
      }
    }
  }
}
