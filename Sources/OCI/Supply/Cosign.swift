import Basics
import Crypto
import FoundationEssentials

/// Names from cosign's [signature specification](https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md)
/// and its tag conventions (`sha256-<hex>.sig|.att|.sbom`).
public enum Cosign {
  /// Layer media type of a simple-signing payload.
  public static let simpleSigning = "application/vnd.dev.cosign.simplesigning.v1+json"
  /// Base64 signature over the exact payload bytes.
  public static let signatureAnnotation = "dev.cosignproject.cosign/signature"
  /// Present on keyless (Fulcio) signatures.
  public static let certificateAnnotation = "dev.sigstore.cosign/certificate"
  /// `artifactType` of signatures stored as OCI 1.1 referrers (`--registry-referrers-mode=oci-1-1`).
  public static let signatureArtifactType = "application/vnd.dev.cosign.artifact.sig.v1+json"
  /// `artifactType` of the sigstore bundle format (cosign v3 `--new-bundle-format`).
  public static let bundleArtifactPrefix = "application/vnd.dev.sigstore.bundle"
  /// Layer media type of attestations (in-toto in DSSE).
  public static let dsse = "application/vnd.dsse.envelope.v1+json"

  /// The suffixes cosign attaches by tag.
  public enum Attachment: String, Sendable, CaseIterable {
    case signature = "sig", attestation = "att", sbom = "sbom"
  }

  /// `sha256-<hex>.<suffix>`.
  public static func tag(_ digest: Digest, _ attachment: Attachment) -> String {
    "\(referrersTag(digest)).\(attachment.rawValue)"
  }

  /// `sha256-<hex>`: the OCI referrers fallback tag
  /// ([distribution-spec, referrers tag schema](https://github.com/opencontainers/distribution-spec/blob/main/spec.md#referrers-tag-schema)).
  public static func referrersTag(_ digest: Digest) -> String {
    digest.description.replacingOccurrences(of: ":", with: "-")
  }
}

/// The simple-signing payload cosign signs:
/// `{"critical":{"identity":{"docker-reference":…},"image":{"docker-manifest-digest":…},"type":"cosign container image signature"},"optional":…}`.
public struct SimpleSigningPayload: Sendable, Decodable {
  public struct Critical: Sendable, Decodable {
    public struct Identity: Sendable, Decodable {
      public var dockerReference: String?
      enum CodingKeys: String, CodingKey { case dockerReference = "docker-reference" }
    }
    public struct Image: Sendable, Decodable {
      public var dockerManifestDigest: String
      enum CodingKeys: String, CodingKey { case dockerManifestDigest = "docker-manifest-digest" }
    }
    public var identity: Identity?
    public var image: Image
    public var type: String?
  }
  public var critical: Critical

  /// `critical.type` of a cosign image signature.
  public static let signatureType = "cosign container image signature"

  /// What every cosign `.sig` layer must show before its signature is looked at, whether the
  /// signature is a key's or keyless: the payload is the layer's bytes, is a simple-signing
  /// document, and names `digest`.
  /// - Returns: the payload's `docker-reference` (for the summary) and why the layer is
  ///   invalid (nil: the signature decides).
  public static func inspect(_ payload: Data, layer: Descriptor, signing digest: Digest) -> (identity: String?, invalid: String?) {
    let decoded = try? JSONDecoder().decode(SimpleSigningPayload.self, from: payload)
    let identity = decoded?.critical.identity?.dockerReference?.clipped(to: 300)
    guard Digest.sha256(payload) == layer.digest else { return (identity, "payload bytes do not match the layer digest (tampered)") }
    guard let decoded else { return (identity, "payload is not a cosign simple-signing document") }
    // As cosign reads it (sigstore's payload package): a document of another type, signed by
    // the same key or identity for another purpose, is not a signature of the image.
    guard decoded.critical.type == signatureType else {
      return (identity, "payload type is \(decoded.critical.type.map { "'\($0.clipped(to: 80))'" } ?? "missing"), not '\(signatureType)'")
    }
    guard decoded.critical.image.dockerManifestDigest == digest.description else {
      // The registry's text: quoted cut (a digest is at most 135 characters).
      return (identity, "payload signs \(decoded.critical.image.dockerManifestDigest.clipped(to: 140)), not \(digest)")
    }
    return (identity, nil)
  }
}

/// A cosign public key: ECDSA P-256 in a PEM `PUBLIC KEY` block, as `cosign generate-key-pair` writes.
public struct CosignPublicKey: Sendable {
  /// The largest key file read: a PEM public key is a few hundred bytes.
  public static let maxFileBytes = 64 << 10

  /// The key's DER (SubjectPublicKeyInfo) bytes; swift-crypto's key type is not Sendable.
  public let der: Data
  /// Where the key came from (a path, or "key 1" for inline PEM), for the summary.
  public let name: String
  /// First 8 hex of sha256 over the DER key: tells keys apart in a summary without printing them.
  public let fingerprint: String

