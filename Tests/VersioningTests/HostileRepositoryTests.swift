import Crypto
import Foundation
import TestSupport
import Testing

@testable import Versioning

/// Corrupt and malicious `.git` directories, written byte by byte: the libgit2 reader must
/// answer each with a thrown one-line error that says what is wrong — never a crash, a hang,
/// a huge allocation, or a file's text from outside the repository.
@Suite struct HostileRepositoryTests {
  /// A pack and its version 2 index built from raw entries, with correct checksums.
  struct PackBuilder {
    var entries: [(name: [UInt8], bytes: [UInt8])] = []
    private var next = 12

    /// Adds an entry; returns its offset in the pack.
    @discardableResult
    mutating func add(_ name: [UInt8], _ bytes: [UInt8]) -> Int {
      entries.append((name, bytes))
      defer { next += bytes.count }
      return next
    }

    func build() -> (pack: [UInt8], index: [UInt8]) {
      var pack = Array("PACK".utf8) + HostileRepositoryTests.be32(2) + HostileRepositoryTests.be32(entries.count)
      var offsets: [[UInt8]: Int] = [:]
      for e in entries {
        offsets[e.name] = pack.count
        pack += e.bytes
      }
      pack += Array(Insecure.SHA1.hash(data: pack))
      let names = entries.map(\.name).sorted { $0.lexicographicallyPrecedes($1) }
      var index: [UInt8] = [0xff, 0x74, 0x4f, 0x63] + HostileRepositoryTests.be32(2)
      for b in 0..<256 { index += HostileRepositoryTests.be32(names.filter { Int($0[0]) <= b }.count) }
      for n in names { index += n }
      for _ in names { index += HostileRepositoryTests.be32(0) }  // CRCs: not read
      for n in names { index += HostileRepositoryTests.be32(offsets[n] ?? 0) }
      index += pack.suffix(20)
      return (pack, Self.reseal(index + [UInt8](repeating: 0, count: 20)))
    }

    /// The index with its trailing SHA-1 recomputed (after an edit).
    static func reseal(_ index: [UInt8]) -> [UInt8] {
      let body = Array(index.dropLast(20))
      return body + Array(Insecure.SHA1.hash(data: body))
    }

    /// A pack entry header: type and inflated size.
    static func header(_ type: Int, _ size: Int) -> [UInt8] {
      var out = [UInt8((type << 4) | (size & 15))]
      var rest = size >> 4
      while rest > 0 {
        out[out.count - 1] |= 0x80
        out.append(UInt8(rest & 0x7f))
        rest >>= 7
      }
      return out
    }

    /// An OFS_DELTA base distance, as git encodes it.
    static func ofs(_ back: Int) -> [UInt8] {
      var n = back
      var out = [UInt8(n & 0x7f)]
      n >>= 7
      while n > 0 {
        n -= 1
        out.insert(UInt8(0x80 | (n & 0x7f)), at: 0)
        n >>= 7
      }
      return out
    }

    /// A zlib stream of stored (uncompressed) blocks.
    static func zlib(_ data: [UInt8]) -> [UInt8] {
      var out: [UInt8] = [0x78, 0x01]
      var chunks = stride(from: 0, to: data.count, by: 65_535).map { Array(data[$0..<min($0 + 65_535, data.count)]) }
      if chunks.isEmpty { chunks = [[]] }
      for (i, c) in chunks.enumerated() {
        out.append(i == chunks.count - 1 ? 1 : 0)
        out += [UInt8(c.count & 0xff), UInt8(c.count >> 8), UInt8(~c.count & 0xff), UInt8((~c.count >> 8) & 0xff)]
        out += c
      }
      var a: UInt32 = 1
      var b: UInt32 = 0
      for byte in data {
        a = (a + UInt32(byte)) % 65_521
        b = (b + a) % 65_521
      }
      return out + HostileRepositoryTests.be32(Int(b << 16 | a))
    }

    /// A delta: sizes, then instructions.
    static func delta(source: Int, target: Int, _ instructions: [UInt8]) -> [UInt8] {
      varint(source) + varint(target) + instructions
    }

