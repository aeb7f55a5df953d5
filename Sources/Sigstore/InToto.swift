import Basics
import FoundationEssentials

/// An in-toto statement (https://github.com/in-toto/attestation): v0.1 (what cosign writes)
/// and v1. The predicate is kept as JSON for the predicate-specific readers (SLSA).
public struct InTotoStatement: Sendable {
  public static let payloadType = "application/vnd.in-toto+json"
  public static let v01 = "https://in-toto.io/Statement/v0.1"
  public static let v1 = "https://in-toto.io/Statement/v1"

  public struct Subject: Sendable, Equatable {
    public var name: String?
    public var digests: [String: String]
  }
  public var type: String
  public var subjects: [Subject]
  public var predicateType: String
  /// The predicate's JSON bytes (re-encoded), for SLSA and other readers.
  public var predicate: Data?

  public static let maxSubjects = 1024

  public init(payloadType: String, payload: Data) throws(SigstoreError) {
    guard payloadType == Self.payloadType else { throw SigstoreError(.attestation, "DSSE payload type is not \(Self.payloadType)") }
    guard payload.count <= ProtoJSON.maxDocument else { throw SigstoreError(.tooLarge, "in-toto statement is over \(ProtoJSON.maxDocument) bytes") }
    guard let o = JSONValue.parse(payload) else { throw SigstoreError(.malformed, "in-toto statement is not JSON") }
    guard let t = o["_type"]?.string, t == Self.v01 || t == Self.v1 else {
      throw SigstoreError(.attestation, "payload is not an in-toto statement v0.1 or v1")
    }
    guard let subs = o["subject"]?.array, !subs.isEmpty else { throw SigstoreError(.attestation, "in-toto statement has no subject") }
    guard subs.count <= Self.maxSubjects else { throw SigstoreError(.tooLarge, "in-toto statement has \(subs.count) subjects (at most \(Self.maxSubjects))") }
    guard let pt = o["predicateType"]?.string else { throw SigstoreError(.attestation, "in-toto statement has no predicateType") }
    type = t
    predicateType = pt
    subjects = subs.map { s in
      Subject(name: s["name"]?.string, digests: (s["digest"]?.object ?? [:]).compactMapValues { $0.string })
    }
    if let p = o["predicate"], p.object != nil || p.array != nil { predicate = try? p.serialized() }
  }

  public func hasSubject(sha256 hex: String) -> Bool {
    subjects.contains { $0.digests["sha256"]?.lowercased() == hex.lowercased() }
  }
}
