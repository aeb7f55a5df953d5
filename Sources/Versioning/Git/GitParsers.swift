import Basics
import FoundationEssentials

/// The byte-level parsers of Gantry's `.git` reader, reachable from outside the module for the
/// fuzzers (`Sources/FuzzTargets`): every byte they see can come from a hostile repository.
/// Each either returns or throws ``GitStoreError``; none may trap.
public enum GitParsers {
  /// The largest object the reader builds (a delta or an inflation past it is refused).
  public static var maxObjectSize: Int { GitLimits.maxObjectSize }

  /// Applies a git delta ([pack-format: deltified representation](https://git-scm.com/docs/pack-format#_deltified_representation)).
  public static func applyDelta(_ delta: Data, to base: Data) throws -> Data { try Delta.apply(delta, to: base) }

  /// Inflates one zlib stream, refusing more than `expectedSize` bytes (a zlib bomb stops there).
  public static func inflate(_ data: Data, expectedSize: Int?) throws -> Data { try Inflate.stream(data, expectedSize: expectedSize) }

  /// A commit object's parents, committer time and message.
  public static func commit(_ bytes: [UInt8]) -> (parents: [String], time: Int, message: String) {
    let c = NativeGit.parseCommit(bytes)
    return (c.parents, c.time, c.message)
  }

  /// Whether a ref name read from a repository may become a path under `.git`.
  public static func isSafeRefName(_ ref: String) -> Bool { NativeGit.isSafeRefName(ref) }
}
