import ActionsCore
import Basics
import FoundationEssentials

/// `30s`, `5m`, `1h`, `250ms`, or plain seconds → Duration, within a documented range.
public enum DurationInput {
  /// - Throws: ``InputError`` naming `input` and the accepted range for text that is not a
  ///   duration or lies outside `0...max` (checked before any conversion, so nothing overflows).
  public static func parse(_ text: String, input: String, max: Duration) throws -> Duration {
    let maxMs = Double(max.components.seconds) * 1000
    let seconds = max.components.seconds
    let maxText = seconds % 3600 == 0 ? "\(seconds / 3600)h" : "\(seconds)s"
    let bad = InputError(input, "expected a duration from 0 to \(maxText) such as 30s, 5m or 500ms, got '\(text.clipped(to: 100))'")
    let t = text.trimmingCharacters(in: .whitespaces).lowercased()
    let digits = t.prefix { ($0.isASCII && $0.isNumber) || $0 == "." }
    let unit = t.dropFirst(digits.count)
    let factors: [Substring: Double] = ["ms": 1, "": 1000, "s": 1000, "m": 60_000, "h": 3_600_000]
    guard digits.count <= 30, let n = Double(digits), n.isFinite, n >= 0, let factor = factors[unit] else { throw bad }
    let ms = n * factor
    guard ms <= maxMs else { throw bad }
    return .milliseconds(Int64(ms.rounded()))
  }
}
