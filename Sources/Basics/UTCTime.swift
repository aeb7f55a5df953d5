import FoundationEssentials

/// UTC calendar times, parsed and printed by hand: Foundation's `DateFormatter` links all of
/// Foundation (ICU included) and traps on some non-ASCII text (found by scripts/fuzz). Every
/// parser here is total: any text gives a date or `nil`.
public struct UTCTime: Sendable, Equatable {
  public var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, millisecond: Int

  /// Years 1...9999, the range every format here prints in four digits.
  public static let years = 1...9999

  public init?(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0, millisecond: Int = 0) {
    guard Self.years.contains(year), (1...12).contains(month), (1...Self.daysIn(month, year)).contains(day), (0...23).contains(hour), (0...59).contains(minute),
      (0...60).contains(second), (0...999).contains(millisecond)
    else { return nil }
    (self.year, self.month, self.day, self.hour, self.minute, self.second, self.millisecond) = (year, month, day, hour, minute, second, millisecond)
  }

  /// The calendar time of `date`, clamped to years 1...9999 (never traps).
  public init(_ date: Date) {
    let t = date.timeIntervalSince1970
    // 0001-01-01 and 9999-12-31T23:59:59.999 in seconds since 1970.
    let clamped = t.isNaN ? 0 : min(max(t, -62_135_596_800), 253_402_300_799.999)
    var ms = Int64((clamped * 1000).rounded(.down))
    if ms > 253_402_300_799_999 { ms = 253_402_300_799_999 }
    let (days, msOfDay) = Self.floorDivide(ms, 86_400_000)
    let (y, m, d) = Self.civil(fromDays: days)
    year = y
    month = m
    day = d
    hour = Int(msOfDay / 3_600_000)
    minute = Int(msOfDay / 60_000 % 60)
    second = Int(msOfDay / 1000 % 60)
    millisecond = Int(msOfDay % 1000)
  }

  public var date: Date {
    let days = Self.days(fromCivil: year, month, day)
    let seconds = Double(days) * 86_400 + Double(hour * 3600 + minute * 60 + second)
    return Date(timeIntervalSince1970: seconds + Double(millisecond) / 1000)
  }

  // MARK: Printing

  /// `2026-11-22T03:15:00Z` (RFC 3339, second precision), or with `.123` milliseconds.
  public func iso8601(milliseconds: Bool = false) -> String {
    "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))" + (milliseconds ? ".\(pad(millisecond, 3))" : "") + "Z"
  }

  /// `20261122T031500.123Z`: fixed width, so texts sort by time.
  public var compact: String {
    "\(pad(year, 4))\(pad(month, 2))\(pad(day, 2))T\(pad(hour, 2))\(pad(minute, 2))\(pad(second, 2)).\(pad(millisecond, 3))Z"
  }

  /// `2026-11-22 03:15:00`.
  public var dateTime: String { "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2)) \(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))" }

  private func pad(_ n: Int, _ width: Int) -> String {
    let s = String(n)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
  }

  // MARK: Parsing

  /// RFC 3339 / ISO 8601 date-time: `YYYY-MM-DDTHH:MM:SS`, optional fraction (milliseconds
  /// kept), then `Z` or `±HH:MM` (`t`/`z` and a space for `T` accepted, as RFC 3339 allows).
  public static func parseISO8601(_ text: String) -> Date? {
    var s = Scanner(text)
    guard let y = s.digits(4), s.take("-"), let mo = s.digits(2), s.take("-"), let d = s.digits(2), s.takeAny("Tt "), let h = s.digits(2), s.take(":"), let mi = s.digits(2), s.take(":"),
      let se = s.digits(2)
    else { return nil }
    var ms = 0
    if s.take(".") {
      var count = 0
      while let digit = s.digit() {
        if count < 3 { ms = ms * 10 + digit }
        count += 1
        if count > 9 { return nil }
      }
      guard count > 0 else { return nil }
      while count < 3 {
        ms *= 10
        count += 1
      }
    }
    var offsetSeconds = 0
    if s.takeAny("Zz") {
    } else if let sign = s.next(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
      guard let oh = s.digits(2), s.take(":"), let om = s.digits(2), oh < 24, om < 60 else { return nil }
      offsetSeconds = (oh * 3600 + om * 60) * (sign == UInt8(ascii: "-") ? -1 : 1)
    } else {
      return nil
    }
    guard s.atEnd, let t = UTCTime(year: y, month: mo, day: d, hour: h, minute: mi, second: se, millisecond: ms) else { return nil }
    return t.date.addingTimeInterval(Double(-offsetSeconds))
  }

