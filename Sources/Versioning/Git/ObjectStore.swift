import Basics
import Crypto
import FoundationEssentials

/// Reads git objects from a repository's `objects/` directory: loose objects and packs
/// (index v2, offset and ref deltas), as described in git's
/// [pack format](https://git-scm.com/docs/pack-format). Read-only; SHA-1 repositories only.
///
/// Every byte is untrusted: anyone who can push to the repository wrote it, and a corrupted
/// disk or an interrupted fetch can truncate it. Reads are bounds-checked, sizes capped
/// (``GitLimits``), delta chains followed in a loop with a depth limit and cycle detection, and
/// each index's and pack's SHA-1 checksum is verified before the first object is taken from it.
final class ObjectStore: @unchecked Sendable {
  enum Kind: Int {
    case commit = 1, tree = 2, blob = 3, tag = 4
  }

  /// The repository's objects directory, then those it borrows from
  /// (`objects/info/alternates`, as `git clone --shared` or `--reference` set up).
  private let directories: [String]
  private var packs: [Pack]?
  /// Packs whose whole-file checksum was verified (once per run, at first use).
  private var verifiedPacks: Set<Int> = []
  /// Inflated pack entries by pack and offset: delta bases are shared by many objects.
  private var cache: [PackOffset: (Kind, Data)] = [:]
  private let lock = Lock()

  private struct PackOffset: Hashable {
    let pack: Int
    let offset: Int
  }

  /// Where an object's bytes are.
  private enum Location {
    case packed(PackOffset)
    case loose(String)
  }

  init(objectsDirectory: String) {
    var found: [String] = []
    var pending = [objectsDirectory]
    while let dir = pending.first, found.count < 16 {
      pending.removeFirst()
      guard !found.contains(dir) else { continue }
      found.append(dir)
      let alternates = (try? String(contentsOfFile: "\(dir)/info/alternates", encoding: .utf8)) ?? ""
      for line in alternates.split(separator: "\n") where !line.hasPrefix("#") && !line.isEmpty {
        pending.append(line.hasPrefix("/") ? String(line) : URL(fileURLWithPath: "\(dir)/\(line)").standardized.path)
      }
    }
    directories = found
  }

  /// The object named `sha` (40 hex digits): its kind and content.
  func read(_ sha: String) throws -> (kind: Kind, data: Data) {
    try lock.withLock {
      guard let name = ObjectName(hex: sha) else { throw GitStoreError("'\(sha.prefix(80))' is not an object name") }
      guard let location = try locate(name) else { throw GitStoreError("object \(sha) not found") }
      return try resolve(location, name: sha)
    }
  }

  /// Packs first: after a clone or gc nearly everything is packed, and a failed open per
  /// object adds up over thousands of commits.
  private func locate(_ name: ObjectName) throws -> Location? {
    for (i, pack) in try loadPacks().enumerated() {
      if let offset = try pack.offset(of: name) {
        if verifiedPacks.insert(i).inserted { try pack.verifyChecksum() }
        return .packed(PackOffset(pack: i, offset: offset))
      }
    }
    let hex = name.hex
    for objects in directories {
      let path = "\(objects)/\(hex.prefix(2))/\(hex.dropFirst(2))"
      if FileManager.default.fileExists(atPath: path) { return .loose(path) }
    }
    return nil
  }

  /// The object at `start` with its delta chain applied. The chain is walked to its base in
  /// a loop (collecting the deltas), then applied from the base up.
  private func resolve(_ start: Location, name: String) throws -> (Kind, Data) {
    var chain: [(key: PackOffset, delta: Data)] = []
    var visited: Set<PackOffset> = []
    var location = start
    var result: (Kind, Data)
    walk: while true {
      switch location {
      case .loose(let path):
        result = try Self.readLoose(path, name: name)
        break walk
      case .packed(let key):
        if let hit = cache[key] {
          result = hit
          break walk
        }
        let pack = try pack(key.pack)
        guard visited.insert(key).inserted else { throw GitStoreError("delta chain of \(name) loops back to offset \(key.offset) of \(pack.path)") }
        guard chain.count < GitLimits.maxDeltaDepth else { throw GitStoreError("delta chain of \(name) is deeper than \(GitLimits.maxDeltaDepth)") }
        let header = try pack.entryHeader(at: key.offset)
        switch header.base {
        case .none(let kind):
          result = (kind, try Inflate.stream(pack.data, at: header.dataOffset, expectedSize: header.size))
          cache[key] = result
          break walk
        case .offset(let baseOffset):
          chain.append((key, try Inflate.stream(pack.data, at: header.dataOffset, expectedSize: header.size)))
          location = .packed(PackOffset(pack: key.pack, offset: baseOffset))
        case .name(let baseName):
          chain.append((key, try Inflate.stream(pack.data, at: header.dataOffset, expectedSize: header.size)))
          guard let next = try locate(baseName) else { throw GitStoreError("delta base \(baseName.hex) of \(name) not found") }
          location = next
        }
      }
    }
    for (key, delta) in chain.reversed() {
      result = (result.0, try Delta.apply(delta, to: result.1))
      cache[key] = result
    }
    return result
  }

