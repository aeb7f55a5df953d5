import Basics
import FoundationEssentials

/// RFC 3339 UTC times as the trusted root writes them (`2021-01-12T11:53:27Z`, optional
/// fraction, `Z` or `±hh:mm`), parsed by hand: Foundation's formatters are not total on
/// hostile text.
enum RFC3339 {
  static func parse(_ text: String) -> Date? {
    let u = Array(text.utf8)
    guard u.count >= 20, u.count <= 40 else { return nil }
    func num(_ from: Int, _ len: Int) -> Int? {
      guard from >= 0, from + len <= u.count else { return nil }
      var n = 0
      for c in u[from..<(from + len)] {
        guard c >= 48, c <= 57 else { return nil }
        n = n * 10 + Int(c - 48)
      }
      return n
    }
    guard let y = num(0, 4), u[4] == 45, let mo = num(5, 2), u[7] == 45, let d = num(8, 2), u[10] == 84 || u[10] == 116,
      let h = num(11, 2), u[13] == 58, let mi = num(14, 2), u[16] == 58, let s = num(17, 2),
      (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61
    else { return nil }
    var i = 19
    var fraction = 0.0
    if i < u.count, u[i] == 46 {
      i += 1
      var scale = 0.1
      let start = i
      while i < u.count, u[i] >= 48, u[i] <= 57 {
        fraction += Double(u[i] - 48) * scale
        scale /= 10
        i += 1
      }
      guard i > start else { return nil }
    }
    guard i < u.count else { return nil }
    var offset = 0
    if u[i] == 90 || u[i] == 122 {
      guard i + 1 == u.count else { return nil }
    } else if u[i] == 43 || u[i] == 45, i + 6 == u.count, let oh = num(i + 1, 2), u[i + 3] == 58, let om = num(i + 4, 2), oh < 24, om < 60 {
      offset = (oh * 60 + om) * 60 * (u[i] == 43 ? 1 : -1)
    } else {
      return nil
    }
    // Days from the civil date (Howard Hinnant's algorithm), all in small Ints.
    let yy = mo <= 2 ? y - 1 : y
    let era = yy / 400
    let yoe = yy - era * 400
    let mp = (mo + 9) % 12
    let doy = (153 * mp + 2) / 5 + d - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    let days = era * 146097 + doe - 719468
    let seconds = days * 86400 + h * 3600 + mi * 60 + s - offset
    return Date(timeIntervalSince1970: Double(seconds) + fraction)
  }
}
