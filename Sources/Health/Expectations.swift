import Basics
import FoundationEssentials

/// Status codes a probe accepts: `200-399`, `200,204`, `2xx`.
public struct StatusSet: Sendable, Equatable, CustomStringConvertible {
  public var ranges: [ClosedRange<Int>]

  public init(ranges: [ClosedRange<Int>]) { self.ranges = ranges }

  /// - Throws: ``HealthInputError`` naming the bad part.
  public init(parsing text: String) throws(HealthInputError) {
    var ranges: [ClosedRange<Int>] = []
    for raw in text.split(separator: ",") {
      let part = raw.trimmingCharacters(in: .whitespaces).lowercased()
      if part.count == 3, part.hasSuffix("xx"), let d = Int(part.prefix(1)), (1...5).contains(d) {
        ranges.append((d * 100)...(d * 100 + 99))
        continue
      }
      let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
      guard (1...2).contains(bounds.count), let first = bounds.first, let lo = first, let last = bounds.last, let hi = last else {
        throw HealthInputError("'\(part.clipped(to: 100))' is not a status code, a range like 200-399, or a class like 2xx")
      }
      guard (100...599).contains(lo), (100...599).contains(hi), lo <= hi else {
        throw HealthInputError("'\(part.clipped(to: 100))' is not within 100-599 with low ≤ high")
      }
      ranges.append(lo...hi)
    }
    guard !ranges.isEmpty else { throw HealthInputError("no status codes given") }
    self.ranges = ranges
  }

  public func contains(_ status: Int) -> Bool { ranges.contains { $0.contains(status) } }

  public var description: String {
    ranges.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ",")
  }
}

/// What a response body must show: a substring or a regex (`/…/`), and JSON `path=value` pairs.
public struct BodyExpectation: Sendable {
  public var substring: String?
  /// The pattern of a `/…/` expectation.
  public var regex: String? { compiled?.pattern }
  /// Compiled once, here, not for every probe; matched within the probe's deadline.
  private var compiled: BoundedRegex?
  /// Dotted paths into the JSON body (`version`, `build.sha`, `items.0.name`) and the text
  /// the value must equal.
  public var json: [(path: String, value: String)]

  public init(body: String?, json: [String]) throws(HealthInputError) {
    if let body, body.count >= 2, body.hasPrefix("/"), body.hasSuffix("/") {
      let pattern = String(body.dropFirst().dropLast())
      guard let regex = try? Regex(pattern) else { throw HealthInputError("'\(body.clipped(to: 100))' is not a valid regular expression") }
      compiled = BoundedRegex(pattern: pattern, regex: regex)
    } else {
      substring = body
    }
    self.json = try json.map { line throws(HealthInputError) in
      guard let eq = line.firstIndex(of: "="), eq != line.startIndex else { throw HealthInputError("'\(line.clipped(to: 100))' is not path=value") }
      return (String(line[..<eq]).trimmingCharacters(in: .whitespaces), String(line[line.index(after: eq)...]).trimmingCharacters(in: .whitespaces))
    }
  }

  public var isEmpty: Bool { substring == nil && regex == nil && json.isEmpty }

  /// Nil when the body satisfies every expectation, else why not. A `/regex/` match that
  /// takes longer than `budget` is a mismatch (see ``BoundedRegex``); the other checks are linear.
  public func mismatch(_ body: Data, within budget: Duration = .seconds(5)) async -> String? {
    let text = String(decoding: body, as: UTF8.self)
    if let substring, !text.contains(substring) { return "body does not contain '\(substring.clipped(to: 200))'" }
    if let compiled {
      switch await compiled.contains(text, within: budget) {
      case .matched(true): break
      case .matched(false): return "body does not match /\(compiled.pattern.clipped(to: 200))/"
      case .tooSlow: return "matching the body against /\(compiled.pattern.clipped(to: 200))/ took longer than the probe's timeout: given up"
      case .busy: return "body not matched: a match against /\(compiled.pattern.clipped(to: 200))/ given up on earlier (too slow) still runs"
      }
    }
    guard !json.isEmpty else { return nil }
    guard let root = JSONValue.parse(body) else { return "body is not JSON" }
    for (path, want) in json {
      guard let got = root.value(atPath: path)?.text else { return "JSON has no \(path.clipped(to: 200))" }
      // The service's value is quoted short: what is expected must still show after it.
      if got != want { return "JSON \(path.clipped(to: 200)) is '\(got.clippedWithSize(to: 200))', expected '\(want.clipped(to: 200))'" }
    }
    return nil
  }
}

/// A health input that cannot be used; the stage names the input.
public struct HealthInputError: Error, Sendable, Equatable, CustomStringConvertible {
  public var description: String
  public init(_ d: String) { description = d }
}
