import Basics
import CZlib
import FoundationEssentials

/// zlib streams as git stores them: loose objects are one stream per file; in a pack each
/// object's stream starts at a known offset and its end is only found by inflating it.
enum Inflate {
  /// Inflates the zlib stream starting at `offset` of `data`, producing at most `limit` bytes: a
  /// stream that would produce more (a zlib bomb, or a pack entry whose header lies about its
  /// size) is refused as soon as it passes the limit, never inflated into memory.
  /// `expectedSize` (known from a pack entry header) must then match exactly.
  static func stream(_ data: Data, at offset: Int = 0, expectedSize: Int? = nil, limit: Int = GitLimits.maxObjectSize) throws -> Data {
    let cap = min(expectedSize ?? limit, limit)
    guard cap >= 0 else { throw GitStoreError("negative object size") }
    var stream = z_stream()
    guard czlib_inflate_init(&stream) == Z_OK else { throw GitStoreError("zlib could not start") }
    defer { inflateEnd(&stream) }
    // One byte more than allowed: producing it proves the stream is longer than it may be.
    var output = Data(count: min(cap, 1 << 16) + 1)
    var produced = 0
    let status: Int32 = data.withUnsafeBytes { (input: UnsafeRawBufferPointer) -> Int32 in
      guard let base = input.baseAddress, offset >= 0, offset < input.count else { return Z_DATA_ERROR }
      stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self) + offset)
      // zlib counts input in 32 bits; an object's stream never needs more than that.
      stream.avail_in = uInt(min(input.count - offset, Int(UInt32.max)))
      while true {
        if produced == output.count {
          guard produced <= cap else { return Z_BUF_ERROR }
          output.count = min(output.count * 2, cap + 1)
        }
        let room = output.count - produced
        let result: Int32 = output.withUnsafeMutableBytes { out -> Int32 in
          guard let outBase = out.baseAddress else { return Z_MEM_ERROR }
          stream.next_out = outBase.assumingMemoryBound(to: Bytef.self) + produced
          stream.avail_out = uInt(room)
          let r = inflate(&stream, Z_NO_FLUSH)
          produced += room - Int(stream.avail_out)
          return r
        }
        if produced > cap { return Z_BUF_ERROR }
        if result == Z_STREAM_END { return Z_OK }
        if result != Z_OK { return result }
        if stream.avail_in == 0 && stream.avail_out > 0 { return Z_DATA_ERROR }  // truncated
      }
    }
    if status == Z_BUF_ERROR, produced > cap {
      throw GitStoreError(
        expectedSize != nil && cap == expectedSize
          ? "object inflates to more than the \(cap) bytes its header declares" : "object inflates to more than \(limit) bytes, Gantry's limit for one object")
    }
    guard status == Z_OK else { throw GitStoreError("corrupt zlib stream (zlib status \(status))") }
    output.count = produced
    if let expectedSize, produced != expectedSize {
      throw GitStoreError("object inflated to \(produced) bytes, its header says \(expectedSize)")
    }
    return output
  }
}

/// Bounds on what one repository may make the native reader do: a commit or tag is a few
/// kilobytes, so these only ever stop corrupt or malicious repositories.
enum GitLimits {
  /// The largest object read (inflated, or built by a delta): 64 MiB.
  static let maxObjectSize = 64 << 20
  /// The longest delta chain followed. git's own packer allows at most 4095 (`pack.depth`);
  /// the chain is followed in a loop, not by recursion, so a deep chain cannot exhaust a stack.
  static let maxDeltaDepth = 4095
  /// Annotated tags pointing at annotated tags, peeled at most this deep. git peels without
  /// a limit (a chain cannot loop in a sound store: each tag names its target by hash); this
  /// only stops a corrupt store whose tag objects point at each other.
  static let maxTagNesting = 4096
}

/// A git object store that cannot be read as expected: corrupt, truncated or malicious.
public struct GitStoreError: Error, CustomStringConvertible {
  public var description: String
  init(_ d: String) { description = d }
}
