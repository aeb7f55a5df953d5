import Basics
import Crypto
import FoundationEssentials
import SwiftASN1
import X509

/// The certificate transparency proof Fulcio embeds in every certificate: signed certificate
/// timestamps (RFC 6962 §3.2) over the *precertificate* — the certificate without its SCT
/// list extension — and the issuer's key hash. One must verify with a CT log key of the root.
public struct SignedCertificateTimestamp: Sendable, Equatable {
  public var logID: Data
  public var timestamp: UInt64
  public var extensions: Data
  public var signature: Data

  /// 1.3.6.1.4.1.11129.2.4.2: the embedded SCT list extension.
  public static let extensionOID: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 11129, 2, 4, 2]
  static let maxSCTs = 16

  /// The SCTs embedded in `cert` (empty when it has none).
  public static func embedded(in cert: Certificate) throws(SigstoreError) -> [SignedCertificateTimestamp] {
    guard let ext = cert.extensions[oid: extensionOID] else { return [] }
    let list: [UInt8]
    do { list = Array(try ASN1OctetString(derEncoded: ext.value).bytes) } catch { throw SigstoreError(.certificate, "the certificate's SCT list is not an OCTET STRING") }
    var r = TLSReader(list)
    guard let total = r.u16(), Int(total) == r.remaining else { throw SigstoreError(.certificate, "the certificate's SCT list length is wrong") }
    var out: [SignedCertificateTimestamp] = []
    while r.remaining > 0 {
      guard out.count < maxSCTs else { throw SigstoreError(.tooLarge, "the certificate has more than \(maxSCTs) SCTs") }
      guard let len = r.u16(), let one = r.bytes(Int(len)) else { throw SigstoreError(.certificate, "an SCT in the certificate is truncated") }
      var s = TLSReader(one)
      guard let version = s.u8(), version == 0, let id = s.bytes(32), let ts = s.u64(), let extLen = s.u16(), let exts = s.bytes(Int(extLen)),
        let hash = s.u8(), let sigAlg = s.u8(), let sigLen = s.u16(), let sig = s.bytes(Int(sigLen)), s.remaining == 0
      else { throw SigstoreError(.certificate, "an SCT in the certificate is malformed") }
      // SHA-256 with ECDSA (4, 3) or Ed25519 (8, 7) — what CT logs sign with.
      guard (hash == 4 && sigAlg == 3) || (hash == 8 && sigAlg == 7) || (hash == 4 && sigAlg == 1) else {
        throw SigstoreError(.certificate, "an SCT uses an unsupported signature algorithm (\(hash), \(sigAlg))")
      }
      out.append(SignedCertificateTimestamp(logID: Data(id), timestamp: ts, extensions: Data(exts), signature: Data(sig)))
    }
    return out
  }

  /// The bytes a CT log signs for a precertificate entry.
  public func signedData(tbsWithoutSCTs: [UInt8], issuerKeyHash: Data) -> Data {
    var d = Data([0, 0])  // v1, certificate_timestamp
    withUnsafeBytes(of: timestamp.bigEndian) { d.append(contentsOf: $0) }
    d.append(contentsOf: [0, 1])  // precert_entry
    d.append(issuerKeyHash)
    let n = tbsWithoutSCTs.count
    d.append(contentsOf: [UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)])
    d.append(contentsOf: tbsWithoutSCTs)
    d.append(contentsOf: [UInt8(truncatingIfNeeded: extensions.count >> 8), UInt8(truncatingIfNeeded: extensions.count)])
    d.append(extensions)
    return d
  }

  /// Verifies that one embedded SCT of `leaf` is signed by a CT log of `root` valid at its time.
  public static func verify(leaf: Certificate, issuer: Certificate, root: TrustedRoot) throws(SigstoreError) {
    let scts = try embedded(in: leaf)
    guard !scts.isEmpty else { throw SigstoreError(.certificate, "the signing certificate has no embedded SCT (not logged in certificate transparency)") }
    let tbs = try Precertificate.tbsWithoutSCTs(leaf)
    let issuerKeyHash = Data(SHA256.hash(data: VerificationKey.spki(issuer.publicKey)))
    var why = "no SCT is from a CT log of \(root.name)"
    for sct in scts {
      guard let log = root.ctlogs.first(where: { $0.logID == sct.logID }) else { continue }
      let time = Date(timeIntervalSince1970: Double(sct.timestamp / 1000))
      guard log.validity.contains(time) else {
        why = "the SCT's CT log key (\(log.baseURL)) was not valid at its time"
        continue
      }
      if log.key.verifies(sct.signature, over: sct.signedData(tbsWithoutSCTs: tbs, issuerKeyHash: issuerKeyHash)) { return }
      why = "the SCT signature does not verify with the key of \(log.baseURL)"
    }
    throw SigstoreError(.certificate, why)
  }
}

/// Reads big-endian TLS fields, total: a short read is nil.
struct TLSReader {
  let b: [UInt8]
  var i = 0
  init(_ b: [UInt8]) { self.b = b }
  var remaining: Int { b.count - i }
  mutating func bytes(_ n: Int) -> [UInt8]? {
    guard n >= 0, n <= remaining else { return nil }
    defer { i += n }
    return Array(b[i..<(i + n)])
  }
  mutating func u8() -> UInt8? { bytes(1)?.first }
  mutating func u16() -> UInt16? { bytes(2).map { UInt16($0[0]) << 8 | UInt16($0[1]) } }
  mutating func u64() -> UInt64? { bytes(8).map { $0.reduce(UInt64(0)) { $0 << 8 | UInt64($1) } } }
}
