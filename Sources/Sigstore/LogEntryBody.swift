import Basics
import Crypto
import FoundationEssentials

/// The Rekor entry body types a bundle's log entry may hold, and the check that the body
/// describes this very signature: the same signature bytes, the same certificate, the same
/// artifact or payload hash. (A valid log entry for another signature proves nothing.)
enum LogEntryBody {
  struct Hash: Decodable {
    var algorithm: String
    var value: String
  }
  struct Content: Decodable { var content: String? }
  struct HashedRekord: Decodable {
    struct Spec: Decodable {
      struct DataPart: Decodable { var hash: Hash }
      struct Sig: Decodable {
        var content: String
        var publicKey: Content
      }
      var data: DataPart
      var signature: Sig
    }
    var kind: String
    var spec: Spec
  }
  struct DSSEBody: Decodable {
    struct Spec: Decodable {
      struct Sig: Decodable {
        var signature: String
        var verifier: String
      }
      var payloadHash: Hash?
      var signatures: [Sig]?
    }
    var kind: String
    var spec: Spec
  }
  struct InTotoBody: Decodable {
    struct Spec: Decodable {
      struct Inner: Decodable {
        struct Envelope: Decodable {
          struct Sig: Decodable {
            var sig: String
            var publicKey: String
          }
          var signatures: [Sig]
        }
        var envelope: Envelope?
        var payloadHash: Hash?
      }
      var content: Inner
    }
    var kind: String
    var spec: Spec
  }

  /// Rekor v2's `hashedrekord` 0.0.2: the digest and signature as protobuf JSON, the verifier's
  /// certificate as DER. For a DSSE envelope (rekor-v2-spec "hashedrekord over DSSE") the
  /// digest is the SHA-256 of the envelope's PAE and the signature the envelope's.
  struct HashedRekordV002: Decodable {
    struct Spec: Decodable {
      struct Body: Decodable {
        struct HashOutput: Decodable {
          var algorithm: String
          var digest: String
        }
        struct Sig: Decodable {
          struct Verifier: Decodable {
            struct Raw: Decodable { var rawBytes: String }
            var x509Certificate: Raw?
          }
          var content: String
          var verifier: Verifier
        }
        var data: HashOutput
        var signature: Sig
      }
      var hashedRekordV002: Body
    }
    var kind: String
    var spec: Spec
  }

  /// Checks a hashedrekord 0.0.2 body: this digest, this signature, this certificate.
  static func checkV002(_ entry: TransparencyLogEntry, digest: Data, signature: Data, leafDER: Data) throws(SigstoreError) {
    let body = try ProtoJSON.decode(HashedRekordV002.self, entry.canonicalizedBody, what: "log entry \(entry.logIndex) body")
    let b = body.spec.hashedRekordV002
    guard body.kind == "hashedrekord" else { throw SigstoreError(.transparencyLog, "log entry \(entry.logIndex) body kind is not hashedrekord") }
    guard b.data.algorithm == "SHA2_256", ProtoJSON.base64(b.data.digest) == digest else {
      throw SigstoreError(.transparencyLog, "log entry \(entry.logIndex) records another artifact (hash differs)")
    }
    guard ProtoJSON.base64(b.signature.content) == signature else { throw SigstoreError(.transparencyLog, "log entry \(entry.logIndex) records another signature") }
    guard let c = b.signature.verifier.x509Certificate, ProtoJSON.base64(c.rawBytes) == leafDER else {
      throw SigstoreError(.transparencyLog, "log entry \(entry.logIndex) records another certificate")
    }
  }

  /// The DER of a certificate the body names as base64 of PEM (or of DER).
  static func certificateDER(_ b64: String) -> Data? {
    guard let raw = ProtoJSON.base64(b64) else { return nil }
    guard let pem = String(data: raw, encoding: .utf8), pem.contains("-----BEGIN") else { return raw }
    let inner = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
    return Data(base64Encoded: inner)
  }

  static func sha256Hex(_ d: Data) -> String { Data(SHA256.hash(data: d)).hexString }

