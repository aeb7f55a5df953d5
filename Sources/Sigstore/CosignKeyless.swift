import Basics
import FoundationEssentials
import SwiftASN1
import X509

/// cosign's keyless layout in a registry (https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md):
/// a `.sig` (or `.att`) layer whose annotations carry the Fulcio certificate, its chain, and the
/// Rekor entry's SET ("bundle"). Read here into a ``SigstoreBundle`` so one verifier checks both.
public enum CosignKeyless {
  public static let certificateAnnotation = "dev.sigstore.cosign/certificate"
  public static let chainAnnotation = "dev.sigstore.cosign/chain"
  public static let bundleAnnotation = "dev.sigstore.cosign/bundle"
  public static let signatureAnnotation = "dev.cosignproject.cosign/signature"

  static let maxAnnotation = 64 << 10

  /// The bundle of a keyless `.sig` layer: a message signature over the layer's payload.
  public static func signatureBundle(annotations: [String: String]) throws(SigstoreError) -> SigstoreBundle {
    guard let b64 = annotations[signatureAnnotation], let sig = ProtoJSON.base64(b64) else {
      throw SigstoreError(.malformed, "no base64 \(signatureAnnotation) annotation")
    }
    let (certs, ders) = try certificates(annotations)
    return SigstoreBundle(certificates: certs, certificateDER: ders, tlogEntries: try entries(annotations), content: .message(digest: nil, signature: sig))
  }

  /// The bundle of a keyless `.att` layer: the DSSE envelope (the layer's bytes).
  public static func attestationBundle(envelope: DSSEEnvelope, annotations: [String: String]) throws(SigstoreError) -> SigstoreBundle {
    guard envelope.signatures.count == 1 else { throw SigstoreError(.malformed, "attestation envelope must have exactly one signature") }
    let (certs, ders) = try certificates(annotations)
    return SigstoreBundle(certificates: certs, certificateDER: ders, tlogEntries: try entries(annotations), content: .dsse(envelope))
  }

  static func certificates(_ annotations: [String: String]) throws(SigstoreError) -> ([Certificate], [Data]) {
    guard let leafPEM = annotations[certificateAnnotation] else { throw SigstoreError(.malformed, "no \(certificateAnnotation) annotation (not a keyless signature)") }
    let leaf = try pemBlocks(leafPEM, what: "certificate")
    guard leaf.count == 1 else { throw SigstoreError(.malformed, "\(certificateAnnotation) must hold one certificate") }
    // The chain annotation ends with the root: roots come from the trusted root only, so
    // self-signed certificates are dropped here (the chain must still reach a trusted root).
    let chain = try pemBlocks(annotations[chainAnnotation] ?? "", what: "chain").filter { $0.0.issuer != $0.0.subject }
    let all = leaf + chain
    guard all.count <= SigstoreBundle.maxCertificates else { throw SigstoreError(.tooLarge, "certificate chain has more than \(SigstoreBundle.maxCertificates) certificates") }
    return (all.map(\.0), all.map(\.1))
  }

  static func pemBlocks(_ text: String, what: String) throws(SigstoreError) -> [(Certificate, Data)] {
    guard text.utf8.count <= maxAnnotation else { throw SigstoreError(.tooLarge, "\(what) annotation is over \(maxAnnotation) bytes") }
    var out: [(Certificate, Data)] = []
    var rest = Substring(text)
    let begin = "-----BEGIN CERTIFICATE-----"
    let endMarker = "-----END CERTIFICATE-----"
    while let b = rest.firstRange(of: begin) {
      guard let e = rest[b.upperBound...].firstRange(of: endMarker) else { throw SigstoreError(.malformed, "\(what) annotation has a PEM block without its END line") }
      let body = rest[b.upperBound..<e.lowerBound].filter { !$0.isWhitespace }
      guard let der = Data(base64Encoded: String(body)) else { throw SigstoreError(.malformed, "\(what) annotation holds a PEM block that is not base64") }
      do { out.append((try Certificate(derEncoded: Array(der)), der)) } catch { throw SigstoreError(.malformed, "\(what) annotation holds a certificate that is not X.509") }
      guard out.count <= SigstoreBundle.maxCertificates else { throw SigstoreError(.tooLarge, "\(what) annotation holds more than \(SigstoreBundle.maxCertificates) certificates") }
      rest = rest[e.upperBound...]
    }
    return out
  }

  struct RekorBundle: Decodable {
    struct Payload: Decodable {
      var body: String
      var integratedTime: Int64
      var logIndex: Int64
      var logID: String
    }
    var SignedEntryTimestamp: Base64Bytes
    var Payload: Payload
  }
  struct BodyKind: Decodable {
    var kind: String
    var apiVersion: String
  }

  static func entries(_ annotations: [String: String]) throws(SigstoreError) -> [TransparencyLogEntry] {
    guard let text = annotations[bundleAnnotation] else { return [] }
    guard text.utf8.count <= maxAnnotation else { throw SigstoreError(.tooLarge, "\(bundleAnnotation) annotation is over \(maxAnnotation) bytes") }
    let b = try ProtoJSON.decode(RekorBundle.self, Data(text.utf8), what: "\(bundleAnnotation) annotation")
    guard let body = ProtoJSON.base64(b.Payload.body), let logID = Data(hex: b.Payload.logID), logID.count == 32 else {
      throw SigstoreError(.malformed, "\(bundleAnnotation) annotation: body is not base64 or logID is not a hex SHA-256")
    }
    guard b.Payload.logIndex >= 0 else { throw SigstoreError(.malformed, "\(bundleAnnotation) annotation has a negative logIndex") }
    let kind = try ProtoJSON.decode(BodyKind.self, body, what: "log entry body")
    return [
      TransparencyLogEntry(
        logIndex: b.Payload.logIndex, logID: logID, kind: kind.kind, kindVersion: kind.apiVersion, integratedTime: b.Payload.integratedTime > 0 ? b.Payload.integratedTime : nil,
        signedEntryTimestamp: b.SignedEntryTimestamp.data, inclusionProof: nil, canonicalizedBody: body)
    ]
  }
}
