import Foundation

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
    let any: Any
    do { any = try JSONSerialization.jsonObject(with: payload) } catch { throw SigstoreError(.malformed, "in-toto statement is not JSON") }
    guard let o = any as? [String: Any], let t = o["_type"] as? String, t == Self.v01 || t == Self.v1 else {
      throw SigstoreError(.attestation, "payload is not an in-toto statement v0.1 or v1")
    }
    guard let subs = o["subject"] as? [[String: Any]], !subs.isEmpty else { throw SigstoreError(.attestation, "in-toto statement has no subject") }
    guard subs.count <= Self.maxSubjects else { throw SigstoreError(.tooLarge, "in-toto statement has \(subs.count) subjects (at most \(Self.maxSubjects))") }
    guard let pt = o["predicateType"] as? String else { throw SigstoreError(.attestation, "in-toto statement has no predicateType") }
    type = t
    predicateType = pt
    subjects = subs.map { s in
      Subject(name: s["name"] as? String, digests: (s["digest"] as? [String: Any] ?? [:]).compactMapValues { $0 as? String })
    }
    if let p = o["predicate"], JSONSerialization.isValidJSONObject(p) { predicate = try? JSONSerialization.data(withJSONObject: p) }
  }

  public func hasSubject(sha256 hex: String) -> Bool {
    subjects.contains { $0.digests["sha256"]?.lowercased() == hex.lowercased() }
  }
}
