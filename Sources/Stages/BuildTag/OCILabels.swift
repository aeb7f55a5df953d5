import Basics
import FoundationEssentials

/// The OCI image annotations `build-tag` fills in
/// ([annotations spec](https://github.com/opencontainers/image-spec/blob/main/annotations.md#pre-defined-annotation-keys)).
public enum OCILabels {
  public static let created = "org.opencontainers.image.created"
  public static let revision = "org.opencontainers.image.revision"
  public static let version = "org.opencontainers.image.version"
  public static let source = "org.opencontainers.image.source"
  public static let url = "org.opencontainers.image.url"
  public static let title = "org.opencontainers.image.title"
  public static let description = "org.opencontainers.image.description"
  public static let licenses = "org.opencontainers.image.licenses"

  /// RFC 3339 in UTC, second precision, as the spec asks for `created`.
  public static func timestamp(_ date: Date) -> String {
    UTCTime(date).iso8601()
  }

  /// Parses `key=value` lines; the value may contain `=`.
  public static func parsePairs(_ lines: [String], input: String) throws(LabelError) -> [(String, String)] {
    try lines.map { line throws(LabelError) in
      guard let eq = line.firstIndex(of: "="), eq != line.startIndex else { throw LabelError(input: input, line: line) }
      return (String(line[..<eq]).trimmingCharacters(in: .whitespaces), String(line[line.index(after: eq)...]).trimmingCharacters(in: .whitespaces))
    }
  }
}

public struct LabelError: Error, Sendable {
  public var input: String
  public var line: String
}
