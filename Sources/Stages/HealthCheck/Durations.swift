import ActionsCore
import Foundation

/// `30s`, `5m`, `1h`, `250ms`, or plain seconds → Duration.
enum DurationInput {
  static func parse(_ text: String, input: String) throws -> Duration {
    let t = text.trimmingCharacters(in: .whitespaces).lowercased()
    let digits = t.prefix { $0.isNumber || $0 == "." }
    let unit = t.dropFirst(digits.count)
    guard let n = Double(digits), n >= 0 else { throw InputError(input, "expected a duration such as 30s, 5m or 500ms, got '\(text)'") }
    switch unit {
    case "ms": return .milliseconds(Int(n))
    case "", "s": return .milliseconds(Int(n * 1000))
    case "m": return .milliseconds(Int(n * 60_000))
    case "h": return .milliseconds(Int(n * 3_600_000))
    default: throw InputError(input, "expected a duration such as 30s, 5m or 500ms, got '\(text)'")
    }
  }
}
