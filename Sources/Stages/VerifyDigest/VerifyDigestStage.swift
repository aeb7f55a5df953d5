import ActionsCore
import OCI

/// `verify-digest`: prove two references are the same manifest (for an index, list every
/// child on both sides), or that one reference has an expected digest.
public struct VerifyDigestStage: Stage {
  public static let name = "verify-digest"
  public static let abstract = "Prove the source and target (or an expected digest) are the same manifest"

  public static let inputs: [InputDeclaration] =
    [
      RegistryInputs.source,
      RegistryInputs.target,
      InputDeclaration("expected-digest", "verify-digest: compare the source with this digest instead of the target"),
    ] + RegistryInputs.credentials("source") + RegistryInputs.credentials("target") + RegistryInputs.connection

  public static let outputs: [OutputDeclaration] = [
    OutputDeclaration("source-digest", "verify-digest: the source's manifest digest"),
    OutputDeclaration("target-digest", "verify-digest: the target's manifest digest (or the expected one)"),
    OutputDeclaration("match", "verify-digest: true when they are the same manifest"),
  ]

  public init() {}

  public func run(_ context: StageContext) async throws -> StageResult {
    let inputs = context.inputs
    // Every input is read before the first request: bad input is exit 2 whatever the network does.
    let source = try RegistryInputs.reference("source", try inputs.require("source"))
    var expectedDigest: Digest?
    var target: Reference?
    if let expected = inputs.string("expected-digest") {
      do { expectedDigest = try Digest(parsing: expected) } catch { throw InputError("expected-digest", error.description) }
    } else {
      let parsed = try RegistryInputs.reference("target", try inputs.require("target"))
      guard parsed.tag != nil || parsed.digest != nil else {
        throw InputError("target", "give a tag or digest to compare, e.g. \(parsed.name):1.2.3")
      }
      target = parsed
    }
    let src = try RegistryInputs.client(for: source.registry, side: "source", context: context)
    context.doing("reading the manifest of \(source)")
    let sourceManifest = try await src.manifest(source.repository, source.identifier)

    let targetLabel: String
    let targetDigest: Digest
    var targetChildren: [Descriptor] = []
    if let expectedDigest {
      targetDigest = expectedDigest
      targetLabel = "expected"
    } else if let target {
      let dst = try RegistryInputs.client(for: target.registry, side: "target", context: context)
      context.doing("reading the manifest of \(target)")
      let m = try await dst.manifest(target.repository, target.identifier)
      targetDigest = m.digest
      if case .index(let children, _) = m.content { targetChildren = children }
      targetLabel = target.description
    } else {
      throw InputError("target", "required when expected-digest is empty")
    }
    var sourceChildren: [Descriptor] = []
    if case .index(let children, _) = sourceManifest.content { sourceChildren = children }
    let match = sourceManifest.digest == targetDigest

    var outputs = Outputs()
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
    let failure = match ? nil : "\(source) is \(sourceManifest.digest) but \(targetLabel) is \(targetDigest): not the same image"
    return StageResult(outputs: outputs, summary: s, failure: failure)
  }
}
