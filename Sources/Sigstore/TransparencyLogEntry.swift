import Basics
import FoundationEssentials

/// A Rekor entry as a bundle carries it: where it sits in the log, the entry body Rekor
/// stored, its signed entry timestamp (SET) and/or its inclusion proof.
public struct TransparencyLogEntry: Sendable {
  public var logIndex: Int64
  public var logID: Data
  public var kind: String
  public var kindVersion: String
  /// Seconds since 1970 when the log integrated the entry; a verified time only once the SET
  /// (which signs it) verifies.
  public var integratedTime: Int64?
  public var signedEntryTimestamp: Data?
  public var inclusionProof: InclusionProof?
  /// The entry body (canonical JSON) exactly as the log hashed it.
  public var canonicalizedBody: Data

  struct Document: Decodable {
    struct LogID: Decodable { var keyId: Base64Bytes }
    struct KindVersion: Decodable {
      var kind: String
      var version: String
    }
    struct Promise: Decodable { var signedEntryTimestamp: Base64Bytes }
    struct Checkpoint: Decodable { var envelope: String }
    struct Proof: Decodable {
      var logIndex: Int64String
      var rootHash: Base64Bytes
      var treeSize: Int64String
      var hashes: [Base64Bytes]?
      var checkpoint: Checkpoint?
    }
    var logIndex: Int64String
    var logId: LogID
    var kindVersion: KindVersion
    var integratedTime: Int64String?
    var inclusionPromise: Promise?
    var inclusionProof: Proof?
    var canonicalizedBody: Base64Bytes
  }

  init(_ d: Document) throws(SigstoreError) {
    guard d.logIndex.value >= 0 else { throw SigstoreError(.malformed, "log entry has a negative logIndex") }
    logIndex = d.logIndex.value
    logID = d.logId.keyId.data
    kind = d.kindVersion.kind
    kindVersion = d.kindVersion.version
    // Rekor v2 entries have no integrated time (0 or absent): only a timestamp can date them.
    integratedTime = d.integratedTime.flatMap { $0.value > 0 ? $0.value : nil }
    signedEntryTimestamp = d.inclusionPromise?.signedEntryTimestamp.data
    canonicalizedBody = d.canonicalizedBody.data
    guard canonicalizedBody.count <= 1 << 20 else { throw SigstoreError(.tooLarge, "log entry body is over 1 MiB") }
    if let p = d.inclusionProof {
      let hashes = (p.hashes ?? []).map(\.data)
      guard hashes.count <= InclusionProof.maxHashes else { throw SigstoreError(.tooLarge, "inclusion proof has \(hashes.count) hashes (at most \(InclusionProof.maxHashes))") }
      inclusionProof = InclusionProof(logIndex: p.logIndex.value, treeSize: p.treeSize.value, rootHash: p.rootHash.data, hashes: hashes, checkpoint: p.checkpoint?.envelope)
    }
  }

  public init(
    logIndex: Int64, logID: Data, kind: String, kindVersion: String, integratedTime: Int64?, signedEntryTimestamp: Data?, inclusionProof: InclusionProof?, canonicalizedBody: Data
  ) {
    self.logIndex = logIndex
    self.logID = logID
    self.kind = kind
    self.kindVersion = kindVersion
    self.integratedTime = integratedTime
    self.signedEntryTimestamp = signedEntryTimestamp
    self.inclusionProof = inclusionProof
    self.canonicalizedBody = canonicalizedBody
  }

  /// What Rekor's SET signs: canonical JSON of body (base64), integratedTime, logID (hex), logIndex.
  public var signedEntryTimestampPayload: Data? {
    guard let t = integratedTime else { return nil }
    return CanonicalJSON.encode(
      .object([
        "body": .string(canonicalizedBody.base64EncodedString()), "integratedTime": .integer(t), "logID": .string(logID.hexString), "logIndex": .integer(logIndex),
      ]))
  }

  /// Checks the SET with the log's key. Returns the integrated time it vouches for.
  public func verifySignedEntryTimestamp(_ log: TrustedRoot.Log) throws(SigstoreError) -> Date {
    guard let set = signedEntryTimestamp else { throw SigstoreError(.transparencyLog, "log entry \(logIndex) has no signed entry timestamp") }
    guard let payload = signedEntryTimestampPayload, let t = integratedTime else { throw SigstoreError(.transparencyLog, "log entry \(logIndex) has no integrated time") }
    guard log.key.verifies(set, over: payload) else {
      throw SigstoreError(.signature, "the signed entry timestamp of log entry \(logIndex) does not verify with the key of \(log.baseURL)")
    }
    return Date(timeIntervalSince1970: Double(t))
  }
}
