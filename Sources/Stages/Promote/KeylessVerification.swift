import Basics
import FoundationEssentials
import OCI
import Sigstore

/// One attestation (or signature bundle) found for the image, and what verifying it showed.
struct AttestationCheck: Sendable {
  var location: String
  var predicateType: String?
  /// The verified signer identity and issuer (from the certificate: untrusted text).
  var signer: String?
  /// What the verified certificate says about the run that signed (its source repository and ref).
  var identity: FulcioIdentity?
  var error: String?
  var provenance: Provenance?
  var isVerified: Bool { error == nil }
}

/// Verifies keyless cosign signatures and attestations of a digest with the Sigstore module:
/// `.sig`/`.att` layers with cosign's certificate annotations, and Sigstore bundles stored as
/// OCI referrers (cosign's bundle format, GitHub artifact attestations).
struct KeylessVerification: Sendable {
  let root: TrustedRoot
  let policy: IdentityPolicy

  /// cosign v3 signs images as an in-toto statement with this predicate type.
  static let cosignSignPredicate = "https://sigstore.dev/cosign/sign/v1"
  static let maxBundle = 4 << 20
  /// Candidates verified per digest: a registry listing thousands of bundles costs no more.
  static let maxCandidates = 32

  var verifier: BundleVerifier { BundleVerifier(root: root, policy: policy) }

  static func describe(_ v: VerifiedSignature) -> String {
    "keyless identity \(v.identity.subject) (issuer \(v.identity.issuer ?? "none"))"
  }

  /// A keyless `.sig` layer: the payload names the digest and the bundle made of the layer's
  /// annotations verifies over the payload's exact bytes.
  func checkSignature(payload: Data, layer: Descriptor, expected digest: Digest, location: String) async -> SignatureCheck {
    let (identity, invalid) = SimpleSigningPayload.inspect(payload, layer: layer, signing: digest)
    func result(_ v: SignatureCheck.Verdict) -> SignatureCheck { SignatureCheck(location: location, verdict: v, identity: identity) }
    if let invalid { return result(.invalid(invalid)) }
    do {
      let bundle = try CosignKeyless.signatureBundle(annotations: layer.annotations ?? [:])
      let v = try await verifier.verify(bundle, artifact: .bytes(payload))
      return result(.verified(key: Self.describe(v)))
    } catch {
      return result(.invalid("keyless: \(error.message)"))
    }
  }

  /// A DSSE attestation (a cosign `.att` layer or a bundle): verified, about `digest`.
  func checkAttestation(_ bundle: SigstoreBundle, expected digest: Digest, location: String) async -> AttestationCheck {
    var check = AttestationCheck(location: location)
    guard case .dsse(let env) = bundle.content else {
      check.error = "a message-signature bundle, not an attestation"
      return check
    }
    check.predicateType = (try? InTotoStatement(payloadType: env.payloadType, payload: env.payload))?.predicateType
    do {
      let v = try await verifier.verify(bundle, artifact: .sha256(Data(hexDigest: digest.hex)))
      check.signer = Self.describe(v)
      check.identity = v.identity
      let statement = try InTotoStatement(payloadType: v.payloadType ?? "", payload: v.payload ?? Data())
      check.predicateType = statement.predicateType
      if Provenance.isProvenance(statement.predicateType) { check.provenance = try Provenance(predicateType: statement.predicateType, predicate: statement.predicate) }
    } catch {
      check.error = error.message
    }
    return check
  }

  /// Every attestation and signature bundle attached to `digest`.
  func attestations(of digest: Digest, attachments: [Attachment], client: RegistryClient, repository: String) async throws -> [AttestationCheck] {
    var out: [AttestationCheck] = []
    for a in attachments where a.subject == digest {
      guard out.count < Self.maxCandidates else { break }
      guard case .image(_, let layers, _, _) = a.manifest.content else { continue }
      if a.kind == .tag(.attestation) {
        for (i, layer) in layers.enumerated().prefix(Self.maxCandidates) where layer.mediaType == Cosign.dsse {
          let location = "\(a.tag ?? "") layer \(i + 1)"
          let bytes = try await client.blob(repository, layer.digest, limit: Self.maxBundle)
          do {
            let env = try DSSEEnvelope(json: bytes)
            out.append(await checkAttestation(try CosignKeyless.attestationBundle(envelope: env, annotations: layer.annotations ?? [:]), expected: digest, location: location))
          } catch {
            out.append(AttestationCheck(location: location, error: error.message))
          }
        }
      } else if a.kind == .referrer, (a.descriptor.artifactType ?? "").hasPrefix(Cosign.bundleArtifactPrefix) {
        let location = "referrer \(a.manifest.digest.short)"
        guard let layer = layers.first(where: { $0.mediaType.hasPrefix(Cosign.bundleArtifactPrefix) }) ?? layers.first else { continue }
        let bytes = try await client.blob(repository, layer.digest, limit: Self.maxBundle)
        do {
          out.append(await checkAttestation(try SigstoreBundle(json: bytes), expected: digest, location: location))
        } catch {
          out.append(AttestationCheck(location: location, error: error.message))
        }
      }
    }
    return out
  }
}

extension Data {
  /// Bytes of a digest's hex (validated lower-case hex by ``Digest``).
  init(hexDigest hex: String) {
    var d = Data(capacity: hex.utf8.count / 2)
    var hi: UInt8?
    for c in hex.utf8 {
      let v: UInt8 = c >= 97 ? c &- 87 : c &- 48
      if let h = hi {
        d.append(h << 4 | (v & 0x0F))
        hi = nil
      } else {
        hi = v & 0x0F
      }
    }
    self = d
  }
}

extension Error {
  /// A Sigstore error's message, or the error's description.
  var message: String { (self as? SigstoreError)?.message ?? "\(self)" }
}
