import Foundation

/// The lifecycle states of a promotion, as the reference pipelines' promotion flow names them.
public enum PromotionState: String, Sendable, Codable, CaseIterable {
  case pending, inProgress = "in-progress", completed, failed, rolledBack = "rolled-back"
}

/// One immutable history event, stored as the single blob of an OCI artifact in the target
/// repository. Gantry only ever appends: a later state is a new record, never an edit.
public struct PromotionRecord: Sendable, Codable, Equatable {
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

  public init(
    environment: String, state: PromotionState, digest: Digest, previousDigest: Digest?, version: String?, tags: [String], source: String?, time: Date, reason: String? = nil, runURL: String? = nil,
    actor: String? = nil, sha: String? = nil
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
  }

  /// Our artifact type ([OCI 1.1 artifacts guidance](https://github.com/opencontainers/image-spec/blob/main/manifest.md#guidelines-for-artifact-usage)).
  public static let artifactType = "application/vnd.gantry.promotion.v1+json"

  /// `gantry-<env>-<UTC time to the millisecond>-<random>`: unique, and sorts by time.
  public static func tag(environment: String, time: Date, random: String = String(UUID().uuidString.lowercased().prefix(8))) -> String {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = "yyyyMMdd'T'HHmmss.SSS'Z'"
    return "\(tagPrefix(environment))\(f.string(from: time))-\(random)"
  }

  public static func tagPrefix(_ environment: String) -> String { "gantry-\(environment)-" }

  public func encoded() throws -> Data {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys]
    e.dateEncodingStrategy = .iso8601
    return try e.encode(self)
  }

  public static func decode(_ data: Data) throws -> PromotionRecord {
    let d = JSONDecoder()
    d.dateDecodingStrategy = .iso8601
    return try d.decode(PromotionRecord.self, from: data)
  }
}