  /// `20261122T031500.123Z` (``compact``).
  public static func parseCompact(_ text: String) -> Date? {
    var s = Scanner(text)
    guard let y = s.digits(4), let mo = s.digits(2), let d = s.digits(2), s.take("T"), let h = s.digits(2), let mi = s.digits(2), let se = s.digits(2), s.take("."), let ms = s.digits(3), s.take("Z"),
      s.atEnd
    else { return nil }
    return UTCTime(year: y, month: mo, day: d, hour: h, minute: mi, second: se, millisecond: ms)?.date
  }

  /// An HTTP-date in the preferred IMF-fixdate form (RFC 9110 §5.6.7):
  /// `Sun, 06 Nov 1994 08:49:37 GMT`.
  public static func parseHTTPDate(_ text: String) -> Date? {
    var s = Scanner(text)
    let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    guard let dayName = s.letters(3), days.contains(dayName), s.take(","), s.take(" "), let d = s.digits(2), s.take(" "), let monthName = s.letters(3),
      let mo = months.firstIndex(of: monthName), s.take(" "), let y = s.digits(4), s.take(" "), let h = s.digits(2), s.take(":"), let mi = s.digits(2), s.take(":"), let se = s.digits(2),
      s.take(" "), s.take("G"), s.take("M"), s.take("T"), s.atEnd
    else { return nil }
    return UTCTime(year: y, month: mo + 1, day: d, hour: h, minute: mi, second: se)?.date
  }

  // MARK: Calendar arithmetic (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms")

  static func daysIn(_ month: Int, _ year: Int) -> Int {
    switch month {
    case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
  }

  /// Days since 1970-01-01 of a proleptic Gregorian date.
  static func days(fromCivil y: Int, _ m: Int, _ d: Int) -> Int {
    let yy = m <= 2 ? y - 1 : y
    let era = (yy >= 0 ? yy : yy - 399) / 400
    let yoe = yy - era * 400
    let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
  }

  static func civil(fromDays days: Int64) -> (Int, Int, Int) {
    let z = Int(days) + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
  }

  static func floorDivide(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
    let q = a / b
    let r = a % b
    return r < 0 ? (q - 1, r + b) : (q, r)
  }
}

/// A cursor over ASCII bytes for the parsers above.
private struct Scanner {
  let bytes: [UInt8]
  var i = 0
  init(_ text: String) { bytes = Array(text.utf8.prefix(128)) + (text.utf8.count > 128 ? [0] : []) }
  var atEnd: Bool { i == bytes.count }
  mutating func next() -> UInt8? {
    guard i < bytes.count else { return nil }
    defer { i += 1 }
    return bytes[i]
  }
  mutating func take(_ c: Unicode.Scalar) -> Bool {
    guard i < bytes.count, bytes[i] == UInt8(ascii: c) else { return false }
    i += 1
    return true
  }
  mutating func takeAny(_ set: String) -> Bool {
    guard i < bytes.count, set.utf8.contains(bytes[i]) else { return false }
    i += 1
    return true
  }
  mutating func digit() -> Int? {
    guard i < bytes.count, (48...57).contains(bytes[i]) else { return nil }
    defer { i += 1 }
    return Int(bytes[i] - 48)
  }
  mutating func digits(_ n: Int) -> Int? {
    var v = 0
    for _ in 0..<n {
      guard let d = digit() else { return nil }
      v = v * 10 + d
    }
    return v
  }
  mutating func letters(_ n: Int) -> String? {
    guard i + n <= bytes.count else { return nil }
    let slice = bytes[i..<(i + n)]
    guard slice.allSatisfy({ (65...90).contains($0) || (97...122).contains($0) }) else { return nil }
    i += n
    return String(decoding: slice, as: UTF8.self)
  }
}