  public init(pem: String, name: String) throws(SignatureError) {
    let key: P256.Signing.PublicKey
    do { key = try P256.Signing.PublicKey(pemRepresentation: pem) } catch {
      throw .badKey(name: name, why: "not an ECDSA P-256 public key in PEM (-----BEGIN PUBLIC KEY-----), as cosign generate-key-pair writes")
    }
    self.name = name
    der = key.derRepresentation
    fingerprint = String(Digest.sha256(der).hex.prefix(8))
  }

  /// Keys from an input that holds PEM blocks, file paths (one per line), or both.
  public static func parse(_ text: String, readFile: (String) throws -> String) throws(SignatureError) -> [CosignPublicKey] {
    var keys: [CosignPublicKey] = []
    var block: [Substring]?
    for line in text.split(whereSeparator: \.isNewline).map({ $0.trimmingCharacters(in: .whitespaces) }) where !line.isEmpty {
      if line.hasPrefix("-----BEGIN") {
        block = [Substring(line)]
      } else if var b = block {
        b.append(Substring(line))
        if line.hasPrefix("-----END") {
          keys.append(try CosignPublicKey(pem: b.joined(separator: "\n"), name: "key \(keys.count + 1)"))
          block = nil
        } else {
          block = b
        }
      } else {
        let pem: String
        do { pem = try readFile(line) } catch { throw .badKey(name: line.clipped(to: 100), why: "cannot read the file (\("\(error)".clipped(to: 200)))") }
        keys.append(try CosignPublicKey(pem: pem, name: line.clipped(to: 100)))
      }
    }
    if block != nil { throw .badKey(name: "key \(keys.count + 1)", why: "PEM block without its -----END line") }
    return keys
  }

  /// Whether `signature` (base64 of a DER ECDSA signature, or raw r‖s) verifies over `payload`.
  func verifies(_ signature: Data, over payload: Data) -> Bool {
    guard let key = try? P256.Signing.PublicKey(derRepresentation: der) else { return false }
    if let der = try? P256.Signing.ECDSASignature(derRepresentation: signature), key.isValidSignature(der, for: payload) { return true }
    if let raw = try? P256.Signing.ECDSASignature(rawRepresentation: signature), key.isValidSignature(raw, for: payload) { return true }
    return false
  }
}

public enum SignatureError: Error, Sendable, Equatable, CustomStringConvertible {
  case badKey(name: String, why: String)

  public var description: String {
    switch self {
    case .badKey(let name, let why): "cosign-public-key (\(name)): \(why)"
    }
  }
}

/// One signature found for an image, and what checking it gave.
public struct SignatureCheck: Sendable, Equatable {
  public enum Verdict: Sendable, Equatable {
    /// Verified with the named key.
    case verified(key: String)
    /// Not valid, with the reason.
    case invalid(String)
    /// A kind Gantry cannot verify yet (keyless, sigstore bundle).
    case unsupported(String)
  }
  /// Where it was found: `sha256-….sig` layer 1, or a referrer digest.
  public var location: String
  public var verdict: Verdict
  /// `critical.identity.docker-reference` from the payload, when it decoded.
  public var identity: String?

  public init(location: String, verdict: Verdict, identity: String?) {
    self.location = location
    self.verdict = verdict
    self.identity = identity
  }

  public var isVerified: Bool { if case .verified = verdict { true } else { false } }
}

/// Checks cosign simple-signing signatures against public keys for one image digest.
public struct SignatureVerifier: Sendable {
  public let keys: [CosignPublicKey]

  public init(keys: [CosignPublicKey]) { self.keys = keys }

  /// Checks one signature layer: the payload must name `digest`, and the
  /// `dev.cosignproject.cosign/signature` annotation must verify over the exact payload bytes.
  public func check(payload: Data, layer: Descriptor, expected digest: Digest, location: String) -> SignatureCheck {
    let annotations = layer.annotations ?? [:]
    let (identity, invalid) = SimpleSigningPayload.inspect(payload, layer: layer, signing: digest)
    func result(_ v: SignatureCheck.Verdict) -> SignatureCheck { SignatureCheck(location: location, verdict: v, identity: identity) }
    if let invalid { return result(.invalid(invalid)) }
    guard let b64 = annotations[Cosign.signatureAnnotation], let signature = Data(base64Encoded: b64) else {
      return result(.invalid("no base64 \(Cosign.signatureAnnotation) annotation"))
    }
    if let key = keys.first(where: { $0.verifies(signature, over: payload) }) {
      return result(.verified(key: key.name))
    }
    if annotations[Cosign.certificateAnnotation] != nil {
      return result(.unsupported("keyless signature (Fulcio certificate): set certificate-identity and certificate-oidc-issuer (or signer-repository) to verify it"))
    }
    return result(.invalid("signature does not verify with \(keys.map { "\($0.name) (\($0.fingerprint))" }.joined(separator: ", "))"))
  }
}
