import Basics
import Crypto
import FoundationEssentials
import X509

/// What a verified keyless bundle proves.
public struct VerifiedSignature: Sendable {
  public var identity: FulcioIdentity
  /// The verified signing time (the earliest the log or a timestamp vouches for).
  public var time: Date
  /// The authority (Fulcio) the certificate chains to.
  public var certificateAuthority: String
  /// The log entries that verified (log index).
  public var logIndices: [Int64]
  /// For a DSSE bundle: the signed payload and its type (an in-toto statement).
  public var payload: Data?
  public var payloadType: String?
}

/// Verifies Sigstore bundles offline against a trusted root: the signature with the leaf's key,
/// the log entry's body against this signature, certificate and artifact, the SET and/or the
/// inclusion proof with its signed checkpoint, the certificate chain at the verified time, and
/// the identity policy. Only times the log signed (or a timestamp authority) count.
public struct BundleVerifier: Sendable {
  public var root: TrustedRoot
  public var policy: IdentityPolicy
  /// Now, for rejecting log times in the future (with a minute of skew).
  public var now: @Sendable () -> Date = { Date() }

  public init(root: TrustedRoot, policy: IdentityPolicy) {
    self.root = root
    self.policy = policy
  }

  /// What the signature covers: the artifact's bytes (message signatures; cosign's payload),
  /// or nothing to compare (DSSE: the caller checks the statement's subjects).
  public enum Artifact: Sendable {
    case bytes(Data)
    case sha256(Data)
    case none
  }

