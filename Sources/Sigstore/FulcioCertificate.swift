import Basics
import FoundationEssentials
import SwiftASN1
import X509

/// What a Fulcio signing certificate says about who signed: the subject alternative name
/// (the OIDC identity: a workflow URI, an email), the OIDC issuer, and the GitHub Actions
/// claims Fulcio copies into its extensions (OIDs 1.3.6.1.4.1.57264.1.*,
/// https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md).
public struct FulcioIdentity: Sendable, Equatable {
  /// The SAN: URI, email, or other name (the first one).
  public var subject: String
  public var issuer: String?
  /// 1.12 Source Repository URI, e.g. https://github.com/owner/repo (or legacy 1.5 owner/repo).
  public var sourceRepositoryURI: String?
  /// 1.14 Source Repository Ref, e.g. refs/heads/main (or legacy 1.6).
  public var sourceRepositoryRef: String?
  /// 1.13 Source Repository Digest (commit; or legacy 1.3).
  public var sourceRepositoryDigest: String?
  /// 1.18 Build Config URI: the top-level workflow, `https://github.com/o/r/.github/workflows/x.yml@refs/…`.
  public var buildConfigURI: String?
  /// 1.9 Build Signer URI: the workflow that signed (a reusable workflow when one is used).
  public var buildSignerURI: String?
  /// 1.20 Build Trigger (push, release, workflow_dispatch…; or legacy 1.2).
  public var buildTrigger: String?
  /// 1.21 Run Invocation URI.
  public var runInvocationURI: String?

  enum OID {
    static let issuerV1: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 57264, 1, 1]
    static let triggerV1: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 57264, 1, 2]
    static let shaV1: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 57264, 1, 3]
    static let repositoryV1: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 57264, 1, 5]
    static let refV1: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 57264, 1, 6]
    /// The otherName SAN type of a username identity.
    static let username: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 57264, 1, 7]
    static let issuer: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 57264, 1, 8]
    static let buildSignerURI: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 57264, 1, 9]
    static let sourceRepositoryURI: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 57264, 1, 12]
    static let sourceRepositoryDigest: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 57264, 1, 13]
    static let sourceRepositoryRef: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 57264, 1, 14]
    static let buildConfigURI: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 57264, 1, 18]
    static let buildTrigger: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 57264, 1, 20]
    static let runInvocationURI: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 57264, 1, 21]
  }

  /// Reads the identity of a leaf certificate. A certificate with no SAN has no identity.
  public init(_ cert: Certificate) throws(SigstoreError) {
    let names: SubjectAlternativeNames?
    do { names = try cert.extensions.subjectAlternativeNames } catch { throw SigstoreError(.certificate, "signing certificate's subject alternative name does not decode") }
    // Fulcio certifies one identity. With two, whichever is read, a policy naming either one
    // would pass a certificate that also names the other.
    let all = Array(names ?? SubjectAlternativeNames([]))
    guard all.count <= 1 else {
      throw SigstoreError(.certificate, "signing certificate has \(all.count) subject alternative names: a Fulcio certificate names one signer")
    }
    var subject: String?
    for n in all {
      switch n {
      case .uniformResourceIdentifier(let s), .rfc822Name(let s), .dnsName(let s): subject = s
      case .otherName(let other) where other.typeID == OID.username:
        // Fulcio's username identity: `[0] EXPLICIT UTF8String` (cosign matches it as it matches
        // an e-mail or a URI).
        guard let value = other.value, let name = try? ASN1UTF8String(asn1Any: value) else {
          throw SigstoreError(.certificate, "signing certificate's username (otherName 1.3.6.1.4.1.57264.1.7) is not a DER UTF8String")
        }
        subject = String(name)
      default: continue
      }
      if subject != nil { break }
    }
    guard let subject else { throw SigstoreError(.certificate, "signing certificate has no subject alternative name (no signer identity)") }
    self.subject = subject
    func v1(_ oid: ASN1ObjectIdentifier) throws(SigstoreError) -> String? {
      guard let e = cert.extensions[oid: oid] else { return nil }
      guard let s = String(bytes: e.value, encoding: .utf8) else { throw SigstoreError(.certificate, "signing certificate's extension \(oid) is not UTF-8") }
      return s
    }
    func v2(_ oid: ASN1ObjectIdentifier) throws(SigstoreError) -> String? {
      guard let e = cert.extensions[oid: oid] else { return nil }
      guard let s = try? ASN1UTF8String(derEncoded: e.value) else { throw SigstoreError(.certificate, "signing certificate's extension \(oid) is not a DER UTF8String") }
      return String(s)
    }
    /// A claim Fulcio writes twice, in the legacy raw extension and its DER successor, with one
    /// value: a certificate whose two disagree names no single issuer (or repository, ref…),
    /// and one that does not decode is not read around.
    func claim(_ current: ASN1ObjectIdentifier, legacy: ASN1ObjectIdentifier, _ legacyForm: (String) -> String = { $0 }) throws(SigstoreError) -> String? {
      let new = try v2(current)
      guard let old = try v1(legacy).map(legacyForm) else { return new }
      guard let new else { return old }
      guard new == old else { throw SigstoreError(.certificate, "signing certificate's extensions \(legacy) and \(current) disagree (Fulcio writes one value in both)") }
      return new
    }
    issuer = try claim(OID.issuer, legacy: OID.issuerV1)
    sourceRepositoryURI = try claim(OID.sourceRepositoryURI, legacy: OID.repositoryV1) { "https://github.com/\($0)" }
    sourceRepositoryRef = try claim(OID.sourceRepositoryRef, legacy: OID.refV1)
    sourceRepositoryDigest = try claim(OID.sourceRepositoryDigest, legacy: OID.shaV1)
    buildConfigURI = try v2(OID.buildConfigURI)
    buildSignerURI = try v2(OID.buildSignerURI)
    buildTrigger = try claim(OID.buildTrigger, legacy: OID.triggerV1)
    runInvocationURI = try v2(OID.runInvocationURI)
  }

  public init(subject: String, issuer: String?) {
    self.subject = subject
    self.issuer = issuer
  }
}
