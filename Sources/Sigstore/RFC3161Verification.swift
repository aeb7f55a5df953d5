import Basics
import Crypto
import FoundationEssentials
import SwiftASN1
@_spi(FixedExpiryValidationTime) import X509
import _CryptoExtras

/// What a verified RFC 3161 timestamp proves: a timestamp authority of the trusted root saw
/// the signature at `time`.
public struct VerifiedTimestamp: Sendable {
  public var time: Date
  /// The trusted root's timestamp authority (URI) whose chain the signer's certificate ends in.
  public var authority: String
}

extension RFC3161Timestamp {
  /// Verifies the token as Sigstore clients do: the imprint is the hash of `signature` (the
  /// bundle's message signature, or its DSSE envelope's signature); the signed attributes
  /// carry the TSTInfo's digest and content type; the signature over them verifies with the
  /// signer's key; the signer holds the timeStamping EKU (critical, the only usage) and chains,
  /// at genTime, to a timestamp authority of `root` whose `validFor` holds genTime.
  public func verify(signature signed: Data, root: TrustedRoot, now: Date) async throws(SigstoreError) -> VerifiedTimestamp {
    guard imprintAlgorithm.hash(signed) == hashedMessage else {
      throw SigstoreError(.time, "RFC 3161 timestamp is for another signature (message imprint differs from the hash of the bundle's signature)")
    }
    guard digestAlgorithm.hash(encapsulatedContent) == messageDigest else {
      throw SigstoreError(.signature, "RFC 3161 timestamp's signed messageDigest is not the digest of its TSTInfo")
    }
    guard genTime <= now.addingTimeInterval(60) else { throw SigstoreError(.time, "RFC 3161 timestamp's genTime is in the future") }
    guard !root.timestampAuthorities.isEmpty else {
      throw SigstoreError(.time, "bundle carries an RFC 3161 timestamp but the trusted root (\(root.name)) lists no timestamp authority")
    }
    // The signer: an embedded certificate or one of the root's TSA chains, as `sid` names it.
    let candidates = certificates + root.timestampAuthorities.flatMap(\.chain)
    guard let signer = candidates.first(where: { matches($0) }) else {
      throw SigstoreError(.time, "RFC 3161 timestamp's signer is neither embedded nor a timestamp authority of \(root.name)")
    }
    let signerDER = VerificationKey.der(signer)
    if let ess = signingCertificateHash, ess.algorithm.hash(signerDER) != ess.hash {
      throw SigstoreError(.signature, "RFC 3161 timestamp's signing-certificate attribute names another certificate than its signer")
    }
    guard Self.verifies(signature, over: signedAttributes, key: signer.publicKey, algorithm: signatureAlgorithm, digest: digestAlgorithm) else {
      throw SigstoreError(.signature, "RFC 3161 timestamp's signature does not verify with its signer's key")
    }
    // RFC 3161 §2.3: the TSA certificate has one EKU, timeStamping, and it is critical.
    let ekuExtension = signer.extensions[oid: .X509ExtensionID.extendedKeyUsage]
    let eku: ExtendedKeyUsage?
    do { eku = try signer.extensions.extendedKeyUsage } catch { throw SigstoreError(.certificate, "timestamp authority certificate's extended key usage does not decode") }
    guard let eku, ekuExtension?.critical == true, eku.count == 1, eku.contains(.timeStamping) else {
      throw SigstoreError(.certificate, "timestamp authority certificate lacks the critical extended key usage timeStamping (alone)")
    }
    let (match, failures) = await CertificateChain.firstChaining(
      signer, intermediates: certificates, at: genTime, among: root.timestampAuthorities, leafPolicy: TimeStampingLeafPolicy())
    if let (tsa, _) = match { return VerifiedTimestamp(time: genTime, authority: tsa.uri) }
    throw SigstoreError(
      .time,
      "RFC 3161 timestamp's signer does not chain to a timestamp authority of \(root.name) valid at \(UTCTime(genTime).iso8601())"
        + (failures.isEmpty ? "" : " (\(failures.prefix(3).joined(separator: "; ")))"))
  }