  public func verify(_ bundle: SigstoreBundle, artifact: Artifact) async throws(SigstoreError) -> VerifiedSignature {
    guard let leaf = bundle.leaf, let leafDER = bundle.certificateDER.first else {
      throw SigstoreError(.certificate, "bundle names a public key, not a certificate: key-based bundles are verified with cosign-public-key, not keyless")
    }
    let leafKey = VerificationKey(leaf.publicKey)
    // 1. The signature itself, with the certificate's key.
    var payload: Data?
    var payloadType: String?
    var artifactDigest: Data?
    switch bundle.content {
    case .message(let stated, let signature):
      switch artifact {
      case .bytes(let b):
        let d = Data(SHA256.hash(data: b))
        if let stated, stated != d { throw SigstoreError(.signature, "bundle's message digest is not the artifact's sha256") }
        guard leafKey.verifies(signature, over: b) else { throw SigstoreError(.signature, "signature does not verify over the artifact with the certificate's key") }
        artifactDigest = d
      case .sha256, .none:
        // The signature is checked over the bytes: a digest alone would leave it unchecked.
        throw SigstoreError(.signature, "a message signature is verified over the artifact's bytes, which were not given")
      }
      for e in bundle.tlogEntries {
        try LogEntryBody.checkMessage(e, digest: artifactDigest ?? Data(), signature: signature, leafDER: leafDER)
      }
    case .dsse(let env):
      guard let sig = env.signatures.first, leafKey.verifies(sig, over: env.pae) else {
        throw SigstoreError(.signature, "DSSE signature does not verify with the certificate's key")
      }
      for e in bundle.tlogEntries { try LogEntryBody.checkDSSE(e, envelope: env, leafDER: leafDER) }
      payload = env.payload
      payloadType = env.payloadType
      if case .sha256(let d) = artifact { artifactDigest = d }
      if case .bytes(let b) = artifact { artifactDigest = Data(SHA256.hash(data: b)) }
      if let artifactDigest {
        let statement = try InTotoStatement(payloadType: env.payloadType, payload: env.payload)
        guard statement.hasSubject(sha256: artifactDigest.hexString) else {
          throw SigstoreError(.attestation, "no subject of the in-toto statement has the artifact's sha256")
        }
      }
    }
    // 2. RFC 3161 timestamps over the signature: each one must verify. (sigstore-python and
    // sigstore-go skip a bad one when another time verifies; a timestamp that does not check
    // could hide a signature outside the certificate's validity, so it is refused, not ignored.)
    var times: [Date] = []
    let signed: Data
    switch bundle.content {
    case .message(_, let signature): signed = signature
    case .dsse(let env): signed = env.signatures.first ?? Data()
    }
    var stamped: Set<Data> = []
    for (i, der) in bundle.rfc3161Timestamps.enumerated() {
      guard stamped.insert(der).inserted else { throw SigstoreError(.malformed, "bundle carries the same RFC 3161 timestamp twice") }
      let stamp: RFC3161Timestamp
      do { stamp = try RFC3161Timestamp(der: der) } catch { throw SigstoreError(error.kind, "timestamp \(i + 1): \(error.message)") }
      do { times.append(try await stamp.verify(signature: signed, root: root, now: now()).time) } catch { throw SigstoreError(error.kind, "timestamp \(i + 1): \(error.message)") }
    }
    // 3. The transparency log: every entry proven, the verified times collected. A root that
    // lists transparency logs requires an entry in one; a root without any (GitHub's instance
    // for private repositories) dates signatures by its timestamp authorities alone.
    if bundle.tlogEntries.isEmpty, root.listsTransparencyLogs {
      throw SigstoreError(.time, "bundle has no transparency log entry: a keyless signature needs a verified time (the trusted root, \(root.name), lists transparency logs)")
    }
    var indices: [Int64] = []
    for e in bundle.tlogEntries {
      guard let log = root.tlog(e.logID) else {
        throw SigstoreError(.transparencyLog, "log entry \(e.logIndex) is from a log the trusted root (\(root.name)) does not list (log ID \(e.logID.hexString.prefix(16))…)")
      }
      if let proof = e.inclusionProof {
        try proof.verify(entry: e.canonicalizedBody)
        if let text = proof.checkpoint {
          let cp = try Checkpoint(text)
          guard cp.treeSize == proof.treeSize, cp.rootHash == proof.rootHash else {
            throw SigstoreError(.transparencyLog, "checkpoint is for another tree (size or root hash differs from the inclusion proof)")
          }
          try cp.verify(by: log)
        }
      }
      if e.signedEntryTimestamp != nil {
        let t = try e.verifySignedEntryTimestamp(log)
        guard log.validity.contains(t) else { throw SigstoreError(.transparencyLog, "log \(log.baseURL)'s key was not valid at the entry's integrated time") }
        guard t <= now().addingTimeInterval(60) else { throw SigstoreError(.time, "log entry \(e.logIndex)'s integrated time is in the future") }
        times.append(t)
      } else if bundle.version == .v0_1 {
        throw SigstoreError(.transparencyLog, "bundle v0.1 log entry \(e.logIndex) has no signed entry timestamp")
      }
      indices.append(e.logIndex)
    }
    guard let earliest = times.min() else {
      throw SigstoreError(.time, "no verified signing time: no signed entry timestamp and no RFC 3161 timestamp (a keyless signature is valid only at a time the log or a timestamp authority signed)")
    }
    // 4. The certificate, valid at every verified time.
    var ca = ""
    var issuer: Certificate?
    for t in Set(times) {
      (ca, issuer) = try await CertificateChain.verify(leaf: leaf, intermediates: Array(bundle.certificates.dropFirst()), at: t, root: root)
    }
    // The certificate was logged in certificate transparency (an SCT from a CT log of the root).
    // (A root without CT logs, GitHub's instance, has no SCTs to check.)
    if let issuer, root.listsCTLogs { try SignedCertificateTimestamp.verify(leaf: leaf, issuer: issuer, root: root) }
    // 5. Who signed.
    let identity = try FulcioIdentity(leaf)
    try policy.check(identity)
    return VerifiedSignature(identity: identity, time: earliest, certificateAuthority: ca, logIndices: indices, payload: payload, payloadType: payloadType)
  }
}
