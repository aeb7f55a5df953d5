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
      default: continue
      }
      if subject != nil { break }
    }
    guard let subject else { throw SigstoreError(.certificate, "signing certificate has no subject alternative name (no signer identity)") }
    self.subject = subject
    func v1(_ oid: ASN1ObjectIdentifier) -> String? {
      cert.extensions[oid: oid].flatMap { String(bytes: $0.value, encoding: .utf8) }
    }
    func v2(_ oid: ASN1ObjectIdentifier) -> String? {
      guard let e = cert.extensions[oid: oid], let s = try? ASN1UTF8String(derEncoded: e.value) else { return nil }
      return String(s)
    }
    issuer = v2(OID.issuer) ?? v1(OID.issuerV1)
    sourceRepositoryURI = v2(OID.sourceRepositoryURI) ?? v1(OID.repositoryV1).map { "https://github.com/\($0)" }
    sourceRepositoryRef = v2(OID.sourceRepositoryRef) ?? v1(OID.refV1)
    sourceRepositoryDigest = v2(OID.sourceRepositoryDigest) ?? v1(OID.shaV1)
    buildConfigURI = v2(OID.buildConfigURI)
    buildSignerURI = v2(OID.buildSignerURI)
    buildTrigger = v2(OID.buildTrigger) ?? v1(OID.triggerV1)
    runInvocationURI = v2(OID.runInvocationURI)
  }

  public init(subject: String, issuer: String?) {
    self.subject = subject
    self.issuer = issuer
  }
}