  /// Whether `cert` is the certificate the SignerInfo's `sid` names.
  public func matches(_ cert: Certificate) -> Bool {
    switch signerID {
    case .issuerAndSerial(let issuer, let serial): return cert.issuer == issuer && cert.serialNumber == serial
    case .subjectKeyIdentifier(let ski):
      guard let mine = try? cert.extensions.subjectKeyIdentifier else { return false }
      return Data(mine.keyIdentifier) == ski
    }
  }

  /// ECDSA (P-256, P-384, P-521) or RSA PKCS#1 v1.5 over the signed attributes, hashed as the
  /// signature algorithm names (ecdsa-with-SHA*, sha*WithRSAEncryption) or, for a bare key
  /// algorithm (id-ecPublicKey, rsaEncryption), with the signer's digest algorithm. RSA-PSS is
  /// not accepted (no Sigstore TSA uses it).
  static func verifies(_ signature: Data, over message: Data, key: Certificate.PublicKey, algorithm: ASN1ObjectIdentifier, digest: HashAlgorithm) -> Bool {
    let hash: HashAlgorithm
    let rsa: Bool
    switch algorithm {
    case [1, 2, 840, 10045, 4, 3, 2]: (hash, rsa) = (.sha256, false)
    case [1, 2, 840, 10045, 4, 3, 3]: (hash, rsa) = (.sha384, false)
    case [1, 2, 840, 10045, 4, 3, 4]: (hash, rsa) = (.sha512, false)
    case [1, 2, 840, 10045, 2, 1]: (hash, rsa) = (digest, false)
    case [1, 2, 840, 113549, 1, 1, 11]: (hash, rsa) = (.sha256, true)
    case [1, 2, 840, 113549, 1, 1, 12]: (hash, rsa) = (.sha384, true)
    case [1, 2, 840, 113549, 1, 1, 13]: (hash, rsa) = (.sha512, true)
    case [1, 2, 840, 113549, 1, 1, 1]: (hash, rsa) = (digest, true)
    default: return false
    }
    if rsa {
      guard let k = _RSA.Signing.PublicKey(key) else { return false }
      let s = _RSA.Signing.RSASignature(rawRepresentation: signature)
      return isValid(hash, message) { k.isValidSignature(s, for: $0, padding: .insecurePKCS1v1_5) }
    }
    if let k = P256.Signing.PublicKey(key), let s = try? P256.Signing.ECDSASignature(derRepresentation: signature) {
      return isValid(hash, message) { k.isValidSignature(s, for: $0) }
    }
    if let k = P384.Signing.PublicKey(key), let s = try? P384.Signing.ECDSASignature(derRepresentation: signature) {
      return isValid(hash, message) { k.isValidSignature(s, for: $0) }
    }
    if let k = P521.Signing.PublicKey(key), let s = try? P521.Signing.ECDSASignature(derRepresentation: signature) {
      return isValid(hash, message) { k.isValidSignature(s, for: $0) }
    }
    return false
  }

  /// Hashes `message` with `hash` and hands the digest to `check` (a key's signature check,
  /// generic over the digest type: the existential is opened at the call).
  private static func isValid(_ hash: HashAlgorithm, _ message: Data, _ check: (any Digest) -> Bool) -> Bool {
    switch hash {
    case .sha256: check(SHA256.hash(data: message))
    case .sha384: check(SHA384.hash(data: message))
    case .sha512: check(SHA512.hash(data: message))
    case .sha1: false
    }
  }
}

/// Declares the TSA leaf's critical EKU as handled: `verify` checks it (timeStamping alone).
struct TimeStampingLeafPolicy: VerifierPolicy {
  let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [.X509ExtensionID.extendedKeyUsage]
  mutating func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult { .meetsPolicy }
}

extension VerificationKey {
  /// A certificate's DER (for ESS certificate hashes).
  static func der(_ c: Certificate) -> Data {
    var s = DER.Serializer()
    guard (try? s.serialize(c)) != nil else { return Data() }
    return Data(s.serializedBytes)
  }
}
