import ActionsCore
import Basics
import FoundationEssentials
import OCI

/// `verify-digest`: prove two references are the same manifest (for an index, list every
/// child on both sides), or that one reference has an expected digest.
public struct VerifyDigestStage: Stage {
  public static let name = "verify-digest"
  public static let abstract = "Prove the source and target (or an expected digest) are the same manifest"

  public static let inputs: [InputDeclaration] =
    [
      RegistryInputs.source,
      // Not required of the runner: with expected-digest there is no target to read.
      RegistryInputs.target.optional(),
      InputDeclaration("expected-digest", "verify-digest: compare the source with this digest instead of the target"),
    ] + RegistryInputs.credentials("source") + RegistryInputs.credentials("target") + SupplyChainSettings.inputs + RegistryInputs.connection

  public static let outputs: [OutputDeclaration] = [
    OutputDeclaration("source-digest", "verify-digest: the source's manifest digest"),
    OutputDeclaration("target-digest", "verify-digest: the target's manifest digest (or the expected one)"),
    OutputDeclaration("match", "verify-digest: true when they are the same manifest"),
    SupplyChainSettings.signatureOutput,
    SupplyChainSettings.provenanceOutput,
  ]

  public init() {}

  public func run(_ context: StageContext) async throws -> StageResult {
    let inputs = context.inputs
    // Every input is read before the first request: bad input is exit 2 whatever the network does.
    let source = try RegistryInputs.reference("source", try inputs.require("source"))
    var expectedDigest: Digest?
    var target: Reference?
    if let expected = inputs.string("expected-digest") {
      do { expectedDigest = try Digest(parsing: expected) } catch {
        throw InputError("expected-digest", "'\(expected.clipped(to: 80))' is not a digest: \(error.reason)")
      }
    } else {
      guard let text = inputs.string("target") else {
        throw InputError("target", "required unless expected-digest is set: the image to compare the source with, by tag or digest")
      }
      let parsed = try RegistryInputs.reference("target", text)
      guard parsed.tag != nil || parsed.digest != nil else {
        throw InputError("target", "give a tag or digest to compare, e.g. \(parsed.name):1.2.3")
      }
      target = parsed
    }
    let supplyChain = try SupplyChainSettings(inputs)
    let src = try RegistryInputs.client(for: source.registry, side: "source", context: context)
    context.doing("reading the manifest of \(source)")
    let sourceManifest = try await src.manifest(source.repository, source.identifier)

    let targetLabel: String
    let targetDigest: Digest
    var targetChildren: [Descriptor] = []
    // Where signatures and attestations are re-verified: the target (else the source).
    var checked = (client: src, repository: source.repository)
    if let expectedDigest {
      targetDigest = expectedDigest
      targetLabel = "expected"
    } else if let target {
      let dst = try RegistryInputs.client(for: target.registry, side: "target", context: context)
      context.doing("reading the manifest of \(target)")
      let m = try await dst.manifest(target.repository, target.identifier)
      checked = (dst, target.repository)
      targetDigest = m.digest
      if case .index(let children, _) = m.content { targetChildren = children }
      targetLabel = target.description
    } else {
      throw InputError("target", "required when expected-digest is empty")
    }
    var sourceChildren: [Descriptor] = []
    if case .index(let children, _) = sourceManifest.content { sourceChildren = children }
    let match = sourceManifest.digest == targetDigest

    // With a keyless identity: the signatures and attestations still verify where the image now is.
    var checks: [Check] = []
    var signatures: [SignatureCheck] = []
    var attestations: [AttestationCheck] = []
    if let keyless = supplyChain.keyless {
      let attachments = try await AttachmentFinder(client: checked.client, repository: checked.repository).find(for: [targetDigest])
      attestations = try await keyless.attestations(of: targetDigest, attachments: attachments, client: checked.client, repository: checked.repository)
      let gate = SignatureGate(client: checked.client, repository: checked.repository, verifier: SignatureVerifier(keys: []), required: true, keyless: keyless)
      let (rows, check) = try await gate.evaluate(targetDigest, attachments: attachments, bundles: attestations)
      signatures = rows
      checks = (check.map { [$0] } ?? []) + AttestationGate(settings: supplyChain).checks(attestations)
      checks = AttestationGate.apply(supplyChain.mode, to: checks, log: context.log)
    }

    var outputs = Outputs()
    // Without a keyless identity nothing was checked, and the outputs say so (as documented)
    // rather than staying empty for a later `if:` to misread.
    outputs["signature"] = supplyChain.keyless == nil ? "unchecked" : signatures.contains(where: \.isVerified) ? "verified" : "unverified"
    outputs["provenance"] =
      supplyChain.keyless == nil || !supplyChain.requireProvenance
      ? "unchecked" : checks.contains { $0.name == "provenance" && $0.passed && !$0.detail.hasPrefix("audit") } ? "verified" : "unverified"
    outputs["source-digest"] = sourceManifest.digest.description
    outputs["target-digest"] = targetDigest.description
    outputs["match"] = String(match)

    var s = StepSummary()
    s.heading(match ? "Digests match ✓" : "Digests differ ✗")
    s.table(
      ["", "Source", "Target"],
      [
        ["Reference", Markdown.code(source.description), Markdown.code(targetLabel)],
        ["Digest", Markdown.code(sourceManifest.digest.description), Markdown.code(targetDigest.description)],
      ])
    if !sourceChildren.isEmpty || !targetChildren.isEmpty {
      let rows = max(sourceChildren.count, targetChildren.count)
      s.table(
        ["Platform", "Source child", "Target child", ""],
        (0..<rows).map { i in
          let a = i < sourceChildren.count ? sourceChildren[i] : nil
          let b = i < targetChildren.count ? targetChildren[i] : nil
          return [
            Markdown.cell((a ?? b)?.platform?.description ?? "—"), a.map { Markdown.code($0.digest.description) } ?? "—",
            b.map { Markdown.code($0.digest.description) } ?? (targetLabel == "expected" ? "" : "—"), a?.digest == b?.digest ? "✓" : "✗",
          ]
        })
    }
    if !checks.isEmpty {
      s.heading(markdown: "Signatures and attestations at \(Markdown.code(target?.description ?? source.description))", level: 3)
      s.table(["Check", "", "Detail"], checks.map { [$0.name, $0.passed ? "✓" : "✗", Markdown.cell($0.detail)] })
      let rows =
        signatures.map { [Markdown.code($0.location), $0.status, Markdown.cell($0.detail)] }
        + attestations.map { a in
          [Markdown.code(a.location), a.isVerified ? "✓ verified" : "✗ invalid", Markdown.cell("\(a.predicateType ?? "unknown predicate"): \(a.error ?? a.signer ?? "")")]
        }
      if !rows.isEmpty { s.table(["Candidate", "Result", "Detail"], rows) }
    }
    var failure = match ? nil : "\(source) is \(sourceManifest.digest) but \(targetLabel) is \(targetDigest): not the same image"
    if failure == nil, let failed = checks.first(where: { !$0.passed }) {
      failure = "\(failed.name) does not verify at \(target?.description ?? source.description): \(failed.detail)"
    }
    // A success said in the log too: before, a passing verify-digest printed nothing at all.
    if failure == nil {
      let said = expectedDigest == nil ? "\(source) and \(targetLabel) are the same manifest, \(targetDigest)" : "\(source) is \(targetDigest), as expected"
      context.log.notice(said, title: "Digests match")
    }
    return StageResult(outputs: outputs, summary: s, failure: failure)
  }
}
