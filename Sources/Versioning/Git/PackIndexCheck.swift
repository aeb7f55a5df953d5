import Basics
import FoundationEssentials

/// The one check Gantry makes before libgit2 reads a repository's pack indexes.
///
/// libgit2 1.5.1 (Debian bookworm's, and the static binary's) computes a version 2 index's
/// expected size in 32-bit arithmetic (`pack_index_check_locked`): an index whose fan-out
/// table claims 0x7fffffff objects passes that check and the lookups then read far past the
/// mapped file (SIGSEGV). Each index's fan-out table is checked here against its size the
/// way libgit2 means to, in 64-bit arithmetic, before libgit2 opens any of them. Everything
/// else in an index or a pack (names, offsets, checksums, deltas, zlib) is libgit2's.
public enum PackIndexCheck {
  /// Checks every `pack/*.idx` under `objects` and under the object directories it borrows
  /// (`info/alternates`, followed 5 deep as libgit2 does).
  static func verify(objects: String) throws {
    var visited = Set<String>()
    try verify(objects: objects, depth: 0, visited: &visited)
  }

  /// Each object directory is checked once, as libgit2 loads each once (by inode): an
  /// `alternates` file naming its own directory a thousand times, followed 5 deep, was a
  /// thousand to the fifth directory walks (a hostile checkout held `version` for ever).
  private static func verify(objects: String, depth: Int, visited: inout Set<String>) throws {
    guard visited.insert(Files.realPath(objects) ?? objects).inserted else { return }
    let fm = FileManager.default
    let packs = "\(objects)/pack"
    for name in ((try? fm.contentsOfDirectory(atPath: packs)) ?? []).sorted() where name.hasSuffix(".idx") {
      try verifyIndex("\(packs)/\(name)", name: name)
    }
    try verifyMultiPackIndex("\(packs)/multi-pack-index")
    guard depth < 5, let bytes = Files.readPrefix("\(objects)/info/alternates", limit: 64 << 10) else { return }
    let text = String(decoding: bytes, as: UTF8.self)
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
      let path = line.trimmingCharacters(in: .whitespaces)
      guard !path.isEmpty else { continue }
      try verify(objects: path.hasPrefix("/") ? path : "\(objects)/\(path)", depth: depth + 1, visited: &visited)
    }
  }

  /// One index: its fan-out table must rise and the object count it ends with must fit the
  /// file's size (names, CRCs and offsets per object, 64-bit offsets at most one per object).
  static func verifyIndex(_ path: String, name: String) throws {
    guard let size = (try? Files.Reader(path: path))?.size, let head = Files.readPrefix(path, limit: 8 + 1024) else { return }
    try checkIndex(head: head, size: size, name: name)
  }

  /// ``verifyIndex(_:name:)`` on the index's first 1032 bytes (`head`) and its size.
  public static func checkIndex(head: [UInt8], size: Int64, name: String) throws(VersionSourceError) {
    let shown = LibGit2.printable(name)
    guard head.count == 8 + 1024 else { throw VersionSourceError("pack index \(shown) is corrupt: \(size) bytes is too short") }
    func be32(_ at: Int) -> Int { head[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
    let v2 = head.starts(with: [0xff, 0x74, 0x4f, 0x63])
    // Other versions: libgit2 refuses them itself, safely.
    if v2, be32(4) != 2 { return }
    let table = v2 ? 8 : 0
    var count = 0
    for i in 0..<256 {
      let n = be32(table + 4 * i)
      guard n >= count else { throw VersionSourceError("pack index \(shown) is corrupt: its fan-out table decreases") }
      count = n
    }
    let fits: Bool
    if v2 {
      let least = 8 + 1024 + count * 28 + 40
      fits = Int(size) >= least && Int(size) <= least + max(count - 1, 0) * 8
    } else {
      fits = Int(size) == 1024 + count * 24 + 40
    }
    guard fits else { throw VersionSourceError("pack index \(shown) is corrupt: it lists \(count) objects, which do not fit its \(size) bytes") }
  }

  /// The multi-pack index, which libgit2 1.5.1 reads too: its object count (the fan-out
  /// table's last entry) times 20 and times 8 is compared with the lengths of the name and
  /// offset chunks in 32-bit arithmetic (`midx_parse_oid_lookup`), so a count near 2^32 / 20
  /// with a 4-byte name chunk passes and the name check then reads past the file. The
  /// lengths are checked here in 64-bit arithmetic. A header libgit2 would refuse is left to it.
  static func verifyMultiPackIndex(_ path: String) throws {
    // Only the header, the chunk table and one fan-out entry are read: a hostile repository's
    // index may be gigabytes (sparse), and none of it needs to sit in memory.
    guard let file = try? Files.Reader(path: path), let size = file.size else { return }
    try checkMultiPackIndex(size: size) { file.read(at: $0, count: $1) }
  }

  /// ``verifyMultiPackIndex(_:)`` on a file of `size` bytes that `read(offset, count)` reads.
  public static func checkMultiPackIndex(size: Int64, read: (Int64, Int) -> [UInt8]) throws(VersionSourceError) {
    guard size <= 1 << 31 else { return }
    let bytes = read(0, 12)
    func be32(_ at: Int) -> Int? {
      guard at >= 0, Int64(at) + 4 <= size else { return nil }
      let word = read(Int64(at), 4)
      return word.count == 4 ? word.reduce(0) { $0 << 8 | Int($1) } : nil
    }
    // "MIDX", version 1, SHA-1, then the chunk count; a table of (count + 1) id/offset rows.
    guard bytes.count >= 12, bytes.starts(with: Array("MIDX".utf8)), bytes[4] == 1, bytes[5] == 1 else { return }
    let count = Int(bytes[6])
    var chunks: [(id: Int, offset: Int)] = []
    for i in 0...count {
      guard let id = be32(12 + i * 12), let high = be32(16 + i * 12), let low = be32(20 + i * 12), high == 0 else { return }
      chunks.append((id, low))
    }
    func chunk(_ name: String) -> (offset: Int, length: Int)? {
      let id = Array(name.utf8).reduce(0) { $0 << 8 | Int($1) }
      guard let i = chunks.firstIndex(where: { $0.id == id }), i + 1 < chunks.count else { return nil }
      return (chunks[i].offset, chunks[i + 1].offset - chunks[i].offset)
    }
    guard let fanout = chunk("OIDF"), let objects = be32(fanout.offset + 255 * 4) else { return }
    let bad = "multi-pack index is corrupt: it lists \(objects) objects"
    if let names = chunk("OIDL"), names.length != objects * 20 { throw VersionSourceError("\(bad), which do not fit its name chunk") }
    if let offsets = chunk("OOFF"), offsets.length != objects * 8 { throw VersionSourceError("\(bad), which do not fit its offset chunk") }
  }
}