  private static func readLoose(_ path: String, name: String) throws -> (Kind, Data) {
    guard let raw = FileManager.default.contents(atPath: path) else { throw GitStoreError("cannot read loose object \(name)") }
    // The header ("commit 1234\0") is at most a few dozen bytes beyond the object.
    let data = try Inflate.stream(raw, limit: GitLimits.maxObjectSize + 32)
    guard let nul = data.prefix(32).firstIndex(of: 0), let header = String(data: data[..<nul], encoding: .ascii) else { throw GitStoreError("object \(name) has no header") }
    let fields = header.split(separator: " ")
    let kinds: [String: Kind] = ["commit": .commit, "tree": .tree, "blob": .blob, "tag": .tag]
    guard fields.count == 2, let kind = kinds[String(fields[0])] else { throw GitStoreError("object \(name) has an unknown type") }
    let body = Data(data[data.index(after: nul)...])
    guard let size = Int(fields[1]), size == body.count else { throw GitStoreError("object \(name) has a wrong size in its header") }
    return (kind, body)
  }

  private func pack(_ i: Int) throws -> Pack {
    let packs = try loadPacks()
    guard packs.indices.contains(i) else { throw GitStoreError("no pack \(i)") }
    return packs[i]
  }

  private func loadPacks() throws -> [Pack] {
    if let packs { return packs }
    let loaded = try directories.flatMap { objects in
      let dir = "\(objects)/pack"
      let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".idx") }.sorted()
      return try names.map { try Pack(index: "\(dir)/\($0)", pack: "\(dir)/\($0.dropLast(4)).pack") }
    }
    packs = loaded
    return loaded
  }
}

/// A 20-byte SHA-1 object name.
struct ObjectName: Hashable, Comparable {
  let bytes: [UInt8]

  init?(hex: String) {
    let utf8 = Array(hex.utf8)
    guard utf8.count == 40 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(20)
    var i = 0
    while i + 1 < utf8.count {
      guard let h = Self.nibble(utf8[i]), let l = Self.nibble(utf8[i + 1]) else { return nil }
      out.append(h << 4 | l)
      i += 2
    }
    bytes = out
  }

  init(bytes: [UInt8]) { self.bytes = bytes }

  var hex: String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(40)
    for b in bytes {
      out.append(digits[Int(b >> 4)])
      out.append(digits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// Whether `text` is 40 hexadecimal digits.
  static func isValid(_ text: some StringProtocol) -> Bool {
    text.utf8.count == 40 && text.utf8.allSatisfy { nibble($0) != nil }
  }

  private static func nibble(_ c: UInt8) -> UInt8? {
    switch c {
    case 48...57: c - 48
    case 97...102: c - 87
    case 65...70: c - 55
    default: nil
    }
  }

  static func < (a: ObjectName, b: ObjectName) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }
}

/// A pack and its index (version 2): fan-out table, sorted names, CRCs, 4-byte offsets and
/// the 8-byte offsets for packs over 2 GiB, then the pack's and the index's own SHA-1.
/// Everything the lookups rely on is checked when the pair is opened.
struct Pack {
  let path: String
  let data: Data
  private let index: Data
  private let count: Int
  private let largeOffsets: Int

  private static let fanout = 8
  private static let names = 8 + 1024

