import Basics
import Crypto
import FoundationEssentials
import SwiftASN1
import X509

/// A public key that checks Sigstore signatures: ECDSA P-256 (SHA-256), P-384 (SHA-384 or SHA-256),
/// or Ed25519: the key types of Sigstore's public-good Fulcio, Rekor, CT logs and TSA.
public struct VerificationKey: Sendable, Hashable {
  public let key: Certificate.PublicKey
  /// SHA-256 of the DER SubjectPublicKeyInfo: Rekor's log ID and the CT log ID.
  public let keyID: Data

  public init(_ key: Certificate.PublicKey) {
    self.key = key
    keyID = Data(SHA256.hash(data: Self.spki(key)))
  }

  /// The key's DER SubjectPublicKeyInfo (`subjectPublicKeyInfoBytes` is only the key bits).
  public static func spki(_ key: Certificate.PublicKey) -> Data {
    var s = DER.Serializer()
    guard (try? s.serialize(key)) != nil else { return Data() }
    return Data(s.serializedBytes)
  }

  /// From DER SubjectPublicKeyInfo bytes (the trusted root's `rawBytes`).
  public init(spki der: Data) throws(SigstoreError) {
    do { self.init(try Certificate.PublicKey(derEncoded: Array(der))) } catch {
      throw SigstoreError(.malformed, "public key is not a supported DER SubjectPublicKeyInfo (ECDSA P-256/P-384, Ed25519)")
    }
  }

  /// Whether `signature` verifies over `message` (hashed as the key type prescribes).
  public func verifies(_ signature: Data, over message: Data) -> Bool {
    if let k = P256.Signing.PublicKey(key) {
      if let s = try? P256.Signing.ECDSASignature(derRepresentation: signature) { return k.isValidSignature(s, for: message) }
      return false
    }
    if let k = P384.Signing.PublicKey(key) {
      // SHA-384 as the curve suggests, or SHA-256 as sigstore clients hash every artifact.
      if let s = try? P384.Signing.ECDSASignature(derRepresentation: signature) {
        return k.isValidSignature(s, for: SHA384.hash(data: message)) || k.isValidSignature(s, for: SHA256.hash(data: message))
      }
      return false
    }
    if let k = Curve25519.Signing.PublicKey(key) { return k.isValidSignature(signature, for: message) }
    return false
  }
}
