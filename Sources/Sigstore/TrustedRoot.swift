import Basics
import FoundationEssentials
import SwiftASN1
import X509

/// The Sigstore trusted root (`application/vnd.dev.sigstore.trustedroot+json;version=0.1`):
/// Fulcio CAs, Rekor logs, CT logs and timestamp authorities, each with its validity window.
/// Verification trusts nothing else; nothing is fetched.
public struct TrustedRoot: Sendable {
  /// The largest trusted_root.json read from a file: public-good's is about 7 KB; a root of
  /// hundreds of keys stays far below this.
  public static let maxFileBytes = 4 << 20

  /// A transparency log (Rekor) or certificate transparency log key.
  public struct Log: Sendable {
    public var baseURL: String
    public var key: VerificationKey
    /// The log ID the entries name (sha256 of the key's DER, as given by the root).
    public var logID: Data
    public var validity: Validity
  }
  /// A Fulcio CA or a timestamp authority: its chain, leaf-most first, root last.
  public struct Authority: Sendable {
    public var uri: String
    public var chain: [Certificate]
    public var validity: Validity
  }
  /// `validFor`: start inclusive, end inclusive; nil end is open.
  public struct Validity: Sendable {
    public var start: Date?
    public var end: Date?
    public func contains(_ t: Date) -> Bool { (start.map { t >= $0 } ?? true) && (end.map { t <= $0 } ?? true) }
  }

  public var tlogs: [Log]
  public var ctlogs: [Log]
  public var certificateAuthorities: [Authority]
  public var timestampAuthorities: [Authority]
  /// Logs left out because their key type is not supported.
  public var skippedLogs: [String]
  /// Whether the root lists any transparency log / CT log at all (supported or not): a root
  /// without them (GitHub's instance) dates signatures by timestamps and has no SCTs.
  public var listsTransparencyLogs: Bool
  public var listsCTLogs: Bool
  /// Where this root came from (the embedded public-good root, or a file path), for reports.
  public var name: String

  static let maxEntries = 64

  /// Parses a trusted root JSON document.
  public init(json: Data, name: String) throws(SigstoreError) {
    let doc = try ProtoJSON.decode(Document.self, json, what: "trusted root \(name)")
    guard (doc.mediaType ?? "").hasPrefix("application/vnd.dev.sigstore.trustedroot") else {
      throw SigstoreError(.malformed, "trusted root \(name): mediaType is not application/vnd.dev.sigstore.trustedroot+json")
    }
    let counts = [doc.tlogs?.count, doc.ctlogs?.count, doc.certificateAuthorities?.count, doc.timestampAuthorities?.count].map { $0 ?? 0 }
    guard counts.allSatisfy({ $0 <= Self.maxEntries }) else { throw SigstoreError(.tooLarge, "trusted root \(name) lists more than \(Self.maxEntries) entries of a kind") }
    self.name = name
    // A log whose key Gantry cannot use (a PKCS#1 RSA key of an old CT log) is left out:
    // entries from it are then refused as from an unknown log.
    var skipped: [String] = []
    func usable(_ logs: [Document.TLog]?) -> [Log] {
      (logs ?? []).compactMap { l in
        do { return try Self.log(l, name) } catch {
          skipped.append("\(l.baseUrl?.clipped(to: 100) ?? "?") (\(l.publicKey.keyDetails?.clipped(to: 100) ?? "unknown key type"))")
          return nil
        }
      }
    }
    listsTransparencyLogs = !(doc.tlogs ?? []).isEmpty
    listsCTLogs = !(doc.ctlogs ?? []).isEmpty
    tlogs = usable(doc.tlogs)
    ctlogs = usable(doc.ctlogs)
    skippedLogs = skipped
    certificateAuthorities = try (doc.certificateAuthorities ?? []).map { a throws(SigstoreError) in try Self.authority(a, name) }
    timestampAuthorities = try (doc.timestampAuthorities ?? []).map { a throws(SigstoreError) in try Self.authority(a, name) }
    guard !certificateAuthorities.isEmpty || !tlogs.isEmpty else { throw SigstoreError(.malformed, "trusted root \(name) has no certificate authority and no transparency log") }
  }

