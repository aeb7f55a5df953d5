import Foundation

/// Reads git objects from a repository's `objects/` directory: loose objects and packs
/// (index v2, offset and ref deltas), as described in git's
/// [pack format](https://git-scm.com/docs/pack-format). Read-only; SHA-1 repositories only.
final class ObjectStore: @unchecked Sendable {
  enum Kind: Int {
    case commit = 1, tree = 2, blob = 3, tag = 4
  }

  /// The repository's objects directory, then those it borrows from
  /// (`objects/info/alternates`, as `git clone --shared` or `--reference` set up).
  private let directories: [String]
  private var packs: [Pack]?
  /// Inflated pack entries by pack and offset: delta bases are shared by many objects.
  private var cache: [PackOffset: (Kind, Data)] = [:]
  private let lock = NSLock()

  private struct PackOffset: Hashable {
    let pack: Int
    let offset: Int
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
    try lock.withLock { try readLocked(sha) }
  }

  private func readLocked(_ sha: String) throws -> (kind: Kind, data: Data) {
    guard let name = ObjectName(hex: sha) else { throw GitStoreError("'\(sha)' is not an object name") }
    // Packs first: after a clone or gc nearly everything is packed, and a failed open per
    // object adds up over thousands of commits.
    for (i, pack) in try loadPacks().enumerated() {
      if let offset = pack.offset(of: name) { return try entry(pack: i, at: offset) }
    }
    for objects in directories {
      if let raw = FileManager.default.contents(atPath: "\(objects)/\(sha.prefix(2))/\(sha.dropFirst(2))") {
        return try Self.parseLoose(try Inflate.stream(raw), sha: sha)
      }
    }
    throw GitStoreError("object \(sha) not found")
  }

  private static func parseLoose(_ data: Data, sha: String) throws -> (Kind, Data) {
    guard let nul = data.firstIndex(of: 0), let header = String(data: data[..<nul], encoding: .utf8) else { throw GitStoreError("object \(sha) has no header") }
    let kindName = header.split(separator: " ").first.map(String.init) ?? ""
    guard let kind = ["commit": Kind.commit, "tree": .tree, "blob": .blob, "tag": .tag][kindName] else { throw GitStoreError("object \(sha) has unknown type '\(kindName)'") }
    return (kind, Data(data[data.index(after: nul)...]))
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

  /// The object at `offset` of a pack, with its delta chain applied.
  private func entry(pack i: Int, at offset: Int) throws -> (Kind, Data) {
    let key = PackOffset(pack: i, offset: offset)
    if let hit = cache[key] { return hit }
    let pack = try loadPacks()[i]
    let data = pack.data
    var p = offset
    guard p < data.count else { throw GitStoreError("pack offset \(offset) past the end of \(pack.path)") }
    var c = Int(data[p])
    p += 1
    let type = (c >> 4) & 7
    var size = c & 15
    var shift = 4
    while c & 0x80 != 0 {
      c = Int(data[p])
      p += 1
      size |= (c & 0x7f) << shift
      shift += 7
    }
    let result: (Kind, Data)
    switch type {
    case 1, 2, 3, 4:
      result = (Kind(rawValue: type)!, try Inflate.stream(data, at: p, expectedSize: size))
    case 6:  // OFS_DELTA: the base is earlier in the same pack.
      c = Int(data[p])
      p += 1
      var back = c & 0x7f
      while c & 0x80 != 0 {
        c = Int(data[p])
        p += 1
        back = ((back + 1) << 7) | (c & 0x7f)
      }
      let (kind, base) = try entry(pack: i, at: offset - back)
      result = (kind, try Delta.apply(try Inflate.stream(data, at: p, expectedSize: size), to: base))
    case 7:  // REF_DELTA: the base is named.
      let baseName = data[p..<(p + 20)].map { String(format: "%02x", $0) }.joined()
      let (kind, base) = try readLocked(baseName)
      result = (kind, try Delta.apply(try Inflate.stream(data, at: p + 20, expectedSize: size), to: base))
    default:
      throw GitStoreError("unknown object type \(type) at offset \(offset) of \(pack.path)")
    }
    cache[key] = result
    return result
  }
}

/// A 20-byte SHA-1 object name.
struct ObjectName: Comparable {
  let bytes: [UInt8]

