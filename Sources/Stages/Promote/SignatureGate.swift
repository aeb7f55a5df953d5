import ActionsCore
import Basics
import FoundationEssentials
import OCI

/// The `require-signature` gate: checks every cosign signature attached to the promoted digest
/// (the `.sig` tag and signature referrers) against the configured keys, before anything is copied.
struct SignatureGate {
  let client: RegistryClient
  let repository: String
  let verifier: SignatureVerifier
  let required: Bool

  /// The signature rows for the summary and the checklist line (nil when there is nothing to
  /// say: no keys given and not required).
  func evaluate(_ digest: Digest, attachments: [Attachment]) async throws -> (rows: [SignatureCheck], check: Check?) {
    var rows: [SignatureCheck] = []
    for a in attachments where a.subject == digest {
      let isSignature = a.kind == .tag(.signature) || a.descriptor.artifactType == Cosign.signatureArtifactType
      if a.kind == .referrer, (a.descriptor.artifactType ?? "").hasPrefix(Cosign.bundleArtifactPrefix) {
        rows.append(SignatureCheck(location: "referrer \(a.manifest.digest.short)", verdict: .unsupported("sigstore bundle (cosign --new-bundle-format): not verified by Gantry yet"), identity: nil))
        continue
      }
      guard isSignature, case .image(_, let layers, _, _) = a.manifest.content else { continue }
      let place = a.tag ?? "referrer \(a.manifest.digest.short)"
      for (i, layer) in layers.enumerated() where layer.mediaType == Cosign.simpleSigning {
        let location = "\(place) layer \(i + 1)"
        guard !verifier.keys.isEmpty else {
          rows.append(SignatureCheck(location: location, verdict: .unsupported("not checked: no cosign-public-key given"), identity: nil))
          continue
        }
        let payload = try await client.blob(repository, layer.digest, limit: 1 << 20)
        rows.append(verifier.check(payload: payload, layer: layer, expected: digest, location: location))
      }
    }
    guard required || !verifier.keys.isEmpty else { return (rows, nil) }
    if let ok = rows.first(where: \.isVerified), case .verified(let key) = ok.verdict {
      let who = ok.identity.map { ", identity \($0)" } ?? ""
      return (rows, Check(name: "signature", passed: true, detail: "verified with \(key) (\(ok.location)\(who))"))
    }
    let detail: String
    if rows.isEmpty {
      detail = "no cosign signature found for \(digest.short) (looked for \(Cosign.tag(digest, .signature)) and signature referrers)"
    } else if rows.allSatisfy({ if case .unsupported = $0.verdict { true } else { false } }) {
      detail = "only signatures Gantry cannot verify yet: " + rows.map { "\($0.location): \($0.detail)" }.joined(separator: "; ")
    } else {
      detail = "no signature verifies: " + rows.map { "\($0.location): \($0.detail)" }.joined(separator: "; ")
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
