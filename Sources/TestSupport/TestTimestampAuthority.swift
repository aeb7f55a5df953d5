import Basics
import Crypto
import Foundation
import SwiftASN1
import X509

/// A private RFC 3161 timestamp authority for tests: a root CA and a P-384 TSA leaf with the
/// critical timeStamping EKU, issuing real TimeStampResp tokens (CMS SignedData over a TSTInfo,
/// signed attributes with contentType, messageDigest and signingCertificateV2). Options make
/// every way a token can be wrong.
public struct TestTimestampAuthority: Sendable {
  /// A certificate that signs tokens, with its private key (raw P-384) and its issuers.
  public struct Signer: Sendable {
    public let certificate: Certificate
    let key: Data
    public let chain: [Certificate]
  }
  /// How a signer's certificate states its extended key usage.
  public enum Usage: Sendable { case criticalTimeStamping, nonCriticalTimeStamping, none }

  let rootKey: Data
  public let root: Certificate
  /// The authority's usual signer (valid from a day before `notBefore` for ten years).
  public let signer: Signer
  public let uri: String

  public init(notBefore: Date, uri: String = "https://tsa.test") throws {
    self.uri = uri
    let r = P384.Signing.PrivateKey()
    rootKey = r.rawRepresentation
    let name = try DistinguishedName {
      OrganizationName("gantry-test")
      CommonName("test-tsa-root")
    }
    root = try Certificate(
      version: .v3, serialNumber: .init(), publicKey: .init(r.publicKey), notValidBefore: notBefore.addingTimeInterval(-86400),
      notValidAfter: notBefore.addingTimeInterval(10 * 365 * 86400), issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA384,
      extensions: try Certificate.Extensions {
        Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
        Critical(KeyUsage(keyCertSign: true, cRLSign: true))
      }, issuerPrivateKey: .init(r))
    signer = try Self.makeSigner(root: root, rootKey: r, usage: .criticalTimeStamping, from: notBefore.addingTimeInterval(-86400), until: notBefore.addingTimeInterval(10 * 365 * 86400))
  }

  /// Another signer of this authority: another usage, or another validity window.
  public func signer(usage: Usage = .criticalTimeStamping, from: Date, until: Date) throws -> Signer {
    try Self.makeSigner(root: root, rootKey: try P384.Signing.PrivateKey(rawRepresentation: rootKey), usage: usage, from: from, until: until)
  }

  static func makeSigner(root: Certificate, rootKey: P384.Signing.PrivateKey, usage: Usage, from: Date, until: Date) throws -> Signer {
    let k = P384.Signing.PrivateKey()
    var exts: [Certificate.Extension] = [try Critical(KeyUsage(digitalSignature: true)).makeCertificateExtension()]
    switch usage {
    case .criticalTimeStamping: exts.append(try Critical(ExtendedKeyUsage([.timeStamping])).makeCertificateExtension())
    case .nonCriticalTimeStamping: exts.append(try ExtendedKeyUsage([.timeStamping]).makeCertificateExtension())
    case .none: break
    }
    let cert = try Certificate(
      version: .v3, serialNumber: .init(), publicKey: .init(k.publicKey), notValidBefore: from, notValidAfter: until, issuer: root.subject,
      subject: try DistinguishedName {
        OrganizationName("gantry-test")
        CommonName("test-tsa")
      }, signatureAlgorithm: .ecdsaWithSHA384, extensions: try Certificate.Extensions(exts), issuerPrivateKey: .init(rootKey))
    return Signer(certificate: cert, key: k.rawRepresentation, chain: [root])
  }

  /// What a token says and how it is made; the defaults make a valid token.
  public struct Options: Sendable {
    public var genTime: Date
    /// Sign with this signer instead of the authority's usual one.
    public var signer: Signer?
    /// Embed the signer's certificate and chain in the token.
    public var embedCertificates: Bool
    /// A message imprint other than the hash of the signature.
    public var imprint: Data?
    /// A messageDigest attribute that is not the TSTInfo's digest.
    public var wrongMessageDigest: Bool
    /// Send a bare ContentInfo (TimeStampToken) instead of a TimeStampResp.
    public var tokenOnly: Bool

    public init(genTime: Date = Date().addingTimeInterval(-30), signer: Signer? = nil, embedCertificates: Bool = true, imprint: Data? = nil, wrongMessageDigest: Bool = false, tokenOnly: Bool = false)
    {
      self.genTime = genTime
      self.signer = signer
      self.embedCertificates = embedCertificates
      self.imprint = imprint
      self.wrongMessageDigest = wrongMessageDigest
      self.tokenOnly = tokenOnly
    }
  }

