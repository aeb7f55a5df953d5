import Basics
import Crypto
import FoundationEssentials

/// Environment names and the tags records live under.
///
/// An environment name is itself a tag (the environment tag): `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`,
/// not starting with `gantry-` (the records' namespace) nor `sha256-` (the referrers fallback
/// tags). Its records are tagged `gantry-<key>-<UTC time>-<random>`, where the key is the name
/// itself when the tag fits in 128 characters (names up to 91 characters), else the name's
/// first 60 characters, `.`, and 16 hex digits of its SHA-256. The tag only narrows which records
/// are read: a record belongs to the environment its JSON names.
public enum EnvironmentName {
  /// Why `name` is not an environment name, or nil when it is one.
  public static func problem(_ name: String) -> String? {
    guard Reference.isValidTag(name) else { return "it is not a tag name ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})" }
    return reserved(name)
  }

  /// Why `tag` is Gantry's own to write, or nil when an image may be tagged with it: history
  /// records live under `gantry-…`, referrers fallback indexes (and cosign's signatures) under
  /// `sha256-…`. A promotion or rollback that moved such a tag to an image would overwrite a
  /// record (history lost) or the index its quarantine check reads.
  public static func reserved(_ tag: String) -> String? {
    if tag.hasPrefix("gantry-") { return "names starting with gantry- are reserved for history records" }
    if tag.hasPrefix("sha256-") { return "names starting with sha256- are reserved for referrers fallback tags" }
    return nil
  }

  /// The part of record tags that names the environment.
  public static func key(_ name: String) -> String {
    guard name.count > longestPlain else { return name }
    let hash = Format.hex(SHA256.hash(data: Data(name.utf8)))
    return "\(name.prefix(60)).\(hash.prefix(16))"
  }

  /// `gantry-` + name + `-` + time (20) + `-` + random (8) = 128 characters at most.
  static let longestPlain = 128 - 7 - 1 - 20 - 1 - 8
}

/// A record tag taken apart: `gantry-<key>-<yyyyMMddTHHmmss.SSSZ>-<8 random [0-9a-z]>`.
/// Tags written by earlier Gantry versions have the same shape (their key is the name).
public struct RecordTag: Sendable, Hashable, Comparable {
  public var tag: String
  public var key: String
  public var time: Date

  public init?(_ tag: String) {
    // Fixed-width tail: "-" + 20 + "-" + 8.
    guard tag.hasPrefix("gantry-"), tag.count > 7 + Self.tailLength else { return nil }
    let tail = tag.suffix(Self.tailLength)
    let parts = tail.split(separator: "-", omittingEmptySubsequences: false)
    guard parts.count == 3, parts[0].isEmpty, parts[2].count == 8, parts[2].allSatisfy({ $0.isASCII && ($0.isNumber || $0.isLowercase) }),
      let time = RecordTime.parseCompact(String(parts[1]))
    else { return nil }
    self.tag = tag
    self.key = String(tag.dropFirst(7).dropLast(Self.tailLength))
    self.time = time
  }

  /// `-<yyyyMMddTHHmmss.SSSZ>-<random>`: the characters after the key.
  static let tailLength = 30

  /// A fresh tag for a record of `environment` made at `time`.
  public static func make(environment: String, time: Date, random: String = String(UUID().uuidString.lowercased().prefix(8))) -> String {
    "gantry-\(EnvironmentName.key(environment))-\(RecordTime.compact(time))-\(random)"
  }

  /// Same key: tags sort by time, then by their random part (a deterministic tie-break).
  public static func < (a: RecordTag, b: RecordTag) -> Bool { a.tag < b.tag }
}
