import Foundation

/// The lifecycle states of a promotion.
///
/// `in-progress` is an intent (the lease, see ``History``); `completed` and `failed` close it;
/// `abandoned` closes the intent of a run that died holding it (written by the next run);
/// `rolled-back` quarantines an image for its environment.
public enum PromotionState: String, Sendable, Codable, CaseIterable {
  case pending, inProgress = "in-progress", completed, failed, rolledBack = "rolled-back", abandoned
}

/// One immutable history event, stored as the single blob of an OCI artifact in the target
/// repository. Gantry only ever appends: a later state is a new record, never an edit.
///
/// The JSON is the record's truth: the environment it belongs to is ``environment``, never
/// whatever its tag looks like. Fields added since the first format are optional, so records
/// written by earlier Gantry versions (no `format`) read as format 1.
public struct PromotionRecord: Sendable, Codable, Equatable {
  /// The record format this Gantry writes; records with a higher one are skipped (a newer
  /// Gantry wrote them, and their meaning may have changed).
  public static let currentFormat = 2

  public var environment: String
  public var state: PromotionState
  /// The manifest this event is about (the artifact's `subject`).
  public var digest: Digest
  /// What the environment tag pointed at before this event.
  public var previousDigest: Digest?
  public var version: String?
  public var tags: [String]
  public var source: String?
  public var time: Date
  public var reason: String?
  public var runURL: String?
  public var actor: String?
  public var sha: String?
  /// Record format; absent (nil) in format 1.
  public var format: Int?
  /// `promote` or `rollback` (format 2).
  public var operation: String?
  /// For an `in-progress` record: when its lease ends (format 2).
  public var leaseExpires: Date?
  /// For a record that closes an intent (`completed`, `failed`, `abandoned`, `rolled-back`):
  /// the intent's tag (format 2).
  public var intent: String?

  public init(
    environment: String, state: PromotionState, digest: Digest, previousDigest: Digest?, version: String?, tags: [String], source: String?, time: Date, reason: String? = nil, runURL: String? = nil,
    actor: String? = nil, sha: String? = nil, format: Int? = PromotionRecord.currentFormat, operation: String? = nil, leaseExpires: Date? = nil, intent: String? = nil
  ) {
    self.environment = environment
    self.state = state
    self.digest = digest
    self.previousDigest = previousDigest
    self.version = version
    self.tags = tags
    self.source = source
    self.time = time
    self.reason = reason
    self.runURL = runURL
    self.actor = actor
    self.sha = sha
    self.format = format
    self.operation = operation
    self.leaseExpires = leaseExpires
    self.intent = intent
  }

  /// Our artifact type ([OCI 1.1 artifacts guidance](https://github.com/opencontainers/image-spec/blob/main/manifest.md#guidelines-for-artifact-usage)).
  public static let artifactType = "application/vnd.gantry.promotion.v1+json"

  /// Records larger than this are not read (a record is well under 4 kB).
  public static let sizeLimit = 64 << 10

  public func encoded() throws -> Data {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    e.dateEncodingStrategy = .custom { date, encoder in
      var c = encoder.singleValueContainer()
      try c.encode(RecordTime.iso(date))
    }
    return try e.encode(self)
  }

  /// Why a stored record cannot be used.
  public enum DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalid(String)
    case futureFormat(Int)
    public var description: String {
      switch self {
      case .invalid(let why): "it is not a valid record (\(why))"
      case .futureFormat(let f): "it has format \(f), newer than this Gantry reads (\(PromotionRecord.currentFormat))"
      }
    }
  }

  public static func decode(_ data: Data) throws(DecodeError) -> PromotionRecord {
    struct Probe: Decodable { var format: Int? }
    let d = JSONDecoder()
    d.dateDecodingStrategy = .custom { decoder in
      let text = try decoder.singleValueContainer().decode(String.self)
      guard let date = RecordTime.parseISO(text) else { throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an ISO 8601 time")) }
      return date
    }
    let probe: Probe
    do { probe = try d.decode(Probe.self, from: data) } catch { throw .invalid("not a JSON object") }
    if let f = probe.format, f > currentFormat { throw .futureFormat(f) }
    do { return try d.decode(PromotionRecord.self, from: data) } catch { throw .invalid(Self.describe(error)) }
  }

  private static func describe(_ error: any Error) -> String {
    guard let e = error as? DecodingError else { return "undecodable" }
    switch e {
    case .keyNotFound(let key, _): return "no \(key.stringValue)"
    case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
      return c.codingPath.isEmpty ? "malformed JSON" : "bad \(c.codingPath.map(\.stringValue).joined(separator: "."))"
    @unknown default: return "undecodable"
    }
  }
}

/// Times in records and record tags: UTC, to the millisecond.
public enum RecordTime {
  /// `2026-11-22T03:15:00.123Z` (records written by format 1 have no fraction).
  public static func iso(_ date: Date) -> String { formatter("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").string(from: date) }

  public static func parseISO(_ text: String) -> Date? {
    // Record text is untrusted and Foundation's DateFormatter traps on some non-ASCII text.
    guard text.utf8.count <= 64, text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) else { return nil }
    return formatter("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").date(from: text) ?? formatter("yyyy-MM-dd'T'HH:mm:ss'Z'").date(from: text)
  }

  /// `20261122T031500.123Z`, as in record tags: fixed width, so tags sort by time.
  public static func compact(_ date: Date) -> String { formatter("yyyyMMdd'T'HHmmss.SSS'Z'").string(from: date) }

  /// Parses `yyyyMMddTHHmmss.SSSZ` by hand: every tag of a repository goes through it, and a
  /// DateFormatter costs about a millisecond to make (10 s for 10,000 tags).
  public static func parseCompact(_ text: String) -> Date? {
    let b = Array(text.utf8)
    guard b.count == 20, b[8] == UInt8(ascii: "T"), b[15] == UInt8(ascii: "."), b[19] == UInt8(ascii: "Z") else { return nil }
    func number(_ range: Range<Int>) -> Int? {
      var n = 0
      for i in range {
        guard (48...57).contains(b[i]) else { return nil }
        n = n * 10 + Int(b[i] - 48)
      }
      return n
    }
    guard let y = number(0..<4), let mo = number(4..<6), let d = number(6..<8), let h = number(9..<11), let mi = number(11..<13), let se = number(13..<15), let ms = number(16..<19),
      (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, se < 61
    else { return nil }
    // Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    let yy = mo <= 2 ? y - 1 : y
    let era = yy / 400
    let yoe = yy - era * 400
    let doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    let days = era * 146_097 + doe - 719_468
    return Date(timeIntervalSince1970: Double(days * 86_400 + h * 3600 + mi * 60 + se) + Double(ms) / 1000)
  }

  static func formatter(_ format: String) -> DateFormatter {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = format
    return f
  }
}