  init?(hex: String) {
    guard hex.count == 40 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(20)
    var chars = hex.utf8.makeIterator()
    while let hi = chars.next(), let lo = chars.next() {
      guard let h = Self.nibble(hi), let l = Self.nibble(lo) else { return nil }
      out.append(h << 4 | l)
    }
    bytes = out
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
/// the 8-byte offsets for packs over 2 GiB.
struct Pack {
  let path: String
  let data: Data
  private let index: Data
  private let count: Int

  init(index indexPath: String, pack packPath: String) throws {
    guard let index = try? Data(contentsOf: URL(fileURLWithPath: indexPath), options: .alwaysMapped),
      let data = try? Data(contentsOf: URL(fileURLWithPath: packPath), options: .alwaysMapped)
    else { throw GitStoreError("cannot read \(packPath) and its index") }
    guard index.count >= 8 + 1024, index.prefix(4) == Data([0xff, 0x74, 0x4f, 0x63]), Self.uint32(index, 4) == 2 else {
      throw GitStoreError("\(indexPath) is not a version 2 pack index")
    }
    self.path = packPath
    self.data = data
    self.index = index
    self.count = Int(Self.uint32(index, 8 + 255 * 4))
  }

  /// Where the object is in the pack, if it is in this one.
  func offset(of name: ObjectName) -> Int? {
    let first = Int(name.bytes[0])
    var low = first == 0 ? 0 : Int(Self.uint32(index, 8 + (first - 1) * 4))
    var high = Int(Self.uint32(index, 8 + first * 4))
    let names = 8 + 1024
    while low < high {
      let mid = (low + high) / 2
      let start = index.startIndex + names + mid * 20
      let candidate = index[start..<(start + 20)]
      if candidate.elementsEqual(name.bytes) {
        let offsets = names + count * 20 + count * 4
        let small = Self.uint32(index, offsets + mid * 4)
        guard small & 0x8000_0000 != 0 else { return Int(small) }
        let large = offsets + count * 4 + Int(small & 0x7fff_ffff) * 8
        return Int(Self.uint32(index, large)) << 32 | Int(Self.uint32(index, large + 4))
      }
      if candidate.lexicographicallyPrecedes(name.bytes) { low = mid + 1 } else { high = mid }
    }
    return nil
  }

  private static func uint32(_ d: Data, _ at: Int) -> UInt32 {
    let i = d.startIndex + at
    return UInt32(d[i]) << 24 | UInt32(d[i + 1]) << 16 | UInt32(d[i + 2]) << 8 | UInt32(d[i + 3])
  }
}

/// git's delta format: source and target sizes, then copy (from the base) and insert
/// instructions.
enum Delta {
  static func apply(_ delta: Data, to base: Data) throws -> Data {
    let d = [UInt8](delta)
    var p = 0
    func varint() -> Int {
      var value = 0
      var shift = 0
      while p < d.count {
        let c = Int(d[p])
        p += 1
        value |= (c & 0x7f) << shift
        shift += 7
        if c & 0x80 == 0 { break }
      }
      return value
    }
    let sourceSize = varint()
    let targetSize = varint()
    guard sourceSize == base.count else { throw GitStoreError("delta expects a \(sourceSize)-byte base, found \(base.count)") }
    var out = Data(capacity: targetSize)
    let b = base.startIndex
    while p < d.count {
      let op = Int(d[p])
      p += 1
      if op & 0x80 != 0 {
        var offset = 0
        var size = 0
        for bit in 0..<4 where op & (1 << bit) != 0 {
          offset |= Int(d[p]) << (8 * bit)
          p += 1
        }
        for bit in 0..<3 where op & (0x10 << bit) != 0 {
          size |= Int(d[p]) << (8 * bit)
          p += 1
        }
        if size == 0 { size = 0x10000 }
        guard offset + size <= base.count else { throw GitStoreError("delta copies past the end of its base") }
        out.append(base[(b + offset)..<(b + offset + size)])
      } else if op != 0 {
        guard p + op <= d.count else { throw GitStoreError("delta inserts past its own end") }
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
