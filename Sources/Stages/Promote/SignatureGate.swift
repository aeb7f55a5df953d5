import ActionsCore
import Basics
import FoundationEssentials
import OCI

/// The `require-signature` gate: checks every cosign signature attached to the promoted digest
/// (the `.sig` tag, signature referrers, Sigstore bundles) against the configured keys or,
/// keyless, the identity policy and trusted root, before anything is copied.
struct SignatureGate {
  let client: RegistryClient
  let repository: String
  let verifier: SignatureVerifier
  let required: Bool
  /// Keyless verification (identity policy and trusted root), when configured.
  var keyless: KeylessVerification?
  /// Signature layers checked at most: cosign adds one per signing, so a long-lived image has
  /// a few dozen; a registry's made-up thousands would each be a blob read.
  static let maxLayers = 256

  /// The signature rows for the summary and the checklist line (nil when there is nothing to
  /// say: no keys or identity given and not required). `bundles`: the Sigstore bundles and attestations already verified by ``KeylessVerification``;
  /// those signing with cosign's sign predicate count as signatures.
  func evaluate(_ digest: Digest, attachments: [Attachment], bundles: [AttestationCheck] = []) async throws -> (rows: [SignatureCheck], check: Check?) {
    var rows: [SignatureCheck] = []
    for b in bundles where b.predicateType == KeylessVerification.cosignSignPredicate || (!b.isVerified && b.location.hasPrefix("referrer")) {
      rows.append(SignatureCheck(location: b.location, verdict: b.error.map { .invalid("keyless: \($0)") } ?? .verified(key: b.signer ?? "keyless"), identity: nil))
    }
    signatures: for a in attachments where a.subject == digest {
      let isSignature = a.kind == .tag(.signature) || a.descriptor.artifactType == Cosign.signatureArtifactType
      if a.kind == .referrer, (a.descriptor.artifactType ?? "").hasPrefix(Cosign.bundleArtifactPrefix) {
        if keyless == nil {
          rows.append(
            SignatureCheck(
              location: "referrer \(a.manifest.digest.short)", verdict: .unsupported("sigstore bundle: set certificate-identity or signer-repository to verify it keyless"), identity: nil))
        }
        continue
      }
      guard isSignature, case .image(_, let layers, _, _) = a.manifest.content else { continue }
      let place = a.tag ?? "referrer \(a.manifest.digest.short)"
      for (i, layer) in layers.enumerated() where layer.mediaType == Cosign.simpleSigning {
        let location = "\(place) layer \(i + 1)"
        guard rows.count < Self.maxLayers else {
          rows.append(SignatureCheck(location: location, verdict: .unsupported("not checked: more than \(Self.maxLayers) signature layers"), identity: nil))
          break signatures
        }
        if let keyless, layer.annotations?[Cosign.certificateAnnotation] != nil {
          let payload = try await client.blob(repository, layer.digest, limit: 1 << 20)
          rows.append(await keyless.checkSignature(payload: payload, layer: layer, expected: digest, location: location))
          continue
        }
        guard !verifier.keys.isEmpty else {
          rows.append(SignatureCheck(location: location, verdict: .unsupported("not checked: no cosign-public-key given"), identity: nil))
          continue
        }
        let payload = try await client.blob(repository, layer.digest, limit: 1 << 20)
        rows.append(verifier.check(payload: payload, layer: layer, expected: digest, location: location))
      }
    }
    guard required || !verifier.keys.isEmpty || keyless != nil else { return (rows, nil) }
    if let ok = rows.first(where: \.isVerified), case .verified(let key) = ok.verdict {
      let who = ok.identity.map { ", identity \($0)" } ?? ""
      return (rows, Check(name: "signature", passed: true, detail: "verified with \(key) (\(ok.location)\(who))"))
    }
    let detail: String
    if rows.isEmpty {
      detail = "no cosign signature found for \(digest.short) (looked for \(Cosign.tag(digest, .signature)), signature referrers and Sigstore bundles)"
    } else if rows.allSatisfy({ if case .unsupported = $0.verdict { true } else { false } }) {
      detail = "only signatures the given inputs cannot verify: " + AttestationGate.reasons(rows.map { "\($0.location): \($0.detail)" })
    } else {
      detail = "no signature verifies: " + AttestationGate.reasons(rows.map { "\($0.location): \($0.detail)" })
    }
    // Not required: report, do not block.
    return (rows, Check(name: "signature", passed: !required, detail: required ? detail : "\(detail) (not required)"))
  }
}

extension SignatureCheck {
  /// verified / invalid / not verified, for the summary table.
  var status: String {
    switch verdict {
    case .verified: "✓ verified"
    case .invalid: "✗ invalid"
    case .unsupported: "– not verified"
    }
  }

  var detail: String {
    switch verdict {
    case .verified(let key): "with \(key)" + (identity.map { ", identity \($0)" } ?? "")
    case .invalid(let why), .unsupported(let why): why
    }
  }
}
