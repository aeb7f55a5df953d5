#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

private func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { write(fd, p, n) }
private func systemRead(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int) -> Int { read(fd, p, n) }

/// File descriptors for what Foundation's `FileHandle` did (it links all of Foundation).
public enum Files {
  public struct Failure: Error, Sendable, CustomStringConvertible {
    public let description: String
  }

  /// Writes all of `bytes` to `fd`, retrying short writes and EINTR.
  public static func write(_ bytes: some Collection<UInt8>, to fd: Int32) throws(Failure) {
    let array = Array(bytes)
    var offset = 0
    while offset < array.count {
      let n = array.withUnsafeBytes { raw -> Int in
        guard let base = raw.baseAddress else { return 0 }
        return systemWrite(fd, base + offset, raw.count - offset)
      }
      if n < 0 {
        if errno == EINTR { continue }
        throw Failure(description: String(cString: strerror(errno)))
      }
      offset += n
    }
  }

  /// Appends `text` to the file at `path`, creating it (mode 0644) when needed.
  public static func append(_ text: String, to path: String) throws(Failure) {
    let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw Failure(description: "cannot open \(path) for writing: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    do { try write(Array(text.utf8), to: fd) } catch { throw Failure(description: "cannot write \(path): \(error.description)") }
  }

  /// The path with every symbolic link, `.` and `..` resolved (`realpath(3)`); nil when some
  /// part of it does not exist or cannot be read.
  public static func realPath(_ path: String) -> String? {
    guard let resolved = realpath(path, nil) else { return nil }
    defer { free(resolved) }
    return String(cString: resolved)
  }

  /// Where a path of a checkout (a pull request's to write) leads, if it may be read.
  public enum CheckoutPath: Sendable, Equatable {
    /// The path to read: resolved when it is under the checkout, as given when not.
    case file(String)
    /// It leads outside the checkout or into its `.git`, or through a symbolic link to
    /// nothing: through its own last component being a symbolic link (`finalLink`), or a
    /// directory of the path being one.
    case escapes(finalLink: Bool)
    /// Some part of it, under a directory of the checkout, does not exist.
    case missing
  }

  /// A path under `checkout` may be read only where it resolves, links and all, to a path in
  /// the checkout outside `.git` (actions/checkout keeps the job's token in `.git/config`):
  /// a monorepo's `svc/VERSION -> ../VERSION` does, `VERSION -> /proc/self/environ` does not.
  /// A path elsewhere (one the user chose), or any path when `checkout` is nil, is as given.
  public static func inCheckout(_ path: String, checkout: String?) -> CheckoutPath {
    guard let checkout, path.hasPrefix(checkout.hasSuffix("/") ? checkout : checkout + "/") else { return .file(path) }
    guard let root = realPath(checkout) else { return .missing }
    let base = root.hasSuffix("/") ? root : root + "/"
    func readable(_ real: String) -> Bool {
      (real + "/").hasPrefix(base) && !real.dropFirst(base.count).split(separator: "/").contains(".git")
    }
    let escapes = CheckoutPath.escapes(finalLink: kind(atPath: path) == .symbolicLink)
    guard let real = realPath(path) else {
      // A link to a runner's path that does not exist must read as one to a path that does,
      // or a pull request learns which paths exist: the nearest part of the path that
      // resolves decides, and a link after it leads to nothing.
      let parts = path.split(separator: "/", omittingEmptySubsequences: false)
      for end in stride(from: parts.count - 1, through: 1, by: -1) {
        let head = parts[..<end].joined(separator: "/")
        guard let resolved = realPath(head.isEmpty ? "/" : head) else { continue }
        let next = head + "/" + parts[end]
        return readable(resolved) && kind(atPath: next) != .symbolicLink ? .missing : escapes
      }
      return .missing
    }
    return readable(real) && real != root ? .file(real) : escapes
  }

  /// What a path names, without following a final symbolic link (`lstat`); nil when nothing.
  public enum Kind: Sendable { case regular, directory, symbolicLink, other }

  public static func kind(atPath path: String) -> Kind? {
    var st = stat()
    guard lstat(path, &st) == 0 else { return nil }
    switch st.st_mode & S_IFMT {
    case S_IFREG: return .regular
    case S_IFDIR: return .directory
    case S_IFLNK: return .symbolicLink
    default: return .other
    }
  }

  /// The first bytes of a regular file, at most `limit` (fewer when the file is shorter); nil
  /// when it cannot be opened or is not a regular file (symbolic links are followed). A FIFO
  /// named where a file was expected would block the open until a writer came, forever; a
  /// device never ends: both are refused, the FIFO without waiting.
  public static func readPrefix(_ path: String, limit: Int) -> [UInt8]? {
    guard let reader = try? Reader(path: path, regularOnly: true) else { return nil }
    var out = [UInt8](repeating: 0, count: max(0, limit))
    var filled = 0
    while filled < out.count {
      let n = out.withUnsafeMutableBytes { raw in
        (try? reader.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[filled...]))) ?? 0
      }
      if n <= 0 { break }
      filled += n
    }
    return Array(out.prefix(filled))
  }

  /// A file opened for reading in pieces.
  public final class Reader: @unchecked Sendable {
    private let fd: Int32
    /// The size when the file was opened, or `nil` when it is not a regular file.
    public let size: Int64?

    /// - Parameter regularOnly: refuse anything but a regular file, opened without blocking
    ///   (`O_NONBLOCK`, which regular files ignore) so that a FIFO is refused, not waited on.
    public init(path: String, regularOnly: Bool = false) throws(Failure) {
      let fd = open(path, O_RDONLY | O_CLOEXEC | (regularOnly ? O_NONBLOCK : 0))
      guard fd >= 0 else { throw Failure(description: "cannot open \(path) for reading: \(String(cString: strerror(errno)))") }
      var st = stat()
      let size = fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG ? Int64(st.st_size) : nil
      // Thrown before the properties are set: no deinit closes the descriptor a second time.
      if regularOnly, size == nil {
        close(fd)
        throw Failure(description: "\(path) is not a regular file")
      }
      self.fd = fd
      self.size = size
    }

    deinit { close(fd) }

    /// Reads up to `buffer.count` bytes; 0 at the end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(Failure) -> Int {
      guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
      while true {
        let n = systemRead(fd, base, buffer.count)
        if n >= 0 { return n }
        if errno == EINTR { continue }
        throw Failure(description: String(cString: strerror(errno)))
      }
    }

    /// Up to `count` bytes from `offset` (`pread`: the position of ``read(into:)`` stays);
    /// fewer at the end of the file, empty when `offset` is past it or invalid.
    public func read(at offset: Int64, count: Int) -> [UInt8] {
      guard offset >= 0, count > 0 else { return [] }
      var out = [UInt8](repeating: 0, count: count)
      var filled = 0
      while filled < count {
        let n = out.withUnsafeMutableBytes { raw -> Int in
          guard let base = raw.baseAddress else { return 0 }
          let (at, overflow) = offset.addingReportingOverflow(Int64(filled))
          return overflow ? 0 : pread(fd, base + filled, count - filled, off_t(at))
        }
        if n < 0, errno == EINTR { continue }
        if n <= 0 { break }
        filled += n
      }
      return Array(out.prefix(filled))
    }

    /// Back to the first byte.
    public func rewind() -> Bool { lseek(fd, 0, SEEK_SET) == 0 }
  }
}