  /// Checks `entry`'s body against a message signature over an artifact with `digest`.
  static func checkMessage(_ entry: TransparencyLogEntry, digest: Data, signature: Data, leafDER: Data) throws(SigstoreError) {
    if entry.kind == "hashedrekord", entry.kindVersion == "0.0.2" { return try checkV002(entry, digest: digest, signature: signature, leafDER: leafDER) }
    guard entry.kind == "hashedrekord", entry.kindVersion == "0.0.1" else {
      throw SigstoreError(.transparencyLog, "log entry \(entry.logIndex) is a \(entry.kind.prefix(30)) \(entry.kindVersion.prefix(10)) entry, not hashedrekord 0.0.1/0.0.2 for a message signature")
    }
    let body = try ProtoJSON.decode(HashedRekord.self, entry.canonicalizedBody, what: "log entry \(entry.logIndex) body")
    guard body.kind == "hashedrekord" else { throw SigstoreError(.transparencyLog, "log entry \(entry.logIndex) body kind is not hashedrekord") }
    guard body.spec.data.hash.algorithm == "sha256", body.spec.data.hash.value.lowercased() == digest.hexString else {
      throw SigstoreError(.transparencyLog, "log entry \(entry.logIndex) records another artifact (hash differs)")
    }
    guard ProtoJSON.base64(body.spec.signature.content) == signature else {
      throw SigstoreError(.transparencyLog, "log entry \(entry.logIndex) records another signature")
    }
    guard let c = body.spec.signature.publicKey.content, certificateDER(c) == leafDER else {
      throw SigstoreError(.transparencyLog, "log entry \(entry.logIndex) records another certificate")
    }
  }

  /// Checks `entry`'s body against a DSSE envelope (Rekor `dsse` 0.0.1 or `intoto` 0.0.2).
  static func checkDSSE(_ entry: TransparencyLogEntry, envelope: DSSEEnvelope, leafDER: Data) throws(SigstoreError) {
    let payloadHash = sha256Hex(envelope.payload)
    let sig = envelope.signatures.first ?? Data()
    switch (entry.kind, entry.kindVersion) {
    case ("hashedrekord", "0.0.2"):
      try checkV002(entry, digest: Data(SHA256.hash(data: envelope.pae)), signature: sig, leafDER: leafDER)
    case ("dsse", "0.0.1"):
      let body = try ProtoJSON.decode(DSSEBody.self, entry.canonicalizedBody, what: "log entry \(entry.logIndex) body")
      guard let h = body.spec.payloadHash, h.algorithm == "sha256", h.value.lowercased() == payloadHash else {
        throw SigstoreError(.transparencyLog, "log entry \(entry.logIndex) records another DSSE payload")
      }
      let sigs = body.spec.signatures ?? []
      guard sigs.count == envelope.signatures.count, sigs.contains(where: { ProtoJSON.base64($0.signature) == sig && certificateDER($0.verifier) == leafDER }) else {
        throw SigstoreError(.transparencyLog, "log entry \(entry.logIndex) records other DSSE signatures or another certificate")
      }
    case ("intoto", "0.0.2"):
      let body = try ProtoJSON.decode(InTotoBody.self, entry.canonicalizedBody, what: "log entry \(entry.logIndex) body")
      guard let h = body.spec.content.payloadHash, h.algorithm == "sha256", h.value.lowercased() == payloadHash else {
        throw SigstoreError(.transparencyLog, "log entry \(entry.logIndex) records another in-toto payload")
      }
      // intoto 0.0.2 stores the signature base64 twice over.
      let sigs = body.spec.content.envelope?.signatures ?? []
      let ok = sigs.contains { s in
        let once = ProtoJSON.base64(s.sig)
        let twice = once.flatMap { String(data: $0, encoding: .utf8) }.flatMap(ProtoJSON.base64)
        return (once == sig || twice == sig) && certificateDER(s.publicKey) == leafDER
      }
      guard ok, sigs.count == envelope.signatures.count else { throw SigstoreError(.transparencyLog, "log entry \(entry.logIndex) records other in-toto signatures or another certificate") }
    default:
      throw SigstoreError(
        .transparencyLog, "log entry \(entry.logIndex) is a \(entry.kind.prefix(30)) \(entry.kindVersion.prefix(10)) entry, not dsse 0.0.1, intoto 0.0.2 or hashedrekord 0.0.2 for a DSSE envelope")
    }
  }
}
