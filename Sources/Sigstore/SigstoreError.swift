import Basics
import FoundationEssentials

/// Why a Sigstore bundle, certificate, log entry or attestation was refused. Every case names
/// the part that failed; texts that came from the bundle are kept short and are untrusted
/// (callers print them through their escaping path).
public struct SigstoreError: Error, Sendable, Equatable, CustomStringConvertible {
  public enum Kind: String, Sendable {
    /// The bytes are not a bundle / trusted root / envelope of a known shape or version.
    case malformed
    /// A cap on sizes or counts was exceeded.
    case tooLarge
    /// The certificate chain does not lead to a trusted Fulcio CA at the verified time.
    case certificate
    /// A signature (artifact, DSSE, SET, checkpoint, SCT) does not verify.
    case signature
    /// The transparency log entry does not match, or its proof does not verify.
    case transparencyLog
    /// No verified time: a keyless signature without a signed log time or timestamp.
    case time
    /// The certificate's identity does not satisfy the policy.
    case identity
    /// The statement / predicate does not satisfy the attestation policy.
    case attestation
  }
  public var kind: Kind
  public var message: String

  public init(_ kind: Kind, _ message: String) {
    self.kind = kind
    self.message = message
  }

  public var description: String { message }
}