  /// The transparency log with this log ID.
  public func tlog(_ id: Data) -> Log? { tlogs.first { $0.logID == id } }

  private static func log(_ l: Document.TLog, _ name: String) throws(SigstoreError) -> Log {
    guard let raw = l.publicKey.rawBytes?.data else { throw SigstoreError(.malformed, "trusted root \(name): a log (\(l.baseUrl?.clipped(to: 100) ?? "?")) has no public key bytes") }
    let key = try VerificationKey(spki: raw)
    guard let startText = l.publicKey.validFor?.start else {
      throw SigstoreError(.malformed, "trusted root \(name): log \(l.baseUrl?.clipped(to: 100) ?? "?") has no validFor.start")
    }
    let validity = try Self.validity(start: startText, end: l.publicKey.validFor?.end, name)
    return Log(baseURL: l.baseUrl ?? "", key: key, logID: l.logId?.keyId.data ?? key.keyID, validity: validity)
  }

  private static func authority(_ a: Document.CA, _ name: String) throws(SigstoreError) -> Authority {
    let certs = a.certChain?.certificates ?? []
    guard !certs.isEmpty, certs.count <= 10 else { throw SigstoreError(.malformed, "trusted root \(name): authority \(a.uri?.clipped(to: 100) ?? "?") has \(certs.count) certificates (1 to 10)") }
    var chain: [Certificate] = []
    for c in certs {
      do { chain.append(try Certificate(derEncoded: Array(c.rawBytes.data))) } catch {
        throw SigstoreError(.malformed, "trusted root \(name): authority \(a.uri?.clipped(to: 100) ?? "?") has a certificate that is not DER X.509")
      }
    }
    return Authority(uri: a.uri ?? "", chain: chain, validity: try Self.validity(start: a.validFor?.start, end: a.validFor?.end, name))
  }

  private static func validity(start: String?, end: String?, _ name: String) throws(SigstoreError) -> Validity {
    var v = Validity()
    if let start {
      guard let d = RFC3339.parse(start) else { throw SigstoreError(.malformed, "trusted root \(name): validFor.start is not an RFC 3339 time") }
      v.start = d
    }
    if let end {
      guard let d = RFC3339.parse(end) else { throw SigstoreError(.malformed, "trusted root \(name): validFor.end is not an RFC 3339 time") }
      v.end = d
    }
    return v
  }

  struct Document: Decodable {
    struct Range: Decodable {
      var start: String?
      var end: String?
    }
    struct Key: Decodable {
      var rawBytes: Base64Bytes?
      var keyDetails: String?
      var validFor: Range?
    }
    struct LogID: Decodable { var keyId: Base64Bytes }
    struct TLog: Decodable {
      var baseUrl: String?
      var publicKey: Key
      var logId: LogID?
    }
    struct Raw: Decodable { var rawBytes: Base64Bytes }
    struct Chain: Decodable { var certificates: [Raw]? }
    struct CA: Decodable {
      var uri: String?
      var certChain: Chain?
      var validFor: Range?
    }
    var mediaType: String?
    var tlogs: [TLog]?
    var ctlogs: [TLog]?
    var certificateAuthorities: [CA]?
    var timestampAuthorities: [CA]?
  }
}

extension TrustedRoot {
  /// Sigstore's public-good root, embedded in the binary (scripts/generate-trusted-root).
  public static func publicGood() throws(SigstoreError) -> TrustedRoot {
    guard let json = Data(base64Encoded: publicGoodBase64, options: .ignoreUnknownCharacters) else {
      throw SigstoreError(.malformed, "the embedded public-good trusted root does not decode")
    }
    return try TrustedRoot(json: json, name: "Sigstore public-good (embedded)")
  }
}
