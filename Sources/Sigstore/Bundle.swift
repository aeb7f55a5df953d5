import Basics
import Crypto
import FoundationEssentials
import SwiftASN1
import X509

/// A Sigstore bundle (https://github.com/sigstore/protobuf-specs), versions 0.1, 0.2 and 0.3:
/// the signature (over a message, or a DSSE envelope), the signing certificate, and the proof
/// that the transparency log has the signature (and when).
public struct SigstoreBundle: Sendable {
  public enum Version: String, Sendable, CaseIterable {
    case v0_1 = "0.1", v0_2 = "0.2", v0_3 = "0.3"
  }
  public enum Content: Sendable {
    /// A signature over the artifact's bytes; `digest` is the SHA-256 the bundle states.
    case message(digest: Data?, signature: Data)
    case dsse(DSSEEnvelope)
  }
  public var version: Version
  /// Leaf first. Empty when the bundle names a key (`publicKey`) instead: not keyless.
  public var certificates: [Certificate]
  /// The DER of each certificate, as given (compared with the log entry's).
  public var certificateDER: [Data]
  public var publicKeyHint: String?
  public var tlogEntries: [TransparencyLogEntry]
  /// RFC 3161 signed timestamps (DER), from `timestampVerificationData`.
  public var rfc3161Timestamps: [Data]
  public var content: Content

  /// Caps: hostile bundles are refused before any work.
  public static let maxEntries = 8
  public static let maxCertificates = 10
  public static let maxTimestamps = 8

  /// The media types of each version.
  public static func version(ofMediaType mediaType: String) -> Version? {
    switch mediaType {
    case "application/vnd.dev.sigstore.bundle+json;version=0.1": .v0_1
    case "application/vnd.dev.sigstore.bundle+json;version=0.2": .v0_2
    case "application/vnd.dev.sigstore.bundle+json;version=0.3", "application/vnd.dev.sigstore.bundle.v0.3+json": .v0_3
    default: nil
    }
  }

  /// Parses and checks the shape rules of the bundle's version.
  public init(json: Data) throws(SigstoreError) {
    let doc = try ProtoJSON.decode(Document.self, json, what: "Sigstore bundle")
    guard let v = Self.version(ofMediaType: doc.mediaType) else {
      throw SigstoreError(.malformed, "unknown bundle mediaType (want application/vnd.dev.sigstore.bundle+json;version=0.1|0.2|0.3 or application/vnd.dev.sigstore.bundle.v0.3+json)")
    }
    version = v
    let m = doc.verificationMaterial
    // Certificates: v0.1/v0.2 carry a chain, v0.3 the leaf alone (a chain is still read).
    var ders: [Data] = []
    if let chain = m.x509CertificateChain {
      guard let certs = chain.certificates, !certs.isEmpty else { throw SigstoreError(.malformed, "bundle has an empty certificate chain") }
      ders = certs.map(\.rawBytes.data)
    }
    if let leaf = m.certificate { ders = [leaf.rawBytes.data] }
    publicKeyHint = m.publicKey?.hint
    guard !ders.isEmpty || publicKeyHint != nil else { throw SigstoreError(.malformed, "bundle has no certificate and no public key") }
    guard ders.count <= Self.maxCertificates else { throw SigstoreError(.tooLarge, "bundle has \(ders.count) certificates (at most \(Self.maxCertificates))") }
    var certs: [Certificate] = []
    for (i, der) in ders.enumerated() {
      do { certs.append(try Certificate(derEncoded: Array(der))) } catch { throw SigstoreError(.malformed, "bundle certificate \(i + 1) is not DER X.509") }
    }
    certificates = certs
    certificateDER = ders
    let entries = m.tlogEntries ?? []
    guard entries.count <= Self.maxEntries else { throw SigstoreError(.tooLarge, "bundle has \(entries.count) log entries (at most \(Self.maxEntries))") }
    tlogEntries = try entries.map { e throws(SigstoreError) in try TransparencyLogEntry(e) }
    let stamps = m.timestampVerificationData?.rfc3161Timestamps ?? []
    guard stamps.count <= Self.maxTimestamps else { throw SigstoreError(.tooLarge, "bundle has \(stamps.count) timestamps (at most \(Self.maxTimestamps))") }
    rfc3161Timestamps = stamps.map(\.signedTimestamp.data)
    switch (doc.messageSignature, doc.dsseEnvelope) {
    case (let ms?, nil):
      if let d = ms.messageDigest, d.algorithm != "SHA2_256" { throw SigstoreError(.malformed, "message digest algorithm \(d.algorithm.prefix(20)) is not SHA2_256") }
      content = .message(digest: ms.messageDigest?.digest.data, signature: ms.signature.data)
    case (nil, let env?):
      let envelope = try DSSEEnvelope(env)
      guard envelope.signatures.count == 1 else { throw SigstoreError(.malformed, "a bundle's DSSE envelope must have exactly one signature") }
      content = .dsse(envelope)
    default:
      throw SigstoreError(.malformed, "bundle must hold exactly one of messageSignature and dsseEnvelope")
    }
    // Version rules: v0.1 needs the signed entry timestamp (its inclusion proof is optional);
    // from v0.2 on every entry carries an inclusion proof with its checkpoint.
    for e in tlogEntries {
      switch v {
      case .v0_1:
        guard e.signedEntryTimestamp != nil else { throw SigstoreError(.malformed, "bundle v0.1: log entry \(e.logIndex) has no inclusionPromise") }
      case .v0_2, .v0_3:
        guard let p = e.inclusionProof else { throw SigstoreError(.malformed, "bundle v\(v.rawValue): log entry \(e.logIndex) has no inclusionProof") }
        guard p.checkpoint != nil else { throw SigstoreError(.malformed, "bundle v\(v.rawValue): log entry \(e.logIndex)'s inclusion proof has no checkpoint") }
      }
    }
  }

  /// A bundle assembled from parts (cosign's layer annotations): version 0.1 rules (a SET).
  init(certificates: [Certificate], certificateDER: [Data], tlogEntries: [TransparencyLogEntry], content: Content) {
    version = .v0_1
    self.certificates = certificates
    self.certificateDER = certificateDER
    publicKeyHint = nil
    self.tlogEntries = tlogEntries
    rfc3161Timestamps = []
    self.content = content
  }

  /// The leaf (signing) certificate, when keyless.
  public var leaf: Certificate? { certificates.first }

  struct Document: Decodable {
    struct Raw: Decodable { var rawBytes: Base64Bytes }
    struct Chain: Decodable { var certificates: [Raw]? }
    struct KeyHint: Decodable { var hint: String? }
    struct Stamp: Decodable { var signedTimestamp: Base64Bytes }
    struct Stamps: Decodable { var rfc3161Timestamps: [Stamp]? }
    struct Material: Decodable {
      var x509CertificateChain: Chain?
      var certificate: Raw?
      var publicKey: KeyHint?
      var tlogEntries: [TransparencyLogEntry.Document]?
      var timestampVerificationData: Stamps?
    }
    struct HashOutput: Decodable {
      var algorithm: String
      var digest: Base64Bytes
    }
    struct MessageSignature: Decodable {
      var messageDigest: HashOutput?
      var signature: Base64Bytes
    }
    var mediaType: String
    var verificationMaterial: Material
    var messageSignature: MessageSignature?
    var dsseEnvelope: DSSEEnvelope.Document?
  }
}