  init(index indexPath: String, pack packPath: String) throws {
    let name = packPath.lastPathComponent
    guard let index = try? Data(contentsOf: URL(fileURLWithPath: indexPath), options: .alwaysMapped),
      let data = try? Data(contentsOf: URL(fileURLWithPath: packPath), options: .alwaysMapped)
    else { throw GitStoreError("cannot read \(name) and its index") }
    let index0 = index.startIndex
    guard index.count >= Self.names + 40, index.prefix(4).elementsEqual([0xff, 0x74, 0x4f, 0x63]), try Self.uint32(index, 4) == 2 else {
      throw GitStoreError("the index of \(name) is not a version 2 pack index (or is truncated)")
    }
    // The index checksums itself: a truncated or edited index stops here.
    let indexSum = Data(Insecure.SHA1.hash(data: index[index0..<(index0 + index.count - 20)]))
    guard indexSum.elementsEqual(index.suffix(20)) else { throw GitStoreError("the index of \(name) is corrupt (its SHA-1 checksum does not match)") }
    var previous: UInt32 = 0
    for i in 0..<256 {
      let n = try Self.uint32(index, Self.fanout + i * 4)
      guard n >= previous else { throw GitStoreError("the index of \(name) is corrupt (its fan-out table decreases)") }
      previous = n
    }
    let count = Int(previous)
    // names, CRCs and offsets (28 bytes per object), large offsets, two checksums.
    let (table, o1) = count.multipliedReportingOverflow(by: 28)
    let (fixed, o2) = table.addingReportingOverflow(Self.names + 40)
    guard !o1, !o2, fixed <= index.count, (index.count - fixed) % 8 == 0 else {
      throw GitStoreError("the index of \(name) is corrupt (\(count) objects do not fit its \(index.count) bytes)")
    }
    guard data.count >= 32, data.prefix(4).elementsEqual(Array("PACK".utf8)), [2, 3].contains(try Self.uint32(data, 4)) else {
      throw GitStoreError("\(name) is not a pack (or is truncated)")
    }
    guard try Self.uint32(data, 8) == UInt32(truncatingIfNeeded: count) else { throw GitStoreError("\(name) and its index disagree on the number of objects") }
    // The index records the pack's checksum; the pack ends with it.
    guard data.suffix(20).elementsEqual(index.suffix(40).prefix(20)) else { throw GitStoreError("\(name) does not match its index (pack checksum differs)") }
    self.path = packPath
    self.data = data
    self.index = index
    self.count = count
    self.largeOffsets = (index.count - fixed) / 8
  }

  /// Packs up to this size have their whole SHA-1 verified. Measured: about 0.45 s for a
  /// 300 MB pack (release build), so at most ~0.8 s per run. Larger packs are not hashed
  /// whole on every run; each object read from them is still checked by zlib's Adler-32,
  /// its bounds and its declared size, and the index is always verified.
  static let verifiedPackSize = 512 << 20

  /// Verifies the whole pack's SHA-1 trailer: once per pack and run, at its first use.
  func verifyChecksum() throws {
    guard data.count <= Self.verifiedPackSize else { return }
    let start = data.startIndex
    let sum = Data(Insecure.SHA1.hash(data: data[start..<(start + data.count - 20)]))
    guard sum.elementsEqual(data.suffix(20)) else { throw GitStoreError("\(path.lastPathComponent) is corrupt (its SHA-1 checksum does not match)") }
  }

  /// Where the object is in the pack, if it is in this one.
  func offset(of name: ObjectName) throws -> Int? {
    guard let firstByte = name.bytes.first else { return nil }
    let first = Int(firstByte)
    var low = first == 0 ? 0 : Int(try Self.uint32(index, Self.fanout + (first - 1) * 4))
    var high = Int(try Self.uint32(index, Self.fanout + first * 4))
    while low < high {
      let mid = low + (high - low) / 2
      let start = index.startIndex + Self.names + mid * 20
      let candidate = index[start..<(start + 20)]
      if candidate.elementsEqual(name.bytes) {
        let offsets = Self.names + count * 24
        let small = try Self.uint32(index, offsets + mid * 4)
        var offset = Int(small)
        if small & 0x8000_0000 != 0 {
          let slot = Int(small & 0x7fff_ffff)
          guard slot < largeOffsets else { throw GitStoreError("the index of \(path) names a large offset it does not have") }
          let large = offsets + count * 4 + slot * 8
          let high32 = Int(try Self.uint32(index, large))
          guard high32 < 1 << 30 else { throw GitStoreError("the index of \(path) names an impossible offset") }
          offset = high32 << 32 | Int(try Self.uint32(index, large + 4))
        }
        guard offset >= 12, offset < data.count - 20 else { throw GitStoreError("the index of \(path) names offset \(offset), outside the pack") }
        return offset
      }
      if candidate.lexicographicallyPrecedes(name.bytes) { low = mid + 1 } else { high = mid }
    }
    return nil
  }

  /// A pack entry: its type and inflated size, where its zlib data starts, and its delta base.
  struct EntryHeader {
    enum Base {
      case none(ObjectStore.Kind)
      case offset(Int)
      case name(ObjectName)
    }
    var base: Base
    var size: Int
    var dataOffset: Int
  }

