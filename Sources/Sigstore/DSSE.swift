import Basics
import FoundationEssentials

/// A DSSE envelope (https://github.com/secure-systems-lab/dsse): the signature covers the
/// pre-authentication encoding of the payload type and payload, never the JSON.
public struct DSSEEnvelope: Sendable, Equatable {
  public var payloadType: String
  public var payload: Data
  public var signatures: [Data]

  static let maxSignatures = 8

  /// `DSSEv1 <len(type)> <type> <len(body)> <body>`.
  public static func pae(type: String, payload: Data) -> Data {
    var d = Data("DSSEv1 \(type.utf8.count) \(type) \(payload.count) ".utf8)
    d.append(payload)
    return d
  }

  public var pae: Data { Self.pae(type: payloadType, payload: payload) }

  struct Document: Decodable {
    struct Signature: Decodable {
      var sig: Base64Bytes
      var keyid: String?
    }
    var payload: Base64Bytes
    var payloadType: String
    var signatures: [Signature]
  }

  init(_ doc: Document) throws(SigstoreError) {
    guard !doc.signatures.isEmpty else { throw SigstoreError(.malformed, "DSSE envelope has no signature") }
    guard doc.signatures.count <= Self.maxSignatures else { throw SigstoreError(.tooLarge, "DSSE envelope has \(doc.signatures.count) signatures (at most \(Self.maxSignatures))") }
    payloadType = doc.payloadType
    payload = doc.payload.data
    signatures = doc.signatures.map(\.sig.data)
  }

  /// Parses an envelope (cosign `.att` layers and DSSE bundles carry this JSON).
  public init(json: Data) throws(SigstoreError) {
    try self.init(try ProtoJSON.decode(Document.self, json, what: "DSSE envelope"))
  }
}
