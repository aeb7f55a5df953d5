import Basics
import FoundationEssentials

/// A server's request budget as one response states it: Docker Hub's
/// `RateLimit-Limit: 100;w=21600` and `RateLimit-Remaining: 76;w=21600`, and the IETF draft
/// forms (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Limit`/`-Remaining`/`-Reset` with
/// `RateLimit-Policy: 100;w=60`, the single field `RateLimit: limit=100, remaining=50, reset=5`,
/// and the later `RateLimit: "default";r=50;t=30` with `RateLimit-Policy: "default";q=100;w=60`.
///
/// The values come from the server, so parsing is strict and bounded: a field longer than
/// ``maxFieldLength``, a number that is not plain ASCII digits, above ``maxCount`` (budgets) or
/// ``maxSeconds`` (windows and resets), negative, or a remaining above the limit is ignored —
/// never a trap, never a wait of years.
public struct RateLimitHeaders: Sendable, Equatable {
  /// Requests allowed per window.
  public var limit: Int?
  /// Requests left in the current window.
  public var remaining: Int?
  /// The window's length in seconds (`w=`).
  public var window: Int?
  /// Seconds until the budget refills (`RateLimit-Reset`, `reset=`, `t=`).
  public var reset: Int?

  public init(limit: Int? = nil, remaining: Int? = nil, window: Int? = nil, reset: Int? = nil) {
    self.limit = limit
    self.remaining = remaining
    self.window = window
    self.reset = reset
  }

  /// Budgets above this are not believed (Docker Hub's are in the hundreds).
  public static let maxCount = 1_000_000_000
  /// Windows and resets above a year are not believed.
  public static let maxSeconds = 31_536_000
  /// Longer fields are ignored whole.
  public static let maxFieldLength = 512

  /// The budget `headers` state, or nil when they state neither a limit nor a remaining count.
  public static func parse(_ headers: Headers) -> RateLimitHeaders? {
    var r = RateLimitHeaders()
    // The dedicated fields first (Docker Hub's form), the combined field fills the gaps.
    if let v = field(headers, "RateLimit-Limit"), let item = firstItem(v) {
      r.limit = item.value.flatMap(count)
      r.window = item.params["w"].flatMap(seconds)
    }
    if let v = field(headers, "RateLimit-Remaining"), let item = firstItem(v) {
      r.remaining = item.value.flatMap(count)
      if r.window == nil { r.window = item.params["w"].flatMap(seconds) }
    }
    if let v = field(headers, "RateLimit-Reset"), let item = firstItem(v) { r.reset = item.value.flatMap(seconds) }
    if let v = field(headers, "RateLimit-Policy"), let item = firstItem(v) {
      if r.limit == nil { r.limit = (item.value ?? item.params["q"]).flatMap(count) }
      if r.window == nil { r.window = item.params["w"].flatMap(seconds) }
    }
    if let v = field(headers, "RateLimit") {
      // draft-07 is a dictionary (`limit=…, remaining=…, reset=…`); later drafts one item with
      // parameters (`"default";r=…;t=…`). Both read as key=value pairs.
      var pairs: [String: String] = [:]
      for part in v.split(whereSeparator: { $0 == "," || $0 == ";" }) {
        let kv = part.split(separator: "=", maxSplits: 1)
        guard kv.count == 2 else { continue }
        let key = kv[0].trimmingCharacters(in: .whitespaces).lowercased()
        if pairs[key] == nil { pairs[key] = kv[1].trimmingCharacters(in: .whitespaces) }
      }
      if r.limit == nil { r.limit = (pairs["limit"] ?? pairs["q"]).flatMap(count) }
      if r.remaining == nil { r.remaining = (pairs["remaining"] ?? pairs["r"]).flatMap(count) }
      if r.reset == nil { r.reset = (pairs["reset"] ?? pairs["t"]).flatMap(seconds) }
      if r.window == nil { r.window = pairs["w"].flatMap(seconds) }
    }
    if r.window == 0 { r.window = nil }
    // A remaining above the limit is a lie in one of them: believe neither number's pairing.
    if let limit = r.limit, let remaining = r.remaining, remaining > limit { r.remaining = nil }
    guard r.limit != nil || r.remaining != nil else { return nil }
    return r
  }

  /// The field's value when it is present and not oversized (several fields: the first).
  private static func field(_ headers: Headers, _ name: String) -> String? {
    guard let v = headers[name], v.utf8.count <= maxFieldLength else { return nil }
    return v
  }

  /// The first list member of `value`: `100;w=21600` → ("100", ["w": "21600"]). A leading
  /// quoted policy name (`"default";q=100`) has no number.
  private static func firstItem(_ value: String) -> (value: String?, params: [String: String])? {
    guard let first = value.split(separator: ",", omittingEmptySubsequences: false).first else { return nil }
    let parts = first.split(separator: ";", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    guard let head = parts.first else { return nil }
    var params: [String: String] = [:]
    for p in parts.dropFirst() {
      let kv = p.split(separator: "=", maxSplits: 1)
      guard kv.count == 2 else { continue }
      let key = kv[0].trimmingCharacters(in: .whitespaces).lowercased()
      if params[key] == nil { params[key] = kv[1].trimmingCharacters(in: .whitespaces) }
    }
    return (head.contains("=") || head.hasPrefix("\"") ? nil : head, params)
  }

  /// A non-negative decimal of plain ASCII digits, at most `max`; nil otherwise.
  static func number(_ text: String, max: Int) -> Int? {
    let t = text.trimmingCharacters(in: .whitespaces)
    // Ten digits at most: no overflow before the bound is checked.
    guard !t.isEmpty, t.utf8.count <= 10, t.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
    var n = 0
    for b in t.utf8 { n = n * 10 + Int(b - 0x30) }
    return n <= max ? n : nil
  }

  private static func count(_ text: String) -> Int? { number(text, max: maxCount) }
  private static func seconds(_ text: String) -> Int? { number(text, max: maxSeconds) }
}
