import Basics
import Crypto
import FoundationEssentials

/// A signed checkpoint (a "signed note", https://github.com/transparency-dev/formats): origin,
/// tree size and root hash, optional extension lines, a blank line, then signature lines
/// `— <name> <base64(4-byte key hint ‖ signature)>`.
public struct Checkpoint: Sendable, Equatable {
  public var origin: String
  public var treeSize: Int64
  public var rootHash: Data
  /// The signed text: every line up to and including the blank line's preceding newline.
  public var body: Data
  public var signatures: [(name: String, keyHint: Data, signature: Data)]

  public static func == (a: Checkpoint, b: Checkpoint) -> Bool {
    a.origin == b.origin && a.treeSize == b.treeSize && a.rootHash == b.rootHash && a.body == b.body
  }

  static let maxSize = 16 << 10
  static let maxSignatures = 16

  public init(_ text: String) throws(SigstoreError) {
    guard text.utf8.count <= Self.maxSize else { throw SigstoreError(.tooLarge, "checkpoint is over \(Self.maxSize) bytes") }
    guard let split = text.firstRange(of: "\n\n") else { throw SigstoreError(.malformed, "checkpoint has no blank line before its signatures") }
    let note = String(text[..<split.lowerBound]) + "\n"
    let lines = note.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
    guard lines.count >= 3 else { throw SigstoreError(.malformed, "checkpoint needs origin, tree size and root hash lines") }
    let l = Array(lines)
    guard !l[0].isEmpty else { throw SigstoreError(.malformed, "checkpoint has no origin") }
    guard let size = Int64(l[1]), size >= 0 else { throw SigstoreError(.malformed, "checkpoint tree size is not a number") }
    guard let root = Data(base64Encoded: String(l[2])), root.count == 32 else { throw SigstoreError(.malformed, "checkpoint root hash is not base64 SHA-256") }
    origin = String(l[0])
    treeSize = size
    rootHash = root
    body = Data(note.utf8)
    var sigs: [(String, Data, Data)] = []
    for line in text[split.upperBound...].split(separator: "\n") {
      guard sigs.count < Self.maxSignatures else { throw SigstoreError(.tooLarge, "checkpoint has more than \(Self.maxSignatures) signatures") }
      guard line.hasPrefix("— ") else { throw SigstoreError(.malformed, "checkpoint signature line does not start with an em dash") }
      let parts = line.dropFirst(2).split(separator: " ")
      guard parts.count == 2, let raw = Data(base64Encoded: String(parts[1])), raw.count > 4 else {
        throw SigstoreError(.malformed, "checkpoint signature line is not '— <name> <base64>'")
      }
      sigs.append((String(parts[0]), Data(raw.prefix(4)), Data(raw.dropFirst(4))))
    }
    guard !sigs.isEmpty else { throw SigstoreError(.malformed, "checkpoint has no signature") }
    signatures = sigs
  }

  /// Checks that a signature by `log`'s key covers the note: the key hint must be the log's
  /// (first 4 bytes of its key ID) and the signature must verify.
  public func verify(by log: TrustedRoot.Log) throws(SigstoreError) {
    let hint = Data(log.logID.prefix(4))
    let mine = signatures.filter { $0.keyHint == hint }
    guard !mine.isEmpty else { throw SigstoreError(.transparencyLog, "checkpoint carries no signature by the log (\(log.baseURL)) that holds the entry") }
    guard mine.contains(where: { log.key.verifies($0.signature, over: body) }) else {
      throw SigstoreError(.signature, "checkpoint signature does not verify with the key of \(log.baseURL)")
    }
  }
}
