import Basics
import Crypto
import FoundationEssentials
import SwiftASN1
import X509

/// An RFC 3161 signed timestamp as a Sigstore bundle carries it
/// (`timestampVerificationData.rfc3161Timestamps[].signedTimestamp`): the DER of a
/// TimeStampResp (RFC 3161 §2.4.2), or of its TimeStampToken alone (a CMS ContentInfo holding
/// SignedData over a TSTInfo). Parsed strictly and within caps by hand, because swift-certificates'
/// CMS does not read timestamp tokens; `verify` (RFC3161Verification.swift) checks it.
public struct RFC3161Timestamp: Sendable {
  /// The digest algorithms a token may name (imprint, signer digest, ESS certificate hash).
  public enum HashAlgorithm: String, Sendable {
    case sha1, sha256, sha384, sha512

    init?(_ oid: ASN1ObjectIdentifier) {
      switch oid {
      case [1, 3, 14, 3, 2, 26]: self = .sha1
      case [2, 16, 840, 1, 101, 3, 4, 2, 1]: self = .sha256
      case [2, 16, 840, 1, 101, 3, 4, 2, 2]: self = .sha384
      case [2, 16, 840, 1, 101, 3, 4, 2, 3]: self = .sha512
      default: return nil
      }
    }

    public func hash(_ d: Data) -> Data {
      switch self {
      case .sha1: Data(Insecure.SHA1.hash(data: d))
      case .sha256: Data(SHA256.hash(data: d))
      case .sha384: Data(SHA384.hash(data: d))
      case .sha512: Data(SHA512.hash(data: d))
      }
    }

    var size: Int {
      switch self {
      case .sha1: 20
      case .sha256: 32
      case .sha384: 48
      case .sha512: 64
      }
    }
  }

  /// Who signed: the SignerInfo's `sid`.
  public enum SignerID: Sendable {
    case issuerAndSerial(issuer: DistinguishedName, serial: Certificate.SerialNumber)
    case subjectKeyIdentifier(Data)
  }

  // TSTInfo
  public var genTime: Date
  public var policy: ASN1ObjectIdentifier
  public var serialNumber: Data
  public var imprintAlgorithm: HashAlgorithm
  public var hashedMessage: Data
  public var nonce: Data?
  // SignedData
  /// Certificates the token embeds (candidates for the signer and its intermediates).
  public var certificates: [Certificate]
  /// The TSTInfo's DER (the encapsulated content the signer's `messageDigest` covers).
  public var encapsulatedContent: Data
  // SignerInfo
  public var signerID: SignerID
  public var digestAlgorithm: HashAlgorithm
  /// The signed attributes' DER re-tagged as SET OF: what the signature covers (RFC 5652 §5.4).
  public var signedAttributes: Data
  /// The `messageDigest` signed attribute.
  public var messageDigest: Data
  /// The ESS signing certificate attribute (v1: SHA-1; v2: the named hash), if present.
  public var signingCertificateHash: (algorithm: HashAlgorithm, hash: Data)?
  public var signatureAlgorithm: ASN1ObjectIdentifier
  public var signature: Data

  /// Caps: a token is a few KiB; anything larger or more plural is refused unread.
  public static let maxSize = 32 << 10
  public static let maxCertificates = 8
  public static let maxAttributes = 16
  static let maxDigestAlgorithms = 4

