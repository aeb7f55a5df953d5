import Basics
import FoundationEssentials

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
  /// The release this record is part of: every image of a release promoted as one set carries
  /// the same id (absent for single promotions and in records written before releases; an
  /// optional field, so earlier Gantry versions read these records too).
  public var release: String?

  public init(
    environment: String, state: PromotionState, digest: Digest, previousDigest: Digest?, version: String?, tags: [String], source: String?, time: Date, reason: String? = nil, runURL: String? = nil,
    actor: String? = nil, sha: String? = nil, format: Int? = PromotionRecord.currentFormat, operation: String? = nil, leaseExpires: Date? = nil, intent: String? = nil, release: String? = nil
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
    self.release = release
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
  public static func iso(_ date: Date) -> String { UTCTime(date).iso8601(milliseconds: true) }

  /// Record text is untrusted: ``UTCTime`` parses it by hand, total on any input.
  public static func parseISO(_ text: String) -> Date? { UTCTime.parseISO8601(text) }

  /// `20261122T031500.123Z`, as in record tags: fixed width, so tags sort by time.
  public static func compact(_ date: Date) -> String { UTCTime(date).compact }

  /// Parses ``compact(_:)``'s form: every tag of a repository goes through it.
  public static func parseCompact(_ text: String) -> Date? { UTCTime.parseCompact(text) }
}
