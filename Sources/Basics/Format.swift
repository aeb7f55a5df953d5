/// Number formatting without Foundation's `String(format:)` (which links all of Foundation).
public enum Format {
  /// Lower-case hex of `bytes` (`%02x` each).
  public static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.underestimatedCount * 2)
    for b in bytes {
      out.append(digits[Int(b >> 4)])
      out.append(digits[Int(b & 0x0f)])
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// "1 image", "3 images": a count and its noun, for lines a person reads.
  public static func count(_ n: Int, _ noun: String, plural: String? = nil) -> String {
    "\(n) \(n == 1 ? noun : plural ?? noun + "s")"
  }

  /// `value` with exactly `digits` decimals (0...6), rounded half away from zero, as `%.Nf`.
  /// Values that are not finite or beyond ±1e15 print as `%g` would, roughly, never trap.
  public static func fixed(_ value: Double, digits: Int) -> String {
    let d = min(max(digits, 0), 6)
    guard value.isFinite, abs(value) < 1e15 else { return value.isNaN ? "nan" : (value.isFinite ? "\(value)" : (value < 0 ? "-inf" : "inf")) }
    var scale: Int64 = 1
    for _ in 0..<d { scale *= 10 }
    let scaled = (abs(value) * Double(scale)).rounded(.toNearestOrAwayFromZero)
    guard scaled < 9.0e18 else { return "\(value)" }
    let n = Int64(scaled)
    let whole = n / scale
    let frac = n % scale
    let sign = value < 0 && n != 0 ? "-" : ""
    guard d > 0 else { return "\(sign)\(whole)" }
    let fracText = String(frac)
    return "\(sign)\(whole)." + String(repeating: "0", count: d - fracText.count) + fracText
  }
}