  static let signedDataOID: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 7, 2]
  static let tstInfoOID: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 16, 1, 4]
  static let contentTypeOID: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 3]
  static let messageDigestOID: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 4]
  static let signingCertificateOID: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 16, 2, 12]
  static let signingCertificateV2OID: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 16, 2, 47]

  static func fail(_ what: String) -> SigstoreError { SigstoreError(.malformed, "RFC 3161 timestamp: \(what)") }

  /// Parses `der` (TimeStampResp or ContentInfo). Throws `.malformed` / `.tooLarge`.
  public init(der: Data) throws(SigstoreError) {
    guard der.count <= Self.maxSize else { throw SigstoreError(.tooLarge, "RFC 3161 timestamp is over \(Self.maxSize) bytes") }
    do {
      let top = try DER.parse(Array(der))
      guard top.encodedBytes.count == der.count else { throw Self.fail("trailing bytes after the DER") }
      var outer = try Fields(top, "timestamp")
      let first = try outer.next("content type or status")
      let contentInfo: ASN1Node
      if first.identifier == .sequence {
        // TimeStampResp { status PKIStatusInfo, timeStampToken ContentInfo OPTIONAL }
        var status = try Fields(first, "PKIStatusInfo")
        let code = try Int(derEncoded: try status.next("status"))
        guard code == 0 || code == 1 else { throw Self.fail("the timestamp authority refused (status \(code))") }
        contentInfo = try outer.next("timeStampToken")
        try outer.end()
      } else {
        contentInfo = top
      }
      self = try RFC3161Timestamp(contentInfo: contentInfo)
    } catch let e as SigstoreError {
      throw e
    } catch {
      throw Self.fail("not DER of the expected shape (\(String(describing: error).prefix(80)))")
    }
  }

  private init(contentInfo: ASN1Node) throws {
    // ContentInfo { contentType id-signedData, content [0] EXPLICIT SignedData }
    var ci = try Fields(contentInfo, "ContentInfo")
    guard try ASN1ObjectIdentifier(derEncoded: try ci.next("contentType")) == Self.signedDataOID else { throw Self.fail("content is not CMS SignedData") }
    let explicit = try ci.next("content", tag: .init(tagWithNumber: 0, tagClass: .contextSpecific))
    try ci.end()
    var wrapper = try Fields(explicit, "content")
    let signedData = try wrapper.next("SignedData")
    try wrapper.end()

    var sd = try Fields(signedData, "SignedData")
    let version = try Int(derEncoded: try sd.next("version"))
    // RFC 5652 asks for 3 with a TSTInfo; GitHub's TSA writes 1, which every client accepts.
    guard version == 3 || version == 1 else { throw Self.fail("SignedData version \(version) (1 or 3)") }
    let digestSet = try sd.next("digestAlgorithms", tag: .set)
    guard case .constructed(let algs) = digestSet.content, Array(algs).count <= Self.maxDigestAlgorithms else {
      throw Self.fail("digestAlgorithms is not a SET of at most \(Self.maxDigestAlgorithms)")
    }
    // EncapsulatedContentInfo { eContentType id-ct-TSTInfo, eContent [0] EXPLICIT OCTET STRING }
    var eci = try Fields(try sd.next("encapContentInfo"), "encapContentInfo")
    guard try ASN1ObjectIdentifier(derEncoded: try eci.next("eContentType")) == Self.tstInfoOID else { throw Self.fail("encapsulated content is not a TSTInfo") }
    var eContentWrapper = try Fields(try eci.next("eContent", tag: .init(tagWithNumber: 0, tagClass: .contextSpecific)), "eContent")
    let content = try ASN1OctetString(derEncoded: try eContentWrapper.next("eContent")).bytes
    try eContentWrapper.end()
    try eci.end()
    encapsulatedContent = Data(content)

    var certs: [Certificate] = []
    if let node = sd.optional(tag: .init(tagWithNumber: 0, tagClass: .contextSpecific)) {
      guard case .constructed(let children) = node.content else { throw Self.fail("certificates is not constructed") }
      for c in children {
        guard certs.count < Self.maxCertificates else { throw SigstoreError(.tooLarge, "RFC 3161 timestamp embeds more than \(Self.maxCertificates) certificates") }
        // Only plain X.509 certificates (no attribute or other certificate formats).
        guard c.identifier == .sequence else { throw Self.fail("embedded certificate is not X.509") }
        certs.append(try Certificate(derEncoded: c))
      }
    }
    certificates = certs
    // CRLs are not used for timestamps (Sigstore trusts validity windows, not revocation).
    if sd.optional(tag: .init(tagWithNumber: 1, tagClass: .contextSpecific)) != nil { throw Self.fail("CRLs in a timestamp token are not supported") }
    let signerSet = try sd.next("signerInfos", tag: .set)
    try sd.end()
    guard case .constructed(let signerNodes) = signerSet.content else { throw Self.fail("signerInfos is not a SET") }
    let signers = Array(signerNodes.prefix(2))
    guard signers.count == 1 else { throw Self.fail("a timestamp token has exactly one SignerInfo (found \(signers.count == 0 ? "none" : "several"))") }

    // SignerInfo { version, sid, digestAlgorithm, [0] signedAttrs, signatureAlgorithm, signature, [1] unsignedAttrs }
    var si = try Fields(signers[0], "SignerInfo")
    let siVersion = try Int(derEncoded: try si.next("SignerInfo version"))
    let sid = try si.next("sid")
    switch (siVersion, sid.identifier) {
    case (1, .sequence):
      var ias = try Fields(sid, "issuerAndSerialNumber")
      let issuer = try DistinguishedName(derEncoded: try ias.next("issuer"))
      let serial = try Self.integer(try ias.next("serialNumber"), "signer serial number")
      try ias.end()
      signerID = .issuerAndSerial(issuer: issuer, serial: Certificate.SerialNumber(bytes: serial))
    case (3, ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)):
      guard case .primitive(let ski) = sid.content, !ski.isEmpty, ski.count <= 64 else { throw Self.fail("subjectKeyIdentifier is not a short OCTET STRING") }
      signerID = .subjectKeyIdentifier(Data(ski))
    default:
      throw Self.fail("SignerInfo version \(siVersion) does not fit its signer identifier")
    }
    digestAlgorithm = try Self.hashAlgorithm(try si.next("digestAlgorithm"), "signer digest")
    guard digestAlgorithm != .sha1 else { throw Self.fail("signer digest SHA-1 is not accepted") }
    let attrsNode = try si.next("signedAttrs", tag: .init(tagWithNumber: 0, tagClass: .contextSpecific))
    signatureAlgorithm = try Self.algorithm(try si.next("signatureAlgorithm"))
    let sigBytes = try ASN1OctetString(derEncoded: try si.next("signature")).bytes
    guard !sigBytes.isEmpty, sigBytes.count <= 1024 else { throw Self.fail("signature is empty or over 1 KiB") }
    signature = Data(sigBytes)
    if let unsigned = si.optional(tag: .init(tagWithNumber: 1, tagClass: .contextSpecific)) {
      guard case .constructed(let u) = unsigned.content, Array(u.prefix(Self.maxAttributes + 1)).count <= Self.maxAttributes else {
        throw SigstoreError(.tooLarge, "RFC 3161 timestamp has more than \(Self.maxAttributes) unsigned attributes")
      }
    }
    try si.end()

    // Signed attributes: what the signature covers is their DER with the SET OF tag (0x31).
    var signed = Array(attrsNode.encodedBytes)
    guard !signed.isEmpty, signed[0] == 0xA0 else { throw Self.fail("signedAttrs tag") }
    signed[0] = 0x31
    signedAttributes = Data(signed)
    guard case .constructed(let attrNodes) = attrsNode.content else { throw Self.fail("signedAttrs is not constructed") }
    var seen: [ASN1ObjectIdentifier] = []
    var digest: Data?
    var contentTypeOK = false
    var essHash: (HashAlgorithm, Data)?
    for a in attrNodes {
      guard seen.count < Self.maxAttributes else { throw SigstoreError(.tooLarge, "RFC 3161 timestamp has more than \(Self.maxAttributes) signed attributes") }
      var attr = try Fields(a, "attribute")
      let type = try ASN1ObjectIdentifier(derEncoded: try attr.next("attrType"))
      let values = try attr.next("attrValues", tag: .set)
      try attr.end()
      guard !seen.contains(type) else { throw Self.fail("signed attribute \(type) appears twice") }
      seen.append(type)
      guard case .constructed(let valueNodes) = values.content else { throw Self.fail("attribute values are not a SET") }
      let vs = Array(valueNodes.prefix(2))
      guard vs.count == 1 else {
        // Only the attributes read here must be single-valued (RFC 5652 §11); others are skipped.
        if [Self.contentTypeOID, Self.messageDigestOID, Self.signingCertificateOID, Self.signingCertificateV2OID].contains(type) {
          throw Self.fail("signed attribute \(type) must have exactly one value")
        }
        continue
      }
      switch type {
      case Self.contentTypeOID:
        guard try ASN1ObjectIdentifier(derEncoded: vs[0]) == Self.tstInfoOID else { throw Self.fail("signed contentType is not id-ct-TSTInfo") }
        contentTypeOK = true
      case Self.messageDigestOID:
        digest = Data(try ASN1OctetString(derEncoded: vs[0]).bytes)
      case Self.signingCertificateOID, Self.signingCertificateV2OID:
        essHash = try Self.essCertHash(vs[0], v2: type == Self.signingCertificateV2OID)
      default:
        continue
      }
    }
    guard contentTypeOK else { throw Self.fail("signed attributes have no contentType") }
    guard let digest else { throw Self.fail("signed attributes have no messageDigest") }
    messageDigest = digest
    signingCertificateHash = essHash.map { (algorithm: $0.0, hash: $0.1) }

    // TSTInfo (RFC 3161 §2.4.2).
    let tst = try DER.parse(content)
    guard tst.encodedBytes.count == content.count else { throw Self.fail("trailing bytes after the TSTInfo") }
    var info = try Fields(tst, "TSTInfo")
    guard try Int(derEncoded: try info.next("TSTInfo version")) == 1 else { throw Self.fail("TSTInfo version is not 1") }
    policy = try ASN1ObjectIdentifier(derEncoded: try info.next("policy"))
    var imprint = try Fields(try info.next("messageImprint"), "messageImprint")
    imprintAlgorithm = try Self.hashAlgorithm(try imprint.next("hashAlgorithm"), "message imprint")
    hashedMessage = Data(try ASN1OctetString(derEncoded: try imprint.next("hashedMessage")).bytes)
    try imprint.end()
    guard imprintAlgorithm != .sha1, hashedMessage.count == imprintAlgorithm.size else { throw Self.fail("message imprint is not a SHA-2 digest of its algorithm's size") }
    serialNumber = Data(try Self.integer(try info.next("serialNumber"), "serial number"))
    genTime = try Self.date(try GeneralizedTime(derEncoded: try info.next("genTime")))
    if let acc = info.optional(tag: .sequence) { try Self.checkAccuracy(acc) }
    if let ordering = info.optional(tag: .boolean) { _ = try Bool(derEncoded: ordering) }
    if let n = info.optional(tag: .integer) {
      nonce = Data(try Self.integer(n, "nonce"))
    }
    _ = info.optional(tag: .init(tagWithNumber: 0, tagClass: .contextSpecific))  // tsa name: informative only
    _ = info.optional(tag: .init(tagWithNumber: 1, tagClass: .contextSpecific))  // extensions: none are understood
    try info.end()
  }

  /// A DER INTEGER's two's-complement bytes, minimal and at most 64 bytes. (Read by hand: TSAs
  /// write serials and nonces with the top bit set, negative in DER, which swift-asn1's unsigned
  /// reading refuses; they are identifiers, never numbers here.)
  static func integer(_ node: ASN1Node, _ what: String) throws -> ArraySlice<UInt8> {
    guard node.identifier == .integer, case .primitive(let b) = node.content, !b.isEmpty, b.count <= 64 else { throw fail("\(what) is not an INTEGER of 1 to 64 bytes") }
    if b.count > 1, let a = b.first, let c = b.dropFirst().first, (a == 0 && c < 0x80) || (a == 0xFF && c >= 0x80) { throw fail("\(what) is not minimally encoded") }
    return b
  }

  /// An AlgorithmIdentifier naming a hash (parameters absent or NULL).
  static func hashAlgorithm(_ node: ASN1Node, _ what: String) throws -> HashAlgorithm {
    let oid = try algorithm(node)
    guard let h = HashAlgorithm(oid) else { throw fail("\(what) algorithm \(oid) is not SHA-1/256/384/512") }
    return h
  }

  /// An AlgorithmIdentifier's OID; parameters must be absent or NULL.
  static func algorithm(_ node: ASN1Node) throws -> ASN1ObjectIdentifier {
    var f = try Fields(node, "AlgorithmIdentifier")
    let oid = try ASN1ObjectIdentifier(derEncoded: try f.next("algorithm"))
    if let p = f.optional(tag: .null) { _ = try ASN1Null(derEncoded: p) }
    try f.end()
    return oid
  }

  /// The first ESSCertID(v2)'s hash: SigningCertificate { certs SEQUENCE OF ESSCertID, … }.
  static func essCertHash(_ node: ASN1Node, v2: Bool) throws -> (HashAlgorithm, Data) {
    var sc = try Fields(node, "SigningCertificate")
    let certs = try sc.next("certs", tag: .sequence)
    guard case .constructed(let ids) = certs.content, let first = ids.first(where: { _ in true }) else { throw fail("signing certificate attribute lists no certificate") }
    var id = try Fields(first, "ESSCertID")
    var alg = HashAlgorithm.sha1
    if v2 {
      alg = .sha256
      if let a = id.optional(tag: .sequence) { alg = try hashAlgorithm(a, "ESS certificate hash") }
    }
    let hash = Data(try ASN1OctetString(derEncoded: try id.next("certHash")).bytes)
    guard hash.count == alg.size else { throw fail("ESS certificate hash has the wrong size") }
    return (alg, hash)
  }

  static func checkAccuracy(_ node: ASN1Node) throws {
    var f = try Fields(node, "accuracy")
    if let s = f.optional(tag: .integer) { guard try Int(derEncoded: s) >= 0 else { throw fail("negative accuracy") } }
    for tag in [0, 1] as [UInt] {
      if let n = f.optional(tag: .init(tagWithNumber: tag, tagClass: .contextSpecific)) {
        let v = try Int(derEncoded: n, withIdentifier: .init(tagWithNumber: tag, tagClass: .contextSpecific))
        guard (1...999).contains(v) else { throw fail("accuracy millis/micros outside 1...999") }
      }
    }
    try f.end()
  }

  static func date(_ g: GeneralizedTime) throws -> Date {
    guard let t = UTCTime(year: g.year, month: g.month, day: g.day, hour: g.hours, minute: g.minutes, second: g.seconds) else { throw fail("genTime is not a calendar time") }
    return t.date.addingTimeInterval(g.fractionalSeconds)
  }
}