    static func varint(_ value: Int) -> [UInt8] {
      var v = value
      var out: [UInt8] = []
      repeat {
        var byte = UInt8(v & 0x7f)
        v >>= 7
        if v > 0 { byte |= 0x80 }
        out.append(byte)
      } while v > 0
      return out
    }
  }

  static func be32(_ v: Int) -> [UInt8] { [UInt8((v >> 24) & 0xff), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)] }

  static let commitText = Array("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor T <t@example.com> 1700000000 +0000\ncommitter T <t@example.com> 1700000000 +0000\n\nfix: a bug\n".utf8)
  /// The commit's real name: libgit2 checks every object it reads against its name.
  static let commitName = Array(Insecure.SHA1.hash(data: Array("commit \(commitText.count)\0".utf8) + commitText))
  static let otherName = [UInt8](repeating: 0xbb, count: 20)
  static func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }

  /// A repository whose HEAD is `main` at `commitName`, with this pack.
  static func repository(pack: [UInt8], index: [UInt8]) throws -> TempDirectory {
    let dir = try TempDirectory(prefix: "gantry-hostile")
    let git = dir.file(".git")
    for sub in ["refs/heads", "refs/tags", "objects/pack"] { try FileManager.default.createDirectory(atPath: "\(git)/\(sub)", withIntermediateDirectories: true) }
    try "ref: refs/heads/main\n".write(toFile: "\(git)/HEAD", atomically: true, encoding: .utf8)
    try (hex(commitName) + "\n").write(toFile: "\(git)/refs/heads/main", atomically: true, encoding: .utf8)
    #expect(FileManager.default.createFile(atPath: "\(git)/objects/pack/pack-test.pack", contents: Data(pack)))
    #expect(FileManager.default.createFile(atPath: "\(git)/objects/pack/pack-test.idx", contents: Data(index)))
    return dir
  }

  /// Reads HEAD's history; returns the error's text (the test fails if nothing is thrown).
  static func failure(pack: [UInt8], index: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
    let dir = try repository(pack: pack, index: index)
    do {
      let repo = try GitRepository(path: dir.path)
      _ = try repo.commits(since: nil)
      Issue.record("no error", sourceLocation: sourceLocation)
      return ""
    } catch {
      #expect(error is VersionSourceError, "\(type(of: error))", sourceLocation: sourceLocation)
      // One line, short, and nothing but printable text: it goes into a workflow command.
      #expect(!"\(error)".contains(where: \.isNewline) && "\(error)".count < 400, "\(error)", sourceLocation: sourceLocation)
      return "\(error)"
    }
  }

  static func valid() -> PackBuilder {
    var b = PackBuilder()
    b.add(commitName, PackBuilder.header(1, commitText.count) + PackBuilder.zlib(commitText))
    return b
  }

  @Test func theWellFormedPackIsRead() throws {
    let (pack, index) = Self.valid().build()
    let dir = try Self.repository(pack: pack, index: index)
    let commits = try GitRepository(path: dir.path).commits(since: nil)
    #expect(commits.map(\.subject) == ["fix: a bug"])
  }

  @Test func corruptIndexes() throws {
    let (pack, index) = Self.valid().build()
    #expect(try Self.failure(pack: pack, index: Array(index.prefix(index.count / 2))).contains("pack index pack-test.idx is corrupt: 550 bytes is too short"))
    #expect(try Self.failure(pack: pack, index: Array(index.prefix(600))).contains("pack index pack-test.idx is corrupt"))
    var flipped = index
    flipped[8 + 1024 + 3] ^= 0xff
    #expect(try Self.failure(pack: pack, index: flipped).contains("not found"))
    // An object count of 0x7fffffff (checksum made valid again).
    var huge = index
    for i in Int(Self.commitName[0])..<256 { huge.replaceSubrange((8 + i * 4)..<(8 + i * 4 + 4), with: Self.be32(0x7fff_ffff)) }
    #expect(try Self.failure(pack: pack, index: PackBuilder.reseal(huge)).contains("do not fit"))
    // A fan-out table that decreases.
    var fanout = index
    fanout.replaceSubrange(8..<12, with: Self.be32(5))
    #expect(try Self.failure(pack: pack, index: PackBuilder.reseal(fanout)).contains("fan-out table decreases"))
    // A large-offset slot the index does not have.
    var large = index
    let offsetAt = 8 + 1024 + 20 + 4
    large.replaceSubrange(offsetAt..<(offsetAt + 4), with: Self.be32(0x8000_0005))
    #expect(try Self.failure(pack: pack, index: PackBuilder.reseal(large)).contains("not found"))
    // An offset outside the pack.
    var outside = index
    outside.replaceSubrange(offsetAt..<(offsetAt + 4), with: Self.be32(0x7000_0000))
    #expect(try Self.failure(pack: pack, index: PackBuilder.reseal(outside)).contains("cannot read object"))
  }

  @Test func corruptPacks() throws {
    let (pack, index) = Self.valid().build()
    #expect(try Self.failure(pack: Array(pack.prefix(pack.count - 7)), index: index).contains("not found"))
    #expect(try Self.failure(pack: Array(pack.prefix(20)), index: index).contains("not found"))
    var body = pack
    body[20] ^= 0x01
    #expect(try Self.failure(pack: body, index: index).contains("cannot read object"))
    var count = pack
    count.replaceSubrange(8..<12, with: Self.be32(9))
    count.replaceSubrange((count.count - 20)..<count.count, with: Array(Insecure.SHA1.hash(data: count.dropLast(20))))
    var countIndex = index
    countIndex.replaceSubrange((index.count - 40)..<(index.count - 20), with: count.suffix(20))
    #expect(try Self.failure(pack: count, index: PackBuilder.reseal(countIndex)).contains("not found"))
  }

  @Test func lyingEntryHeaders() throws {
    // An entry claiming 32 GiB: refused before anything is allocated.
    var giant = PackBuilder()
    giant.add(Self.commitName, PackBuilder.header(1, 32 << 30) + PackBuilder.zlib(Self.commitText))
    #expect(try Self.failure(pack: giant.build().pack, index: giant.build().index).contains("cannot read object"))
    // A zlib bomb: declares 10 bytes, inflates to a megabyte; stopped at byte 11.
    var bomb = PackBuilder()
    bomb.add(Self.commitName, PackBuilder.header(1, 10) + PackBuilder.zlib([UInt8](repeating: 0x61, count: 1 << 20)))
    #expect(try Self.failure(pack: bomb.build().pack, index: bomb.build().index).contains("error inflating zlib stream"))
    // A size varint that never ends.
    var endless = PackBuilder()
    endless.add(Self.commitName, [UInt8](repeating: 0xff, count: 12) + [0x01])
    #expect(try Self.failure(pack: endless.build().pack, index: endless.build().index).contains("invalid pack file"))
    // An entry cut off by the end of the pack.
    var cut = PackBuilder()
    cut.add(Self.commitName, [0x91])
    #expect(try Self.failure(pack: cut.build().pack, index: cut.build().index).contains("cannot read object"))
    // Object type 5 is reserved.
    var reserved = PackBuilder()
    reserved.add(Self.commitName, PackBuilder.header(5, 3) + PackBuilder.zlib([1, 2, 3]))
    #expect(try Self.failure(pack: reserved.build().pack, index: reserved.build().index).contains("invalid packfile type"))
  }

  @Test func hostileDeltas() throws {
    let copyAll = PackBuilder.delta(source: Self.commitText.count, target: Self.commitText.count, [0x90, UInt8(Self.commitText.count)])
    // OFS_DELTA whose base would be before the pack's start, and one pointing at itself.
    for back in [500, 0] {
      var b = PackBuilder()
      b.add(Self.commitName, PackBuilder.header(6, copyAll.count) + PackBuilder.ofs(back) + PackBuilder.zlib(copyAll))
      #expect(try Self.failure(pack: b.build().pack, index: b.build().index).contains("out of bounds"))
    }
    // REF_DELTA naming itself, and two naming each other.
    var selfRef = PackBuilder()
    selfRef.add(Self.commitName, PackBuilder.header(7, copyAll.count) + Self.commitName + PackBuilder.zlib(copyAll))
    #expect(try Self.failure(pack: selfRef.build().pack, index: selfRef.build().index).contains("cannot read object"))
    var cycle = PackBuilder()
    cycle.add(Self.commitName, PackBuilder.header(7, copyAll.count) + Self.otherName + PackBuilder.zlib(copyAll))
    cycle.add(Self.otherName, PackBuilder.header(7, copyAll.count) + Self.commitName + PackBuilder.zlib(copyAll))
    #expect(try Self.failure(pack: cycle.build().pack, index: cycle.build().index).contains("cannot read object"))
    // A chain deeper than git ever writes (4,100 deltas): refused, without recursion.
    var chain = PackBuilder()
    let entrySize = (PackBuilder.header(6, copyAll.count) + PackBuilder.ofs(1) + PackBuilder.zlib(copyAll)).count
    chain.add([UInt8](repeating: 0x01, count: 20), PackBuilder.header(1, Self.commitText.count) + PackBuilder.zlib(Self.commitText))
    var lastSize = PackBuilder.header(1, Self.commitText.count).count + PackBuilder.zlib(Self.commitText).count
    for i in 0..<4_100 {
      let name = i == 4_099 ? Self.commitName : Array(Insecure.SHA1.hash(data: Self.be32(i)))
      chain.add(name, PackBuilder.header(6, copyAll.count) + PackBuilder.ofs(lastSize) + PackBuilder.zlib(copyAll))
      lastSize = entrySize
    }
    #expect(try Self.failure(pack: chain.build().pack, index: chain.build().index).contains("cannot read object"))
    // Deltas whose instructions reach outside their base or their own bytes.
    for instructions: [UInt8] in [[0x91, 0xff, 0x10], [0x91], [0x7f, 1, 2], [0x00]] {
      var b = PackBuilder()
      let base = b.add([UInt8](repeating: 0x01, count: 20), PackBuilder.header(1, Self.commitText.count) + PackBuilder.zlib(Self.commitText))
      let delta = PackBuilder.delta(source: Self.commitText.count, target: 16, instructions)
      let at = 12 + PackBuilder.header(1, Self.commitText.count).count + PackBuilder.zlib(Self.commitText).count
      b.add(Self.commitName, PackBuilder.header(6, delta.count) + PackBuilder.ofs(at - base) + PackBuilder.zlib(delta))
      let message = try Self.failure(pack: b.build().pack, index: b.build().index)
      #expect(message.contains("delta"), "\(instructions): \(message)")
    }
    // A delta that builds more than it declares.
    var over = PackBuilder()
    let base = over.add([UInt8](repeating: 0x01, count: 20), PackBuilder.header(1, Self.commitText.count) + PackBuilder.zlib(Self.commitText))
    let grow = PackBuilder.delta(source: Self.commitText.count, target: 4, [0x90, UInt8(Self.commitText.count)])
    let at = 12 + PackBuilder.header(1, Self.commitText.count).count + PackBuilder.zlib(Self.commitText).count
    over.add(Self.commitName, PackBuilder.header(6, grow.count) + PackBuilder.ofs(at - base) + PackBuilder.zlib(grow))
    #expect(try Self.failure(pack: over.build().pack, index: over.build().index).contains("failed to apply delta"))
  }

  /// Loose objects: a zlib bomb far over the per-object limit, a header that lies, garbage.
  @Test func hostileLooseObjects() throws {
    let (pack, index) = PackBuilder().build()
    let dir = try Self.repository(pack: pack, index: index)
    let hex = Self.hex(Self.commitName)
    let objects = dir.file(".git/objects/\(hex.prefix(2))")
    try FileManager.default.createDirectory(atPath: objects, withIntermediateDirectories: true)
    let path = "\(objects)/\(hex.dropFirst(2))"
    let script =
      "import zlib,sys\nc=zlib.compressobj(9)\nout=[c.compress(b'commit 300000000\\0')]\nz=bytes(1<<20)\nfor _ in range(300): out.append(c.compress(z))\nout.append(c.flush())\nopen(sys.argv[1],'wb').write(b''.join(out))\n"
    #expect(try runCommand("/usr/bin/python3", ["-c", script, path]).status == 0)
    func error() -> String {
      do {
        _ = try GitRepository(path: dir.path).head()
        return "no error"
      } catch { return "\(error)" }
    }
    #expect(error().contains("cannot read object"))
    #expect(FileManager.default.createFile(atPath: path, contents: Data(PackBuilder.zlib(Array("commit 5\0fix: a bug\n".utf8)))))
    #expect(error().contains("cannot read object"))
    #expect(FileManager.default.createFile(atPath: path, contents: Data("not zlib at all".utf8)))
    #expect(error().contains("failed to inflate loose object"))
  }

  /// Refs that lead outside `.git`: a clean error that does not carry the file's text.
  @Test func refsStayInsideTheRepository() throws {
    let (pack, index) = Self.valid().build()
    let dir = try Self.repository(pack: pack, index: index)
    let git = dir.file(".git")
    func headError() -> String {
      do {
        _ = try GitRepository(path: dir.path).head()
        return "no error"
      } catch {
        #expect(error is VersionSourceError)
        return "\(error)"
      }
    }
    for target in ["../../../../../../etc/passwd", "refs/../../../../../../etc/passwd", "/etc/passwd", "refs/heads/.hidden"] {
      try "ref: \(target)\n".write(toFile: "\(git)/HEAD", atomically: true, encoding: .utf8)
      let message = headError()
      #expect(message.contains("is not a ref under refs/"), "\(message)")
      #expect(!message.contains("root:"))
    }
    try "ref: refs/heads/main\n".write(toFile: "\(git)/HEAD", atomically: true, encoding: .utf8)
    try FileManager.default.removeItem(atPath: "\(git)/refs/heads/main")
    try FileManager.default.createSymbolicLink(atPath: "\(git)/refs/heads/main", withDestinationPath: "/etc/passwd")
    #expect(headError().contains("corrupted loose reference file"))
    try FileManager.default.removeItem(atPath: "\(git)/refs/heads/main")
    try "root:x:0:0:root:/root:/bin/bash\n".write(toFile: "\(git)/refs/heads/main", atomically: true, encoding: .utf8)
    let garbage = headError()
    #expect(garbage.contains("corrupted loose reference file"))
    #expect(!garbage.contains("root:"))
  }

  /// A multi-pack index whose fan-out table claims more objects than its chunks hold
  /// (libgit2 1.5.1 compares the lengths in 32-bit arithmetic): refused before libgit2 reads it.
  @Test func aLyingMultiPackIndexIsRefused() throws {
    let repo = try TempGitRepo()
    try repo.commit("feat: start")
    try repo.commit("fix: one")
    try repo.git("gc", "-q")
    try repo.git("multi-pack-index", "write")
    let path = repo.directory.file(".git/objects/pack/multi-pack-index")
    #expect(try GitRepository(path: repo.path).commits(since: nil).count == 2)
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    // The OIDF chunk's offset from the chunk table, then its last entry: 0x0ccccccd objects,
    // whose 20-byte names overflow 32 bits to 4 bytes.
    let count = Int(bytes[6])
    let row = (0..<count).first { Array(bytes[(12 + $0 * 12)..<(16 + $0 * 12)]) == Array("OIDF".utf8) }
    let offset = row.map { bytes[(20 + $0 * 12)..<(24 + $0 * 12)].reduce(0) { $0 << 8 | Int($1) } } ?? 0
    #expect(offset > 0)
    for i in 0..<256 { bytes.replaceSubrange((offset + i * 4)..<(offset + i * 4 + 4), with: Self.be32(0x0ccc_cccd)) }
    #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
    #expect {
      try GitRepository(path: repo.path).commits(since: nil)
    } throws: { error in
      "\(error)".contains("multi-pack index is corrupt")
    }
  }

  /// An `alternates` file naming its own object directory thousands of times: each directory
  /// is checked once (as libgit2 loads it once), not thousands to the fifth power of times.
  @Test(.timeLimit(.minutes(1))) func selfNamingAlternatesAreCheckedOnce() throws {
    let repo = try TempGitRepo()
    try repo.commit("feat: start")
    try repo.git("gc", "-q")
    let info = repo.directory.file(".git/objects/info")
    try FileManager.default.createDirectory(atPath: info, withIntermediateDirectories: true)
    let lines = (0..<5000).map { $0 % 2 == 0 ? "." : "../objects" }.joined(separator: "\n") + "\n"
    #expect(FileManager.default.createFile(atPath: info + "/alternates", contents: Data(lines.utf8)))
    let started = ContinuousClock.now
    #expect(try GitRepository(path: repo.path).commits(since: nil).count == 1)
    #expect(ContinuousClock.now - started < .seconds(10))
  }
}
