import Basics
import FoundationEssentials
import SwiftASN1
import X509

/// Rebuilds the TBSCertificate a CT log saw: the certificate's TBS with the SCT list extension
/// removed (RFC 6962 §3.2), by re-encoding the DER with that one extension left out.
enum Precertificate {
  static func tbsWithoutSCTs(_ cert: Certificate) throws(SigstoreError) -> [UInt8] {
    do {
      var s = DER.Serializer()
      try s.serialize(cert)
      let certNode = try DER.parse(s.serializedBytes)
      guard case .constructed(let parts) = certNode.content, let tbs = parts.first(where: { _ in true }), case .constructed(let fields) = tbs.content else {
        throw SigstoreError(.certificate, "certificate DER has no TBSCertificate")
      }
      let sctOID = try Self.oidBytes(SignedCertificateTimestamp.extensionOID)
      var body: [UInt8] = []
      for f in fields {
        // [3] EXPLICIT Extensions
        if f.identifier == ASN1Identifier(tagWithNumber: 3, tagClass: .contextSpecific), case .constructed(let wrapped) = f.content,
          let seq = wrapped.first(where: { _ in true }), case .constructed(let exts) = seq.content
        {
          var kept: [UInt8] = []
          for e in exts {
            guard case .constructed(let eParts) = e.content, let oid = eParts.first(where: { _ in true }) else { continue }
            if Array(oid.encodedBytes) == sctOID { continue }
            kept += e.encodedBytes
          }
          body += Self.tlv(0xA3, Self.tlv(0x30, kept))
        } else {
          body += f.encodedBytes
        }
      }
      return Self.tlv(0x30, body)
    } catch let e as SigstoreError {
      throw e
    } catch {
      throw SigstoreError(.certificate, "certificate DER does not re-encode")
    }
  }

  static func oidBytes(_ oid: ASN1ObjectIdentifier) throws -> [UInt8] {
    var s = DER.Serializer()
    try s.serialize(oid)
    return s.serializedBytes
  }

  /// DER tag-length-value with a definite length.
  static func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
    let n = content.count
    var len: [UInt8]
    if n < 0x80 {
      len = [UInt8(n)]
    } else {
      var bytes: [UInt8] = []
      var v = n
      while v > 0 {
        bytes.insert(UInt8(truncatingIfNeeded: v), at: 0)
        v >>= 8
      }
      len = [0x80 | UInt8(bytes.count)] + bytes
    }
    return [tag] + len + content
  }
}
