import ActionsCore

/// What a release manifest's image may do to the step's gates. The manifest is a file of the
/// repository, which whoever can open a pull request can change (docs/promote-manifest.md);
/// the step's inputs live in the workflow. An image may tighten the step's gates but not
/// loosen them:
/// - the supply-chain policy, where the step sets one (require more, constrain the signer
///   further): otherwise one line in the file (`policy-mode: audit`, another signer, its own
///   key or trusted root) lets an image the workflow would refuse through;
/// - `force` and `no-clobber`, always: `force: true` in the file re-promoted an image rolled
///   back from the environment (quarantined as bad), and `no-clobber: false` let it move a tag
///   the step keeps immutable.
///
/// `max-size`, `platforms` and `required-labels` describe the image (one service is larger,
/// one is single-platform) and stay the file's to set.
enum ManifestOverrides {
  /// Who may sign: the inputs `IdentityPolicy` ANDs together.
  static let identity = ["certificate-identity", "certificate-identity-regexp", "signer-repository", "signer-workflow", "signer-trigger", "signer-ref"]
  /// Replace what the step trusts rather than add a constraint: a key, a root, an issuer (an
  /// issuer input also drops GitHub's issuer that `signer-repository` implies).
  static let anchors = ["cosign-public-key", "trusted-root", "certificate-oidc-issuer", "certificate-oidc-issuer-regexp"]
  /// Each checked only when given: another one is another constraint.
  static let provenance = ["provenance-builder-id", "provenance-source-repository", "provenance-source-ref"]

  /// Throws an ``InputError`` named after the overridden input when `image` (the step's inputs
  /// with the image's `overrides`) loosens a gate of `step`.
  static func check(step: Inputs, image: Inputs, overrides: Set<String>) throws {
    try checkSafetyGates(step: step, image: image, overrides: overrides)
    try checkSupplyChain(step: step, image: image, overrides: overrides)
  }

  /// `force` and `no-clobber`: the step's value or the stricter one.
  static func checkSafetyGates(step: Inputs, image: Inputs, overrides: Set<String>) throws {
    if overrides.contains("force"), try image.bool("force"), try !step.bool("force") {
      throw InputError(
        "force", "re-promoting an image rolled back from the environment is the workflow's decision, not a file's a pull request can change: set force on the step")
    }
    if overrides.contains("no-clobber"), try step.bool("no-clobber"), try !image.bool("no-clobber") {
      throw InputError("no-clobber", "the step keeps existing tags; a file of the repository may not let one move")
    }
  }

  static func checkSupplyChain(step: Inputs, image: Inputs, overrides: Set<String>) throws {
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
