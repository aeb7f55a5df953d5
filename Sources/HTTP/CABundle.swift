import Basics
import FoundationEssentials

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// The `ca-file` input adds CAs to the ones trusted already; it does not replace them. A
/// private registry's CA then works next to GHCR, Docker Hub and the GitHub API in one run, as
/// with docker's `certs.d` and containers/image, which add a registry's CAs to the system pool.
/// libcurl takes one bundle, so the trusted one (`SSL_CERT_FILE`, else libcurl's built-in
/// bundle, else the first system bundle found) and the extra file are written into one file.
public enum CABundle {
  /// Where Linux distributions keep their bundle (the list Go's crypto/x509 searches).
  static let systemBundles = [
    "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/ca-bundle.pem", "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", "/etc/ssl/cert.pem",
  ]
  /// Bundles are a few hundred kB; anything past this is not a CA bundle.
  static let sizeLimit = 16 << 20

  public struct Failure: Error, Sendable, CustomStringConvertible {
    public let description: String
  }

  /// Bundles made so far, by base and extra file.
  private final class Made: @unchecked Sendable {
    let lock = Lock()
    var paths: [String: String] = [:]
  }
  private static let made = Made()

  /// A bundle holding the CAs of `base` (nil: the default described above) and of `extra`;
  /// made once per process for each pair.
  /// - Throws: ``Failure`` when `extra` cannot be read, holds no PEM certificate or is too
  ///   large, or the combined file cannot be written.
  ///   - directory: where the combined file is written (a stage passes `RUNNER_TEMP`).
  public static func adding(_ extra: String, to base: String?, directory: String = "/tmp") throws(Failure) -> String {
    let trusted = base ?? CurlTransport.builtInCABundle.flatMap { FileManager.default.isReadableFile(atPath: $0) ? $0 : nil } ?? systemBundles.first { FileManager.default.isReadableFile(atPath: $0) }
    let key = "\(trusted ?? "")\u{0}\(extra)\u{0}\(directory)"
    if let path = made.lock.withLock({ made.paths[key] }) { return path }
    guard let added = Files.readPrefix(extra, limit: sizeLimit + 1) else { throw Failure(description: "cannot read '\(extra.clipped(to: 100))' (a readable regular file is needed)") }
    guard added.count <= sizeLimit else { throw Failure(description: "'\(extra.clipped(to: 100))' is larger than \(sizeLimit >> 20) MiB: not a CA bundle") }
    guard String(decoding: added, as: UTF8.self).contains("-----BEGIN CERTIFICATE-----") else {
      throw Failure(description: "'\(extra.clipped(to: 100))' holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    }
    if let broken = brokenBlock(in: added) { throw Failure(description: "'\(extra.clipped(to: 100))': \(broken)") }
    var bytes = trusted.flatMap { Files.readPrefix($0, limit: sizeLimit) } ?? []
    if let last = bytes.last, last != UInt8(ascii: "\n") { bytes.append(UInt8(ascii: "\n")) }
    bytes += added
    var template = Array("\(directory)/gantry-ca-XXXXXX.pem".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { buffer -> Int32 in
      guard let base = buffer.baseAddress else { return -1 }
      return mkstemps(base, 4)
    }
    guard fd >= 0 else { throw Failure(description: "cannot write a CA bundle in \(directory): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    do { try Files.write(bytes, to: fd) } catch { throw Failure(description: "cannot write a CA bundle in \(directory): \(error)") }
    let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    made.lock.withLock { made.paths[key] = path }
    return path
  }

  /// Why OpenSSL would refuse the file, if a PEM block of it is broken: one damaged
  /// certificate (base64 or DER that does not decode, a block without its END line) fails
  /// the whole bundle when libcurl loads it, and then every TLS connection, the registry's and
  /// GitHub's, with a message about a temporary file nobody named. Text between blocks is
  /// skipped, as OpenSSL skips it.
  public static func brokenBlock(in bytes: [UInt8]) -> String? {
    var lines = String(decoding: bytes, as: UTF8.self).split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)[...]
    var blocks = 0
    while let line = lines.popFirst() {
      let begin = trimmed(line)
      guard begin.hasPrefix("-----BEGIN "), begin.hasSuffix("-----"), begin.count > 16 else { continue }
      let label = begin.dropFirst(11).dropLast(5)
      blocks += 1
      var body = ""
      var end: Substring?
      while let next = lines.popFirst() {
        let t = trimmed(next)
        if t.hasPrefix("-----END ") {
          end = t
          break
        }
        body += t
      }
      guard let end else { return "PEM block \(blocks) (\(label.prefix(40))) has no END line" }
      guard end == "-----END \(label)-----" else { return "PEM block \(blocks) (\(label.prefix(40))) ends with another label" }
      guard label == "CERTIFICATE" || label == "TRUSTED CERTIFICATE" else { continue }
      guard let der = Data(base64Encoded: body), isDERSequence(Array(der)) else {
        return "certificate \(blocks) is damaged (its base64 or DER does not decode); OpenSSL would refuse the whole file"
      }
    }
    return nil
  }

  private static func trimmed(_ s: Substring) -> Substring {
    var t = s.drop { $0 == " " || $0 == "\t" }
    while let last = t.last, last == " " || last == "\t" { t = t.dropLast() }
    return t
  }

  /// Whether `d` starts as a certificate does: a DER SEQUENCE, whole, that opens with another
  /// SEQUENCE (the to-be-signed part). Catches truncated and garbled blocks, not every defect.
  static func isDERSequence(_ d: [UInt8]) -> Bool {
    guard d.count >= 4, d[0] == 0x30 else { return false }
    var start = 2
    var length = Int(d[1])
    if length >= 0x80 {
      let n = length & 0x7F
      guard (1...4).contains(n), d.count > 2 + n else { return false }
      length = 0
      for k in 0..<n { length = length << 8 | Int(d[2 + k]) }
      start = 2 + n
    }
    return length > 0 && length <= d.count - start && d[start] == 0x30
  }
}
