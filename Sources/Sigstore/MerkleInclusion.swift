import Basics
import Crypto
import FoundationEssentials

/// An RFC 6962 / RFC 9162 inclusion proof: the audit path from a leaf to a tree root.
public struct InclusionProof: Sendable, Equatable {
  public var logIndex: Int64
  public var treeSize: Int64
  public var rootHash: Data
  public var hashes: [Data]
  /// The signed checkpoint (a signed note) for the tree the proof is against.
  public var checkpoint: String?

  /// A tree of 2^63 leaves has a path of 63 hashes.
  public static let maxHashes = 64

  public init(logIndex: Int64, treeSize: Int64, rootHash: Data, hashes: [Data], checkpoint: String?) {
    self.logIndex = logIndex
    self.treeSize = treeSize
    self.rootHash = rootHash
    self.hashes = hashes
    self.checkpoint = checkpoint
  }

  /// RFC 6962 leaf hash: SHA-256(0x00 ‖ entry).
  public static func leafHash(_ entry: Data) -> Data {
    var h = SHA256()
    h.update(data: [0])
    h.update(data: entry)
    return Data(h.finalize())
  }

  static func nodeHash(_ l: Data, _ r: Data) -> Data {
    var h = SHA256()
    h.update(data: [1])
    h.update(data: l)
    h.update(data: r)
    return Data(h.finalize())
  }

  /// The root the audit path leads to from `leaf` (RFC 9162 §2.1.3.2), or an error naming why
  /// the proof is not one for this index and size.
  public func computedRoot(leaf: Data) throws(SigstoreError) -> Data {
    guard logIndex >= 0, treeSize > 0, logIndex < treeSize else {
      throw SigstoreError(.transparencyLog, "inclusion proof index \(logIndex) is outside the tree of size \(treeSize)")
    }
    guard hashes.allSatisfy({ $0.count == 32 }), rootHash.count == 32 else { throw SigstoreError(.transparencyLog, "inclusion proof hashes are not SHA-256 values") }
    var fn = UInt64(logIndex)
    var sn = UInt64(treeSize) - 1
    var r = leaf
    for p in hashes {
      guard sn != 0 else { throw SigstoreError(.transparencyLog, "inclusion proof has more hashes than the path to index \(logIndex) in a tree of \(treeSize)") }
      if fn & 1 == 1 || fn == sn {
        r = Self.nodeHash(p, r)
        if fn & 1 == 0 {
          while fn & 1 == 0 && fn != 0 {
            fn >>= 1
            sn >>= 1
          }
        }
      } else {
        r = Self.nodeHash(r, p)
      }
      fn >>= 1
      sn >>= 1
    }
    guard sn == 0 else { throw SigstoreError(.transparencyLog, "inclusion proof has fewer hashes than the path to index \(logIndex) in a tree of \(treeSize)") }
    return r
  }

  /// Recomputes the root from the entry body and compares it with the proof's root hash.
  public func verify(entry: Data) throws(SigstoreError) {
    let root = try computedRoot(leaf: Self.leafHash(entry))
    guard root == rootHash else { throw SigstoreError(.transparencyLog, "inclusion proof does not lead to the stated root hash (entry not in the tree)") }
  }
}