/// The children of a constructed node, read in order: each field named for the error message.
struct Fields {
  private var nodes: [ASN1Node]
  private var index = 0
  private let what: String
  /// Far more than any structure here has: bounds work on hostile input.
  static let maxChildren = 64

  init(_ node: ASN1Node, _ what: String) throws {
    guard case .constructed(let c) = node.content else { throw RFC3161Timestamp.fail("\(what) is not constructed") }
    nodes = Array(c.prefix(Self.maxChildren + 1))
    guard nodes.count <= Self.maxChildren else { throw SigstoreError(.tooLarge, "RFC 3161 timestamp: \(what) has over \(Self.maxChildren) fields") }
    self.what = what
  }

  mutating func next(_ field: String, tag: ASN1Identifier? = nil) throws -> ASN1Node {
    guard index < nodes.count else { throw RFC3161Timestamp.fail("\(what) has no \(field)") }
    let n = nodes[index]
    if let tag, n.identifier != tag { throw RFC3161Timestamp.fail("\(what).\(field) has tag \(n.identifier), not \(tag)") }
    index += 1
    return n
  }

  /// The next field if it has `tag`.
  mutating func optional(tag: ASN1Identifier) -> ASN1Node? {
    guard index < nodes.count, nodes[index].identifier == tag else { return nil }
    index += 1
    return nodes[index - 1]
  }

  func end() throws {
    guard index == nodes.count else { throw RFC3161Timestamp.fail("\(what) has unexpected extra fields") }
  }
}
