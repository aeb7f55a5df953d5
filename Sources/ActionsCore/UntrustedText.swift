import Basics

/// The one way text that Gantry did not write (registry and service answers, repository
/// contents, history records, inputs) reaches stdout. The runner executes any stdout line that
/// starts with `::` (after leading blanks) and any `##[command]` within a line, and a
/// terminal obeys escape sequences: this makes such text inert but still readable.
public enum UntrustedText {
  /// Control characters (C0 but tab, DEL, C1, the Unicode line and paragraph separators, and
  /// bidi controls) written as visible `\xNN` / `\u{NNNN}` escapes: ESC and BEL reach no terminal, and
  /// nothing but LF can start a new line.
  public static func visible(_ s: String) -> String {
    guard s.unicodeScalars.contains(where: isControl) else { return s }
    var out = String.UnicodeScalarView()
    for scalar in s.unicodeScalars {
      if isControl(scalar) {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        let escaped = scalar.value <= 0xFF ? "\\x" + (hex.count < 2 ? "0" + hex : hex) : "\\u{\(hex)}"
        out.append(contentsOf: escaped.unicodeScalars)
      } else {
        out.append(scalar)
      }
    }
    return String(out)
  }

  /// One inert log line: CR and LF written `%0D` and `%0A` (as actions/toolkit escapes
  /// command data), other control characters made visible, a leading `::` written `%3A:` and
  /// `##[` written `##%5B`, so the runner reads no command in it. A `%` stays as it is: the
  /// runner decodes command data only, so `%25` in a plain line would reach the reader as is.
  public static func line(_ s: String) -> String {
    var t = s
    if t.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" }) {
      t = t.replacingOccurrences(of: "\r", with: "%0D").replacingOccurrences(of: "\n", with: "%0A")
    }
    t = visible(t)
    if t.contains("##[") { t = t.replacingOccurrences(of: "##[", with: "##%5B") }
    let blanks = t.prefix { $0 == " " || $0 == "\t" }
    if t.dropFirst(blanks.count).hasPrefix("::") {
      t = String(blanks) + "%3A" + t.dropFirst(blanks.count + 1)
    }
    return t
  }

  /// Whether `s` holds no line break or other control character (a value safe in one line).
  /// Bidi controls may be in it: an input in a right-to-left script needs its marks.
  public static func isSingleLine(_ s: String) -> Bool { !s.unicodeScalars.contains(where: isLineControl) }

  /// C0 but tab, DEL, C1 (NEL among them), U+2028 and U+2029, and the bidirectional
  /// formatting characters (ALM, LRM, RLM, LRE…RLO, LRI…PDI): these reorder how the rest of a
  /// line shows, so a registry's tag `1.2.3<RLO>gnp.exe` read `1.2.3exe.png` in the log and
  /// the summary (CVE-2021-42574, "Trojan Source"). Joiners (ZWJ, ZWNJ) stay: scripts and
  /// emoji need them.
  static func isControl(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true
    default: isLineControl(scalar)
    }
  }

  /// C0 but tab, DEL, C1, U+2028 and U+2029: what can break a line or reach a terminal.
  static func isLineControl(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x09: false
    case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029: true
    default: false
    }
  }
}