  func entryHeader(at offset: Int) throws -> EntryHeader {
    let end = data.count - 20
    guard offset >= 12, offset < end else { throw GitStoreError("pack offset \(offset) is outside \(path)") }
    var p = offset
    func byte() throws -> Int {
      guard p < end else { throw GitStoreError("pack entry at offset \(offset) of \(path) is truncated") }
      defer { p += 1 }
      return Int(data[data.startIndex + p])
    }
    var c = try byte()
    let type = (c >> 4) & 7
    var size = c & 15
    var shift = 4
    while c & 0x80 != 0 {
      c = try byte()
      guard shift <= 32 else { throw GitStoreError("pack entry at offset \(offset) of \(path) has an overlong size") }
      size |= (c & 0x7f) << shift
      shift += 7
    }
    guard size <= GitLimits.maxObjectSize else {
      throw GitStoreError("pack entry at offset \(offset) of \(path) declares \(size) bytes, more than Gantry reads for one object (\(GitLimits.maxObjectSize))")
    }
    switch type {
    case 1, 2, 3, 4:
      guard let kind = ObjectStore.Kind(rawValue: type) else { throw GitStoreError("unknown object type \(type)") }
      return EntryHeader(base: .none(kind), size: size, dataOffset: p)
    case 6:  // OFS_DELTA: the base is earlier in the same pack, `back` bytes before.
      c = try byte()
      var back = c & 0x7f
      while c & 0x80 != 0 {
        c = try byte()
        guard back < 1 << 48 else { throw GitStoreError("pack entry at offset \(offset) of \(path) has an overlong base offset") }
        back = ((back + 1) << 7) | (c & 0x7f)
      }
      guard back > 0, back <= offset - 12 else {
        throw GitStoreError("pack entry at offset \(offset) of \(path) names a delta base \(back) bytes back, outside the pack")
      }
      return EntryHeader(base: .offset(offset - back), size: size, dataOffset: p)
    case 7:  // REF_DELTA: the base is named.
      guard p + 20 <= end else { throw GitStoreError("pack entry at offset \(offset) of \(path) is truncated") }
      let start = data.startIndex + p
      return EntryHeader(base: .name(ObjectName(bytes: Array(data[start..<(start + 20)]))), size: size, dataOffset: p + 20)
    default:
      throw GitStoreError("unknown object type \(type) at offset \(offset) of \(path)")
    }
  }

  private static func uint32(_ d: Data, _ at: Int) throws -> UInt32 {
    guard at >= 0, at + 4 <= d.count else { throw GitStoreError("pack index or pack truncated") }
    let i = d.startIndex + at
    return UInt32(d[i]) << 24 | UInt32(d[i + 1]) << 16 | UInt32(d[i + 2]) << 8 | UInt32(d[i + 3])
  }
}

/// git's delta format: source and target sizes, then copy (from the base) and insert
/// instructions. Every read is bounds-checked; the target may not exceed its declared size.
enum Delta {
  static func apply(_ delta: Data, to base: Data) throws -> Data {
    let d = [UInt8](delta)
    var p = 0
    func byte() throws -> Int {
      guard p < d.count else { throw GitStoreError("delta is truncated") }
      defer { p += 1 }
      return Int(d[p])
    }
    func varint() throws -> Int {
      var value = 0
      var shift = 0
      while true {
        let c = try byte()
        guard shift <= 35 else { throw GitStoreError("delta has an overlong size") }
        value |= (c & 0x7f) << shift
        shift += 7
        if c & 0x80 == 0 { return value }
      }
    }
    let sourceSize = try varint()
    let targetSize = try varint()
    guard sourceSize == base.count else { throw GitStoreError("delta expects a \(sourceSize)-byte base, found \(base.count)") }
    guard targetSize <= GitLimits.maxObjectSize else { throw GitStoreError("delta builds \(targetSize) bytes, more than Gantry reads for one object") }
    var out = Data(capacity: targetSize)
    let b = base.startIndex
    while p < d.count {
      let op = try byte()
      if op & 0x80 != 0 {
        var offset = 0
        var size = 0
        for bit in 0..<4 where op & (1 << bit) != 0 { offset |= try byte() << (8 * bit) }
        for bit in 0..<3 where op & (0x10 << bit) != 0 { size |= try byte() << (8 * bit) }
        if size == 0 { size = 0x10000 }
        guard offset <= base.count, size <= base.count - offset else { throw GitStoreError("delta copies past the end of its base") }
        guard size <= targetSize - out.count else { throw GitStoreError("delta builds more than its declared \(targetSize) bytes") }
        out.append(base[(b + offset)..<(b + offset + size)])
      } else if op != 0 {
        guard op <= d.count - p else { throw GitStoreError("delta inserts past its own end") }
        guard op <= targetSize - out.count else { throw GitStoreError("delta builds more than its declared \(targetSize) bytes") }
        out.append(contentsOf: d[p..<(p + op)])
        p += op
      } else {
        throw GitStoreError("delta has a reserved instruction")
      }
    }
    guard out.count == targetSize else { throw GitStoreError("delta produced \(out.count) bytes, expected \(targetSize)") }
    return out
  }
}
