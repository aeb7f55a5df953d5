import Basics
import FoundationEssentials
import SwiftASN1
@_spi(FixedExpiryValidationTime) import X509

/// Checks a Fulcio signing certificate: it chains to a certificate authority of the trusted
/// root, every certificate valid at the verified signing time, the CA's `validFor` window
/// holding that time, and the leaf allowed to sign code (extended key usage).
public enum CertificateChain {
  /// Verifies `leaf` (with the bundle's other certificates as candidate intermediates) at
  /// `time`. Returns the URI of the authority it chains to and the leaf's issuer.
  public static func verify(leaf: Certificate, intermediates: [Certificate], at time: Date, root: TrustedRoot) async throws(SigstoreError) -> (authority: String, issuer: Certificate) {
    // A bundle carries the leaf and intermediates at most: a root in it is an attempt to
    // smuggle trust in (sigstore-conformance bundle-with-root-cert).
    for c in [leaf] + intermediates where c.issuer == c.subject {
      throw SigstoreError(.certificate, "bundle carries a self-signed (root) certificate; roots come from the trusted root only")
    }
    let eku: ExtendedKeyUsage?
    do { eku = try leaf.extensions.extendedKeyUsage } catch { throw SigstoreError(.certificate, "signing certificate's extended key usage does not decode") }
    guard let eku, eku.contains(.codeSigning) else { throw SigstoreError(.certificate, "signing certificate is not for code signing (no extended key usage codeSigning)") }
    let (match, failures) = await CertificateChain.firstChaining(leaf, intermediates: intermediates, at: time, among: root.certificateAuthorities, leafPolicy: CodeSigningLeafPolicy())
    if let (ca, chain) = match {
      guard chain.count >= 2 else { throw SigstoreError(.certificate, "the signing certificate is itself a trusted root") }
      return (ca.uri, chain[1])
    }
    let signed = UTCTime(time).iso8601()
    if root.certificateAuthorities.isEmpty { throw SigstoreError(.certificate, "the trusted root (\(root.name)) has no certificate authority") }
    throw SigstoreError(
      .certificate,
      "signing certificate does not chain to a certificate authority of \(root.name) valid at \(signed)" + (failures.isEmpty ? "" : " (\(failures.prefix(3).joined(separator: "; ")))"))
  }
}

extension CertificateChain {
  /// The first of `authorities` whose `validFor` window holds `time` and whose root `leaf`
  /// chains to at `time` (RFC 5280 plus `leafPolicy`), with the validated chain (leaf first);
  /// else nil and why each refused. One owner for Fulcio CAs and timestamp authorities alike.
  static func firstChaining<Policy: VerifierPolicy>(
    _ leaf: Certificate, intermediates: [Certificate], at time: Date, among authorities: [TrustedRoot.Authority], leafPolicy: Policy
  ) async -> (match: (TrustedRoot.Authority, [Certificate])?, failures: [String]) {
    var failures: [String] = []
    for authority in authorities {
      guard let anchor = authority.chain.last else { continue }
      guard authority.validity.contains(time) else {
        failures.append("\(authority.uri) not valid at \(UTCTime(time).iso8601())")
        continue
      }
      var verifier = Verifier(rootCertificates: CertificateStore([anchor])) {
        RFC5280Policy(fixedExpiryValidationTime: time)
        leafPolicy
      }
      switch await verifier.validate(leaf: leaf, intermediates: CertificateStore(authority.chain.dropLast() + intermediates)) {
      case .validCertificate(let chain): return ((authority, Array(chain)), failures)
      case .couldNotValidate(let f): failures.append(f.first.map { "\($0.policyFailureReason)".prefix(160).description } ?? "no chain to \(authority.uri)")
      }
    }
    return (nil, failures)
  }
}

/// Declares the leaf extensions Fulcio marks critical (SAN, EKU) as handled: this verifier
/// reads them (the identity policy and the code-signing check above).
struct CodeSigningLeafPolicy: VerifierPolicy {
  let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [.X509ExtensionID.subjectAlternativeName, .X509ExtensionID.extendedKeyUsage]
  mutating func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult { .meetsPolicy }
}
