/// The few string operations Gantry used from Foundation's `NSString` API, with the same
/// meaning, written on the standard library: importing them from Foundation links all of it
/// (ICU data included, 34 MB of a 67 MB static binary; issue 17). Call sites keep Foundation's
/// names so they read as before.

/// A set of characters for ``Swift/StringProtocol/trimmingCharacters(in:)``.
public struct CharacterSet: Sendable {
  let contains: @Sendable (Unicode.Scalar) -> Bool
  public init(_ contains: @escaping @Sendable (Unicode.Scalar) -> Bool) { self.contains = contains }

  /// Spaces and tabs (Unicode general category Zs, and U+0009), as Foundation's `.whitespaces`.
  public static let whitespaces = CharacterSet { $0 == "\t" || $0.properties.generalCategory == .spaceSeparator }
  /// ``whitespaces`` plus line ends (U+000A–U+000D, U+0085, U+2028, U+2029).
  public static let whitespacesAndNewlines = CharacterSet {
    $0 == "\t" || $0.properties.generalCategory == .spaceSeparator || (0x0A...0x0D).contains($0.value) || $0.value == 0x85 || $0.value == 0x2028 || $0.value == 0x2029
  }
}

extension StringProtocol {
  /// At most `limit` Unicode scalars, `…` appended when cut: how a message quotes text a
  /// server or a file chose. Scalars, not `Character`s: one character of a base and a million
  /// combining marks would pass a cut by characters whole.
  public func clipped(to limit: Int) -> String {
    guard unicodeScalars.count > limit else { return String(self) }
    var out = String.UnicodeScalarView()
    out.append(contentsOf: unicodeScalars.prefix(Swift.max(0, limit)))
    return String(out) + "…"
  }

  /// Whether every character is an ASCII hex digit (`0-9a-fA-F`): commit SHAs and digests.
  /// `Character.isHexDigit` alone also takes fullwidth digits and letters (`０`, `ａ`).
  public var isASCIIHex: Bool { utf8.allSatisfy { (0x30...0x39).contains($0) || (0x41...0x46).contains($0) || (0x61...0x66).contains($0) } }

  /// The text without leading and trailing characters of `set` (by Unicode scalar).
  public func trimmingCharacters(in set: CharacterSet) -> String {
    let scalars = unicodeScalars
    guard let first = scalars.firstIndex(where: { !set.contains($0) }) else { return "" }
    guard let last = scalars.lastIndex(where: { !set.contains($0) }) else { return "" }
    var out = String.UnicodeScalarView()
    out.append(contentsOf: scalars[first...last])
    return String(out)
  }

  /// Every occurrence of `target` replaced by `replacement` (literal text; empty target:
  /// unchanged). Matched byte-wise, as Foundation matches code units, not `Character`s: the
  /// `\r` of a `\r\n` pair is found (the standard library's `replacing` sees one grapheme).
  public func replacingOccurrences(of target: String, with replacement: String) -> String {
    let source = Array(utf8)
    let needle = Array(target.utf8)
    guard !needle.isEmpty, source.count >= needle.count else { return String(self) }
    let with = Array(replacement.utf8)
    var out: [UInt8] = []
    out.reserveCapacity(source.count)
    var i = 0
    while i < source.count {
      if source[i] == needle[0], i + needle.count <= source.count, source[i..<(i + needle.count)].elementsEqual(needle) {
        out.append(contentsOf: with)
        i += needle.count
      } else {
        out.append(source[i])
        i += 1
      }
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// The text cut or padded with `pad` to `length` characters (Foundation's padding, with
  /// `startingAt: 0` only).
  public func padding(toLength length: Int, withPad pad: String, startingAt: Int) -> String {
    let s = String(self)
    if s.count >= length { return String(s.prefix(Swift.max(0, length))) }
    guard !pad.isEmpty else { return s }
    var out = s
    var padIterator = pad.makeIterator()
    while out.count < length {
      if let c = padIterator.next() { out.append(c) } else { padIterator = pad.makeIterator() }
    }
    return out
  }

  /// The last component of a `/` path, as `NSString.lastPathComponent` (trailing slashes ignored).
  public var lastPathComponent: String {
    let trimmed = String(self).reversed().drop { $0 == "/" }
    let name = trimmed.prefix { $0 != "/" }
    return name.isEmpty ? (String(self).hasPrefix("/") ? "/" : "") : String(name.reversed())
  }
}

extension Array where Element == String {
  /// The first `shown` items joined with `separator`, then "and N more" when there are more
  /// (with `more` after it): a list a remote party sizes stays one short line.
  public func joinedFirst(_ shown: Int, separator: String, more: String = "") -> String {
    let head = prefix(shown).joined(separator: separator)
    return count > shown ? "\(head)\(separator)and \(count - shown) more\(more)" : head
  }
}
