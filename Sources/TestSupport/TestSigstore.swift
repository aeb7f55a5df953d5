import Crypto
import Foundation
import OCI
import SwiftASN1
import X509

/// A private Sigstore for tests: a Fulcio root and intermediate issuing GitHub-style signing
/// certificates (with an SCT from a test CT log), a Rekor key signing entry timestamps and
/// checkpoints over a real Merkle tree, and the trusted root JSON that trusts exactly these.
/// Everything is real cryptography; only the services are absent.
public struct TestSigstore: Sendable {
  /// Private keys as raw bytes (swift-crypto's key types are not Sendable).
  let rootKey: Data
  let intermediateKey: Data
  let ctKey: Data
  let rekorKey: Data
  public let root: Certificate
  public let intermediate: Certificate
  public let notBefore: Date
  /// The instance's RFC 3161 timestamp authority (listed in `trustedRootJSON`).
  public let tsa: TestTimestampAuthority

  public init(notBefore: Date = Date().addingTimeInterval(-3600)) throws {
    self.notBefore = notBefore
    tsa = try TestTimestampAuthority(notBefore: notBefore)
    let r = P256.Signing.PrivateKey()
    let i = P256.Signing.PrivateKey()
    rootKey = r.rawRepresentation
    intermediateKey = i.rawRepresentation
    ctKey = P256.Signing.PrivateKey().rawRepresentation
    rekorKey = P256.Signing.PrivateKey().rawRepresentation
    let rootName = try DistinguishedName {
      OrganizationName("gantry-test")
      CommonName("test-fulcio-root")
    }
    let caExtensions = try Certificate.Extensions {
      Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 1))
      Critical(KeyUsage(keyCertSign: true, cRLSign: true))
    }
    root = try Certificate(
      version: .v3, serialNumber: .init(), publicKey: .init(r.publicKey), notValidBefore: notBefore.addingTimeInterval(-86400), notValidAfter: notBefore.addingTimeInterval(10 * 365 * 86400),
      issuer: rootName, subject: rootName, signatureAlgorithm: .ecdsaWithSHA256, extensions: caExtensions, issuerPrivateKey: .init(r))
    intermediate = try Certificate(
      version: .v3, serialNumber: .init(), publicKey: .init(i.publicKey), notValidBefore: notBefore.addingTimeInterval(-86400),
      notValidAfter: notBefore.addingTimeInterval(10 * 365 * 86400), issuer: rootName,
      subject: try DistinguishedName {
        OrganizationName("gantry-test")
        CommonName("test-fulcio-intermediate")
      }, signatureAlgorithm: .ecdsaWithSHA256, extensions: caExtensions, issuerPrivateKey: .init(r))
  }

  func key(_ raw: Data) -> P256.Signing.PrivateKey {
    // The bytes came from a P256 key made above.
    (try? P256.Signing.PrivateKey(rawRepresentation: raw)) ?? P256.Signing.PrivateKey()
  }

  static func spki(_ k: P256.Signing.PublicKey) -> Data { k.derRepresentation }
  public var rekorLogID: Data { Data(SHA256.hash(data: Self.spki(key(rekorKey).publicKey))) }
  var ctLogID: Data { Data(SHA256.hash(data: Self.spki(key(ctKey).publicKey))) }

  /// The trusted root JSON trusting this instance only (the `trusted-root` input);
  /// `tsaValidFor` is its timestamp authority's `validFor` window (open from 2020 by default).
  public func trustedRootJSON(tsaValidFor: [String: String] = ["start": "2020-01-01T00:00:00Z"]) throws -> Data {
    let start = "2020-01-01T00:00:00Z"
    func der(_ c: Certificate) throws -> String {
      var s = DER.Serializer()
      try s.serialize(c)
      return Data(s.serializedBytes).base64EncodedString()
    }
    let doc: [String: Any] = [
      "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
      "tlogs": [
        [
          "baseUrl": "https://rekor.test", "hashAlgorithm": "SHA2_256",
          "publicKey": ["rawBytes": Self.spki(key(rekorKey).publicKey).base64EncodedString(), "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": ["start": start]],
          "logId": ["keyId": rekorLogID.base64EncodedString()],
        ]
      ],
      "certificateAuthorities": [
        [
          "subject": ["organization": "gantry-test", "commonName": "test-fulcio"], "uri": "https://fulcio.test",
          "certChain": ["certificates": [["rawBytes": try der(intermediate)], ["rawBytes": try der(root)]]], "validFor": ["start": start],
        ]
      ],
      "ctlogs": [
        [
          "baseUrl": "https://ct.test", "hashAlgorithm": "SHA2_256",
          "publicKey": ["rawBytes": Self.spki(key(ctKey).publicKey).base64EncodedString(), "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": ["start": start]],
          "logId": ["keyId": ctLogID.base64EncodedString()],
        ]
      ],
      "timestampAuthorities": [try tsa.trustedRootEntry(validFor: tsaValidFor)],
    ]
    return try JSONSerialization.data(withJSONObject: doc, options: [.sortedKeys])
  }

  /// Who a test certificate names: GitHub Actions' claims by default.
  public struct Identity: Sendable {
    public var subject: String
    public var issuer: String
    public var repository: String?
    public var ref: String?
    public var trigger: String?
    public var buildConfig: String?
    /// The Build Signer URI (1.9): the workflow that signed, a reusable one when one is used;
    /// nil: `buildConfig` (a workflow signing for itself).
    public var buildSigner: String?
    /// More URI SANs after `subject` (Fulcio issues one; for the refusal tests).
    public var moreSubjects: [String] = []
    /// `subject` as Fulcio writes a username: an otherName SAN (1.3.6.1.4.1.57264.1.7) holding
    /// `[0] EXPLICIT UTF8String`; `usernameValue` replaces that value's DER (for refusals).
    public var asUsername = false
    public var usernameValue: [UInt8]?
    /// The otherName's type (another than Fulcio's username, for refusals).
    public var usernameType: [UInt] = [1, 3, 6, 1, 4, 1, 57264, 1, 7]
    /// The legacy issuer extension (1.3.6.1.4.1.57264.1.1, raw bytes), written besides the
    /// v2 one (1.8) as Fulcio does; nil leaves it out.
    public var legacyIssuer: String?

    public init(subject: String, issuer: String, repository: String? = nil, ref: String? = nil, trigger: String? = nil, buildConfig: String? = nil) {
      self.subject = subject
      self.issuer = issuer
      self.repository = repository
      self.ref = ref
      self.trigger = trigger
      self.buildConfig = buildConfig
    }

    /// `https://github.com/<repo>/.github/workflows/<workflow>@<ref>` from GitHub's issuer.
    public static func github(_ repo: String, workflow: String = "release.yml", ref: String = "refs/heads/main") -> Identity {
      let uri = "https://github.com/\(repo)/.github/workflows/\(workflow)@\(ref)"
      return Identity(subject: uri, issuer: "https://token.actions.githubusercontent.com", repository: "https://github.com/\(repo)", ref: ref, trigger: "push", buildConfig: uri)
    }
  }

  private func subjectName(_ id: Identity) throws -> GeneralName {
    guard id.asUsername else { return id.subject.contains("@") && !id.subject.contains("/") ? .rfc822Name(id.subject) : .uniformResourceIdentifier(id.subject) }
    var s = DER.Serializer()
    try s.serialize(ASN1UTF8String(id.subject))
    let value = try ASN1Any(derEncoded: id.usernameValue ?? s.serializedBytes)
    return .otherName(GeneralName.OtherName(typeID: try ASN1ObjectIdentifier(elements: id.usernameType), value: value))
  }

  /// A short-lived signing certificate as Fulcio issues it (10 minutes from `at`), with an
  /// embedded SCT from the test CT log; `sct: false` leaves it out.
  public func issue(_ id: Identity, key signingKey: P256.Signing.PublicKey, at: Date = Date().addingTimeInterval(-60), sct: Bool = true) throws -> Certificate {
    func utf8(_ oid: ASN1ObjectIdentifier, _ value: String?) throws -> Certificate.Extension? {
      guard let value else { return nil }
      var s = DER.Serializer()
      try s.serialize(ASN1UTF8String(value))
      return Certificate.Extension(oid: oid, critical: false, value: ArraySlice(s.serializedBytes))
    }
    var exts: [Certificate.Extension] = [
      try Critical(KeyUsage(digitalSignature: true)).makeCertificateExtension(),
      try ExtendedKeyUsage([.codeSigning]).makeCertificateExtension(),
      try Critical(SubjectAlternativeNames([try subjectName(id)] + id.moreSubjects.map { .uniformResourceIdentifier($0) })).makeCertificateExtension(),
    ]
    if let legacy = id.legacyIssuer { exts.append(Certificate.Extension(oid: [1, 3, 6, 1, 4, 1, 57264, 1, 1], critical: false, value: ArraySlice(Data(legacy.utf8)))) }
    func oid(_ n: UInt) throws -> ASN1ObjectIdentifier { try ASN1ObjectIdentifier(elements: [1, 3, 6, 1, 4, 1, 57264, 1, n]) }
    exts += try [
      utf8(try oid(8), id.issuer), utf8(try oid(12), id.repository), utf8(try oid(14), id.ref), utf8(try oid(20), id.trigger), utf8(try oid(18), id.buildConfig),
      utf8(try oid(9), id.buildSigner ?? id.buildConfig),
    ].compactMap { $0 }
    let serial = Certificate.SerialNumber()
    let issuerName = intermediate.subject
    func make(_ e: [Certificate.Extension]) throws -> Certificate {
      try Certificate(
        version: .v3, serialNumber: serial, publicKey: .init(signingKey), notValidBefore: at, notValidAfter: at.addingTimeInterval(600), issuer: issuerName, subject: DistinguishedName(),
        signatureAlgorithm: .ecdsaWithSHA256, extensions: try Certificate.Extensions(e), issuerPrivateKey: .init(key(intermediateKey)))
    }
    guard sct else { return try make(exts) }
    // The precertificate's TBS is the final certificate's without the SCT list: same fields.
    let pre = try make(exts)
    var s = DER.Serializer()
    try s.serialize(pre)
    let node = try DER.parse(s.serializedBytes)
    guard case .constructed(let parts) = node.content, let tbs = parts.first(where: { _ in true }) else { throw TestSigstoreError("precertificate DER") }
    let tbsBytes = Array(tbs.encodedBytes)
    let timestamp = UInt64(max(0, at.timeIntervalSince1970 * 1000))
    var signed = Data([0, 0])
    withUnsafeBytes(of: timestamp.bigEndian) { signed.append(contentsOf: $0) }
    signed.append(contentsOf: [0, 1])
    signed.append(Data(SHA256.hash(data: Self.spki(key(intermediateKey).publicKey))))
    signed.append(contentsOf: [UInt8(truncatingIfNeeded: tbsBytes.count >> 16), UInt8(truncatingIfNeeded: tbsBytes.count >> 8), UInt8(truncatingIfNeeded: tbsBytes.count)])
    signed.append(contentsOf: tbsBytes)
    signed.append(contentsOf: [0, 0])
    let sig = try key(ctKey).signature(for: signed).derRepresentation
    var one = Data([0]) + ctLogID
    withUnsafeBytes(of: timestamp.bigEndian) { one.append(contentsOf: $0) }
    one.append(contentsOf: [0, 0, 4, 3, UInt8(sig.count >> 8), UInt8(truncatingIfNeeded: sig.count)])
    one.append(sig)
    let list = Data([UInt8((one.count + 2) >> 8), UInt8(truncatingIfNeeded: one.count + 2), UInt8(one.count >> 8), UInt8(truncatingIfNeeded: one.count)]) + one
    var o = DER.Serializer()
    try o.serialize(ASN1OctetString(contentBytes: ArraySlice(list)))
    let sctExt = Certificate.Extension(oid: [1, 3, 6, 1, 4, 1, 11129, 2, 4, 2], critical: false, value: ArraySlice(o.serializedBytes))
    return try make(exts + [sctExt])
  }

  public static func pem(_ c: Certificate) throws -> String { try c.serializeAsPEM().pemString }
  public static func der(_ c: Certificate) throws -> Data {
    var s = DER.Serializer()
    try s.serialize(c)
    return Data(s.serializedBytes)
  }

  /// A log entry as Rekor would store it, with its SET and an inclusion proof in a two-leaf
  /// tree (the entry second) under a signed checkpoint.
  public struct LogEntry: Sendable {
    public var body: Data
    public var logIndex: Int64
    public var integratedTime: Int64
    public var set: Data
    public var rootHash: Data
    public var proofHashes: [Data]
    public var checkpoint: String
    public var logID: Data
    public var kind: String
    public var version: String
  }

  public func logEntry(body: Data, kind: String, version: String = "0.0.1", integratedTime: Date = Date().addingTimeInterval(-30), logIndex: Int64 = 1) throws -> LogEntry {
    let t = Int64(integratedTime.timeIntervalSince1970)
    let setPayload =
      "{\"body\":\"\(body.base64EncodedString())\",\"integratedTime\":\(t),\"logID\":\"\(rekorLogID.map { String(format: "%02x", $0) }.joined())\",\"logIndex\":\(logIndex)}"
    let set = try key(rekorKey).signature(for: Data(setPayload.utf8)).derRepresentation
    func leaf(_ d: Data) -> Data { Data(SHA256.hash(data: Data([0]) + d)) }
    let other = leaf(Data("another entry".utf8))
    let rootHash = Data(SHA256.hash(data: Data([1]) + other + leaf(body)))
    let note = "rekor.test - 42\n2\n\(rootHash.base64EncodedString())\n"
    let noteSig = try key(rekorKey).signature(for: Data(note.utf8)).derRepresentation
    let checkpoint = note + "\n— rekor.test \((rekorLogID.prefix(4) + noteSig).base64EncodedString())\n"
    return LogEntry(body: body, logIndex: logIndex, integratedTime: t, set: set, rootHash: rootHash, proofHashes: [other], checkpoint: checkpoint, logID: rekorLogID, kind: kind, version: version)
  }

  /// A hashedrekord 0.0.1 body for a signature over an artifact with `sha256` by `cert`.
  public static func hashedRekordBody(sha256: Data, signature: Data, cert: Certificate) throws -> Data {
    let pem = Data(try pem(cert).utf8).base64EncodedString()
    let hex = sha256.map { String(format: "%02x", $0) }.joined()
    return Data(
      "{\"apiVersion\":\"0.0.1\",\"kind\":\"hashedrekord\",\"spec\":{\"data\":{\"hash\":{\"algorithm\":\"sha256\",\"value\":\"\(hex)\"}},\"signature\":{\"content\":\"\(signature.base64EncodedString())\",\"publicKey\":{\"content\":\"\(pem)\"}}}}"
        .utf8)
  }

  /// A dsse 0.0.1 body for an envelope signed by `cert`.
  public static func dsseBody(payload: Data, signature: Data, cert: Certificate) throws -> Data {
    let pem = Data(try pem(cert).utf8).base64EncodedString()
    let hex = Data(SHA256.hash(data: payload)).map { String(format: "%02x", $0) }.joined()
    return Data(
      "{\"apiVersion\":\"0.0.1\",\"kind\":\"dsse\",\"spec\":{\"envelopeHash\":{\"algorithm\":\"sha256\",\"value\":\"\(hex)\"},\"payloadHash\":{\"algorithm\":\"sha256\",\"value\":\"\(hex)\"},\"signatures\":[{\"signature\":\"\(signature.base64EncodedString())\",\"verifier\":\"\(pem)\"}]}}"
        .utf8)
  }

  /// cosign's `dev.sigstore.cosign/bundle` annotation: the SET and what it signs.
  public static func cosignBundleAnnotation(_ e: LogEntry) -> String {
    let hex = e.logID.map { String(format: "%02x", $0) }.joined()
    return
      "{\"SignedEntryTimestamp\":\"\(e.set.base64EncodedString())\",\"Payload\":{\"body\":\"\(e.body.base64EncodedString())\",\"integratedTime\":\(e.integratedTime),\"logIndex\":\(e.logIndex),\"logID\":\"\(hex)\"}}"
  }

  /// A keyless cosign signature of `payload` (a simple-signing document): the layer
  /// annotations `cosign sign` writes (signature, certificate, chain, Rekor bundle).
  public func cosignKeyless(_ payload: Data, as id: Identity, tamper: (inout Data) -> Void = { _ in }) throws -> [String: String] {
    let k = P256.Signing.PrivateKey()
    let cert = try issue(id, key: k.publicKey)
    var sig = try k.signature(for: payload).derRepresentation
    let entry = try logEntry(body: try Self.hashedRekordBody(sha256: Data(SHA256.hash(data: payload)), signature: sig, cert: cert), kind: "hashedrekord")
    tamper(&sig)
    return [
      Cosign.signatureAnnotation: sig.base64EncodedString(),
      Cosign.certificateAnnotation: try Self.pem(cert),
      "dev.sigstore.cosign/chain": (try Self.pem(intermediate) + "\n" + Self.pem(root) + "\n"),
      "dev.sigstore.cosign/bundle": Self.cosignBundleAnnotation(entry),
    ]
  }

  /// A DSSE envelope over an in-toto `statement`, its `.att` layer annotations (certificate,
  /// chain, Rekor bundle), and a v0.3 Sigstore bundle of the same signature.
  public func attest(_ statement: Data, as id: Identity) throws -> (envelope: Data, annotations: [String: String], bundle: Data) {
    let k = P256.Signing.PrivateKey()
    let cert = try issue(id, key: k.publicKey)
    let type = "application/vnd.in-toto+json"
    var pae = Data("DSSEv1 \(type.utf8.count) \(type) \(statement.count) ".utf8)
    pae.append(statement)
    let sig = try k.signature(for: pae).derRepresentation
    let envelope = Data(
      "{\"payloadType\":\"\(type)\",\"payload\":\"\(statement.base64EncodedString())\",\"signatures\":[{\"keyid\":\"\",\"sig\":\"\(sig.base64EncodedString())\"}]}".utf8)
    let entry = try logEntry(body: try Self.dsseBody(payload: statement, signature: sig, cert: cert), kind: "dsse")
    let annotations = [
      Cosign.certificateAnnotation: try Self.pem(cert), "dev.sigstore.cosign/chain": (try Self.pem(intermediate) + "\n" + Self.pem(root) + "\n"),
      "dev.sigstore.cosign/bundle": Self.cosignBundleAnnotation(entry),
    ]
    let bundle: [String: Any] = [
      "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
      "verificationMaterial": [
        "certificate": ["rawBytes": try Self.der(cert).base64EncodedString()],
        "tlogEntries": [Self.entryJSON(entry)],
      ],
      "dsseEnvelope": ["payloadType": type, "payload": statement.base64EncodedString(), "signatures": [["sig": sig.base64EncodedString(), "keyid": ""]]],
    ]
    return (envelope, annotations, try JSONSerialization.data(withJSONObject: bundle, options: [.sortedKeys]))
  }

  /// A bundle's `tlogEntries` element; `set: false` leaves out the SET and the integrated time
  /// (as Rekor v2 entries come: only an inclusion proof, dated by a timestamp authority).
  static func entryJSON(_ e: LogEntry, set: Bool = true) -> [String: Any] {
    var doc: [String: Any] = [
      "logIndex": String(e.logIndex), "logId": ["keyId": e.logID.base64EncodedString()], "kindVersion": ["kind": e.kind, "version": e.version],
      "inclusionProof": [
        "logIndex": "1", "rootHash": e.rootHash.base64EncodedString(), "treeSize": "2", "hashes": e.proofHashes.map { $0.base64EncodedString() }, "checkpoint": ["envelope": e.checkpoint],
      ],
      "canonicalizedBody": e.body.base64EncodedString(),
    ]
    if set {
      doc["integratedTime"] = String(e.integratedTime)
      doc["inclusionPromise"] = ["signedEntryTimestamp": e.set.base64EncodedString()]
    }
    return doc
  }

  /// A v0.3 bundle of a message signature over `artifact`: the certificate issued at `certAt`,
  /// a hashedrekord entry (with its SET unless `set` is false) and the RFC 3161 timestamps
  /// `timestamps` makes from the signature bytes.
  public func messageBundle(
    _ artifact: Data, as id: Identity, certAt: Date = Date().addingTimeInterval(-60), set: Bool = true, timestamps: (Data) throws -> [Data] = { _ in [] }
  ) throws -> Data {
    let k = P256.Signing.PrivateKey()
    let cert = try issue(id, key: k.publicKey, at: certAt)
    let sig = try k.signature(for: artifact).derRepresentation
    let digest = Data(SHA256.hash(data: artifact))
    let entry = try logEntry(body: try Self.hashedRekordBody(sha256: digest, signature: sig, cert: cert), kind: "hashedrekord")
    var material: [String: Any] = ["certificate": ["rawBytes": try Self.der(cert).base64EncodedString()], "tlogEntries": [Self.entryJSON(entry, set: set)]]
    let stamps = try timestamps(sig)
    if !stamps.isEmpty { material["timestampVerificationData"] = ["rfc3161Timestamps": stamps.map { ["signedTimestamp": $0.base64EncodedString()] }] }
    let bundle: [String: Any] = [
      "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "verificationMaterial": material,
      "messageSignature": ["messageDigest": ["algorithm": "SHA2_256", "digest": digest.base64EncodedString()], "signature": sig.base64EncodedString()],
    ]
    return try JSONSerialization.data(withJSONObject: bundle, options: [.sortedKeys])
  }

  /// An in-toto statement (v1 by default) about `digest` with a predicate.
  public static func statement(digest: OCI.Digest, predicateType: String, predicate: [String: Any], v01: Bool = false) throws -> Data {
    let doc: [String: Any] = [
      "_type": v01 ? "https://in-toto.io/Statement/v0.1" : "https://in-toto.io/Statement/v1",
      "subject": [["name": "image", "digest": ["sha256": digest.hex]]],
      "predicateType": predicateType, "predicate": predicate,
    ]
    return try JSONSerialization.data(withJSONObject: doc, options: [.sortedKeys, .withoutEscapingSlashes])
  }

  /// A SLSA v1 provenance predicate as actions/attest-build-provenance writes it (another
  /// `buildType`: as another builder writes it, e.g. SLSA's BYOB delegator).
  public static func slsaV1(repo: String, ref: String = "refs/heads/main", builder: String? = nil, buildType: String = "https://actions.github.io/buildtypes/workflow/v1") -> [String: Any] {
    [
      "buildDefinition": [
        "buildType": buildType,
        "externalParameters": ["workflow": ["ref": ref, "repository": "https://github.com/\(repo)", "path": ".github/workflows/release.yml"]],
        "resolvedDependencies": [["uri": "git+https://github.com/\(repo)@\(ref)", "digest": ["gitCommit": "0123456789abcdef0123456789abcdef01234567"]]],
      ],
      "runDetails": [
        "builder": ["id": builder ?? "https://github.com/\(repo)/.github/workflows/release.yml@\(ref)"], "metadata": ["invocationId": "https://github.com/\(repo)/actions/runs/1/attempts/1"],
      ],
    ]
  }
}

public struct TestSigstoreError: Error, CustomStringConvertible {
  public var description: String
  init(_ d: String) { description = d }
}
