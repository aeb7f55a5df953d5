import CZlib
import Foundation

/// zlib streams as git stores them: loose objects are one stream per file; in a pack each
/// object's stream starts at a known offset and its end is only found by inflating it.
enum Inflate {
  /// Inflates the zlib stream starting at `offset` of `data`. `expectedSize` (known from the
  /// pack entry header) sizes the output; nil grows it as needed.
  static func stream(_ data: Data, at offset: Int = 0, expectedSize: Int? = nil) throws -> Data {
    var stream = z_stream()
    guard czlib_inflate_init(&stream) == Z_OK else { throw GitStoreError("zlib could not start") }
    defer { inflateEnd(&stream) }
    var output = Data(count: max(expectedSize ?? 4096, 1))
    var produced = 0
    let status: Int32 = data.withUnsafeBytes { (input: UnsafeRawBufferPointer) -> Int32 in
      guard let base = input.baseAddress, offset < input.count else { return Z_DATA_ERROR }
      stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self) + offset)
      stream.avail_in = uInt(input.count - offset)
      while true {
        if produced == output.count { output.count *= 2 }
        let room = output.count - produced
        let result: Int32 = output.withUnsafeMutableBytes { out in
          stream.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self) + produced
          stream.avail_out = uInt(room)
          let r = inflate(&stream, Z_NO_FLUSH)
          produced += room - Int(stream.avail_out)
          return r
        }
        if result == Z_STREAM_END { return Z_OK }
        if result != Z_OK { return result }
        if stream.avail_in == 0 && stream.avail_out > 0 { return Z_DATA_ERROR }  // truncated
      }
    }
    guard status == Z_OK else { throw GitStoreError("corrupt zlib stream (zlib status \(status))") }
    output.count = produced
    if let expectedSize, produced != expectedSize {
      throw GitStoreError("object inflated to \(produced) bytes, its header says \(expectedSize)")
    }
    return output
  }
}

/// A git object store that cannot be read as expected.
public struct GitStoreError: Error, CustomStringConvertible {
  public var description: String
  init(_ d: String) { description = d }
}
