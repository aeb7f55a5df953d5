import Basics
import FoundationEssentials

/// A Semantic Version 2.0.0 ([semver.org](https://semver.org/spec/v2.0.0.html)): parsing,
/// precedence (§11) and bumps. Build metadata is kept but ignored for precedence.
public struct SemVer: Sendable, Hashable, Comparable, CustomStringConvertible {
  public var major: Int
  public var minor: Int
  public var patch: Int
  /// Dot-separated prerelease identifiers (`rc.1` → ["rc", "1"]).
  public var prerelease: [String]
  public var build: [String]

  public init(_ major: Int, _ minor: Int, _ patch: Int, prerelease: [String] = [], build: [String] = []) {
    self.major = major
    self.minor = minor
    self.patch = patch
    self.prerelease = prerelease
    self.build = build
  }

  public var isPrerelease: Bool { !prerelease.isEmpty }

  public var description: String {
    var s = "\(major).\(minor).\(patch)"
    if !prerelease.isEmpty { s += "-" + prerelease.joined(separator: ".") }
    if !build.isEmpty { s += "+" + build.joined(separator: ".") }
    return s
  }

  /// Parses strictly. A leading `v` is accepted only when `allowPrefix` names it (`"v"`).
  /// - Throws: ``SemVerError`` naming the offending text.
  public init(parsing text: String, prefix: String = "") throws {
    var s = Substring(text.trimmingCharacters(in: .whitespaces))
    if !prefix.isEmpty, s.hasPrefix(prefix) { s = s.dropFirst(prefix.count) }
    let original = text
    var build: [String] = []
    if let plus = s.firstIndex(of: "+") {
      build = s[s.index(after: plus)...].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
      s = s[..<plus]
      guard build.allSatisfy({ !$0.isEmpty && $0.allSatisfy(Self.isIdentifierChar) }) else {
        throw SemVerError(text: original, reason: "build metadata must be non-empty [0-9A-Za-z-] identifiers")
      }
    }
    var pre: [String] = []
    if let dash = s.firstIndex(of: "-") {
      pre = s[s.index(after: dash)...].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
      s = s[..<dash]
      for id in pre {
        guard !id.isEmpty, id.allSatisfy(Self.isIdentifierChar) else {
          throw SemVerError(text: original, reason: "prerelease identifiers must be non-empty [0-9A-Za-z-]")
        }
        if id.allSatisfy({ $0.isASCIIDigit }), id.count > 1, id.hasPrefix("0") {
          throw SemVerError(text: original, reason: "numeric prerelease identifier '\(SemVerError.clip(id))' has a leading zero")
        }
      }
    }
    let core = s.split(separator: ".", omittingEmptySubsequences: false)
    guard core.count == 3 else {
      throw SemVerError(text: original, reason: "expected MAJOR.MINOR.PATCH")
    }
    var numbers: [Int] = []
    for part in core {
      guard !part.isEmpty, part.allSatisfy({ $0.isASCIIDigit }), let n = Int(part) else {
        throw SemVerError(text: original, reason: "'\(SemVerError.clip(part))' is not a number")
      }
      guard part == "0" || !part.hasPrefix("0") else {
        throw SemVerError(text: original, reason: "'\(SemVerError.clip(part))' has a leading zero")
      }
      numbers.append(n)
    }
    self.init(numbers[0], numbers[1], numbers[2], prerelease: pre, build: build)
  }

  /// Lenient parse for tags: returns nil instead of throwing.
  public static func parse(_ text: String, prefix: String = "") -> SemVer? {
    try? SemVer(parsing: text, prefix: prefix)
  }

  private static func isIdentifierChar(_ c: Character) -> Bool {
    c.isASCII && (c.isLetter || c.isNumber || c == "-")
  }

  /// §11 precedence; build metadata does not count.
  public static func < (a: SemVer, b: SemVer) -> Bool {
    if a.major != b.major { return a.major < b.major }
    if a.minor != b.minor { return a.minor < b.minor }
    if a.patch != b.patch { return a.patch < b.patch }
    switch (a.prerelease.isEmpty, b.prerelease.isEmpty) {
    case (true, true): return false
    case (true, false): return false
    case (false, true): return true
    case (false, false): break
    }
    for (x, y) in zip(a.prerelease, b.prerelease) where x != y {
      // Numeric means ASCII digits only (§11.4.1): `Int("-1")` is -1, but `-1` is an
      // alphanumeric identifier; and a 20-digit identifier is still a number, compared by
      // length first (no leading zeros) rather than given up on as text.
      switch (isNumeric(x), isNumeric(y)) {
      case (true, true): return x.count != y.count ? x.count < y.count : x < y
      case (true, false): return true
      case (false, true): return false
      case (false, false): return Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8))
      }
    }
    return a.prerelease.count < b.prerelease.count
  }

  private static func isNumeric(_ id: String) -> Bool { !id.isEmpty && id.utf8.allSatisfy { (48...57).contains($0) } }

  /// Equality is precedence equality plus identical build metadata.
  public static func == (a: SemVer, b: SemVer) -> Bool {
    a.major == b.major && a.minor == b.minor && a.patch == b.patch && a.prerelease == b.prerelease && a.build == b.build
  }

  /// The core version without prerelease or build.
  public var core: SemVer { SemVer(major, minor, patch) }
}

/// A text that is not a semantic version.
public struct SemVerError: Error, Sendable, Equatable, CustomStringConvertible {
  public var text: String
  public var reason: String
  /// The text quoted at most 64 characters long: it can be a whole file of a pull request's
  /// (a VERSION file, a manifest's value), and the error is one annotation line.
  public var description: String { "'\(Self.clip(text))' is not a semantic version (MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]): \(reason)" }

  /// `s` cut to 64 characters, with `…` when cut.
  static func clip(_ s: some StringProtocol) -> String { s.clipped(to: 64) }
}

extension Character {
  var isASCIIDigit: Bool { isASCII && isNumber }
}