  static let sha256: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 2, 1]
  static let ecdsaSHA384: ASN1ObjectIdentifier = [1, 2, 840, 10045, 4, 3, 3]
  static let ctx0 = ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)

  /// A TimeStampResp (DER) over `signature`: the imprint is its SHA-256, as Sigstore asks.
  public func timestamp(over signature: Data, _ o: Options = Options()) throws -> Data {
    let s = o.signer ?? signer
    let key = try P384.Signing.PrivateKey(rawRepresentation: s.key)
    func alg(_ c: inout DER.Serializer, _ oid: ASN1ObjectIdentifier, null: Bool = true) throws {
      try c.appendConstructedNode(identifier: .sequence) { c in
        try c.serialize(oid)
        if null { try c.serialize(ASN1Null()) }
      }
    }
    let u = Basics.UTCTime(o.genTime)
    let gen = try GeneralizedTime(year: u.year, month: u.month, day: u.day, hours: u.hour, minutes: u.minute, seconds: u.second, fractionalSeconds: 0)
    var t = DER.Serializer()
    try t.appendConstructedNode(identifier: .sequence) { c in
      try c.serialize(1)
      try c.serialize(ASN1ObjectIdentifier(elements: [1, 3, 6, 1, 4, 1, 57264, 2]))
      try c.appendConstructedNode(identifier: .sequence) { c in
        try alg(&c, Self.sha256)
        try c.serialize(ASN1OctetString(contentBytes: ArraySlice(o.imprint ?? Data(SHA256.hash(data: signature)))))
      }
      try c.serialize(Int.random(in: 1...Int(Int32.max)))
      try c.serialize(gen)
      try c.appendConstructedNode(identifier: .sequence) { c in try c.serialize(1) }
      try c.serialize(Int.random(in: 1...Int(Int32.max)))
    }
    let tstInfo = t.serializedBytes
    var digest = Data(SHA256.hash(data: tstInfo))
    if o.wrongMessageDigest { digest[0] ^= 1 }
    var certDER = DER.Serializer()
    try certDER.serialize(s.certificate)
    let certHash = Data(SHA256.hash(data: certDER.serializedBytes))
    func attributes(_ c: inout DER.Serializer) throws {
      try c.appendConstructedNode(identifier: .sequence) { c in
        try c.serialize(ASN1ObjectIdentifier(elements: [1, 2, 840, 113549, 1, 9, 3]))
        try c.appendConstructedNode(identifier: .set) { c in try c.serialize(ASN1ObjectIdentifier(elements: [1, 2, 840, 113549, 1, 9, 16, 1, 4])) }
      }
      try c.appendConstructedNode(identifier: .sequence) { c in
        try c.serialize(ASN1ObjectIdentifier(elements: [1, 2, 840, 113549, 1, 9, 4]))
        try c.appendConstructedNode(identifier: .set) { c in try c.serialize(ASN1OctetString(contentBytes: ArraySlice(digest))) }
      }
      try c.appendConstructedNode(identifier: .sequence) { c in
        try c.serialize(ASN1ObjectIdentifier(elements: [1, 2, 840, 113549, 1, 9, 16, 2, 47]))
        try c.appendConstructedNode(identifier: .set) { c in
          try c.appendConstructedNode(identifier: .sequence) { c in
            try c.appendConstructedNode(identifier: .sequence) { c in
              try c.appendConstructedNode(identifier: .sequence) { c in try c.serialize(ASN1OctetString(contentBytes: ArraySlice(certHash))) }
            }
          }
        }
      }
    }
    var signedSet = DER.Serializer()
    try signedSet.appendConstructedNode(identifier: .set) { c in try attributes(&c) }
    let sig = try key.signature(for: SHA384.hash(data: signedSet.serializedBytes)).derRepresentation
    func contentInfo(_ c: inout DER.Serializer) throws {
      try c.appendConstructedNode(identifier: .sequence) { c in
        try c.serialize(ASN1ObjectIdentifier(elements: [1, 2, 840, 113549, 1, 7, 2]))
        try c.appendConstructedNode(identifier: Self.ctx0) { c in
          try c.appendConstructedNode(identifier: .sequence) { c in
            try c.serialize(3)
            try c.appendConstructedNode(identifier: .set) { c in try alg(&c, Self.sha256) }
            try c.appendConstructedNode(identifier: .sequence) { c in
              try c.serialize(ASN1ObjectIdentifier(elements: [1, 2, 840, 113549, 1, 9, 16, 1, 4]))
              try c.appendConstructedNode(identifier: Self.ctx0) { c in try c.serialize(ASN1OctetString(contentBytes: tstInfo[...])) }
            }
            if o.embedCertificates {
              try c.appendConstructedNode(identifier: Self.ctx0) { c in
                try c.serialize(s.certificate)
                for x in s.chain { try c.serialize(x) }
              }
            }
            try c.appendConstructedNode(identifier: .set) { c in
              try c.appendConstructedNode(identifier: .sequence) { c in
                try c.serialize(1)
                try c.appendConstructedNode(identifier: .sequence) { c in
                  try c.serialize(s.certificate.issuer)
                  try c.serialize(ArraySlice(s.certificate.serialNumber.bytes))
                }
                try alg(&c, Self.sha256)
                try c.appendConstructedNode(identifier: Self.ctx0) { c in try attributes(&c) }
                try alg(&c, Self.ecdsaSHA384, null: false)
                try c.serialize(ASN1OctetString(contentBytes: ArraySlice(sig)))
              }
            }
          }
        }
      }
    }
    var out = DER.Serializer()
    if o.tokenOnly {
      try contentInfo(&out)
    } else {
      try out.appendConstructedNode(identifier: .sequence) { c in
        try c.appendConstructedNode(identifier: .sequence) { c in try c.serialize(0) }
        try contentInfo(&c)
      }
    }
    return Data(out.serializedBytes)
  }

  /// The trusted root's `timestampAuthorities` entry for this authority (chain: usual signer, root).
  func trustedRootEntry(validFor: [String: String]) throws -> [String: Any] {
    [
      "subject": ["organization": "gantry-test", "commonName": "test-tsa"], "uri": uri,
      "certChain": ["certificates": [["rawBytes": try TestSigstore.der(signer.certificate).base64EncodedString()], ["rawBytes": try TestSigstore.der(root).base64EncodedString()]]],
      "validFor": validFor,
    ]
  }
}
