import Basics
import FoundationEssentials
import TOMLKit

/// Reads a project's version from its manifest file.
public enum ManifestFiles {
  /// Files `source: auto` looks for, in this order.
  public static let known = ["pyproject.toml", "package.json", "Cargo.toml", "Chart.yaml", "pom.xml", "gradle.properties", "VERSION"]

  /// The largest manifest file read. A manifest is repository contents, which a pull request
  /// controls; the largest real ones (a workspace's Cargo.toml, a big pom.xml) are a few hundred KiB.
  public static let maxBytes = 1 << 20

  /// The first known manifest file in `directory` that carries a version, or that cannot be
  /// read: only a file that is well formed and holds no version (a pyproject.toml whose
  /// version is dynamic) is passed over. A broken one is the answer, so reading it names what
  /// is wrong; passing over a package.json npm reads (a `version` given twice) would silently
  /// take the next file's version, another than the ecosystem's own tool.
  /// `checkout`: see ``read(_:pattern:checkout:)``.
  public static func find(in directory: String, checkout: String? = nil) -> String? {
    known.map { "\(directory)/\($0)" }.first { path in
      guard Files.kind(atPath: path) != nil else { return false }
      do { _ = try read(path, checkout: checkout) } catch let e as VersionSourceError { return !e.noVersion } catch { return true }
      return true
    }
  }

  /// The bytes of a manifest: a regular file of at most ``maxBytes``. The checkout is a pull
  /// request's: `VERSION -> /proc/self/environ` (or any file of the runner's) would be read
  /// and quoted back in the error saying it is no version. So a path in `checkout` is read
  /// only where it resolves, links and all, to a file in the checkout and outside `.git`
  /// (actions/checkout keeps the job's token in `.git/config`): a monorepo's
  /// `VERSION -> ../VERSION` is read. A path elsewhere (the user's own `file`) is read as
  /// given, but not through a final link; so is every path when no checkout is known.
  static func contents(_ path: String, checkout: String? = nil) throws -> Data {
    let path = try resolved(path, checkout: checkout)
    switch Files.kind(atPath: path) {
    case nil: throw VersionSourceError("\(path.clipped(to: 200)) does not exist")
    case .regular: break
    case .symbolicLink: throw VersionSourceError("\(path.clipped(to: 200)) is a symbolic link; Gantry reads only a regular file in the checkout (a link could lead outside it)")
    default: throw VersionSourceError("\(path.clipped(to: 200)) is not a regular file")
    }
    guard let bytes = Files.readPrefix(path, limit: maxBytes + 1) else { throw VersionSourceError("cannot read \(path.clipped(to: 200))") }
    guard bytes.count <= maxBytes else { throw VersionSourceError("\(path.clipped(to: 200)) is larger than \(maxBytes >> 20) MiB; no manifest file is") }
    return Data(bytes)
  }

  /// Where a path in `checkout` leads, when that is a file of the checkout outside `.git`.
  static func resolved(_ path: String, checkout: String?) throws -> String {
    switch Files.inCheckout(path, checkout: checkout) {
    case .file(let real): return real
    case .missing: throw VersionSourceError("\(path.clipped(to: 200)) does not exist")
    case .escapes(let finalLink):
      let how = finalLink ? "is a symbolic link leading" : "leads, through a symbolic link,"
      throw VersionSourceError("\(path.clipped(to: 200)) \(how) outside the checkout, into its .git or to nothing; Gantry reads only files of the checkout")
    }
  }

  /// The version text in `path`; with `pattern`, the first capture group of that regex.
  /// `checkout`: the repository's checkout (the workspace), within which links are followed.
  /// - Throws: ``VersionSourceError`` saying what was missing.
  public static func read(_ path: String, pattern: String? = nil, checkout: String? = nil) throws -> String {
    let real = try resolved(path, checkout: checkout)
    let name = path.lastPathComponent
    // Read once, where it is parsed: the child checks the file as ``contents(_:checkout:)`` does.
    if pattern == nil, isolatedNames.contains(name), let command = childCommand { return try versionInChild(real, named: name, command: command) }
    return try version(in: contents(real), named: name, pattern: pattern)
  }

  /// The version text in `data`, the contents of a manifest file called `name` (its format
  /// follows from the name: pyproject.toml, package.json, …; any other is a VERSION file);
  /// with `pattern`, the first capture group of that regex.
  /// - Throws: ``VersionSourceError`` saying what was missing or refused.
  public static func version(in data: Data, named name: String, pattern: String? = nil) throws -> String {
    // A byte order mark, which some editors write, is skipped as Helm's YAML reader and a
    // person reading VERSION skip it; otherwise `\u{FEFF}version: 1.2.3` had no top-level
    // version (auto took the next file's) and a VERSION quoted an invisible character.
    // gradle.properties keeps it: java.util.Properties reads it as part of the first key.
    let bom = name != "gradle.properties" && data.starts(with: [0xEF, 0xBB, 0xBF])
    let text = String(decoding: bom ? data.dropFirst(3) : data[...], as: UTF8.self)
    if let pattern {
      guard let re = try? Regex(pattern) else {
        throw VersionSourceError("'\(pattern.clipped(to: 100))' is not a valid regular expression")
      }
      guard let m = text.firstMatch(of: re.anchorsMatchLineEndings()), m.output.count > 1, let group = m.output[1].substring else {
        throw VersionSourceError("\(name): pattern '\(pattern.clipped(to: 100))' did not match (it needs one capture group around the version)")
      }
      return String(group)
    }
    switch name {
    case "pyproject.toml":
      let table = try toml(data, name)
      // A version that is there but no string (`version = 1`) is refused, as pip and poetry
      // refuse it, not passed over for the next file's.
      for (value, key) in [(table["project"]?["version"], "[project].version"), (table["tool"]?["poetry"]?["version"], "[tool.poetry].version")] {
        guard let value else { continue }
        guard let v = value.string else { throw VersionSourceError("pyproject.toml's \(key) is not a string") }
        return v
      }
      throw VersionSourceError("pyproject.toml has neither [project].version nor [tool.poetry].version", noVersion: true)
    case "Cargo.toml":
      let table = try toml(data, name)
      // As cargo: a package's own version, or the workspace's only when the package says
      // `version.workspace = true` (or the file is a virtual workspace without [package]).
      // A [package] without version is 0.0.0 to cargo, never the workspace's version.
      let package = table["package"]
      let own = package?["version"]
      if let v = own?.string { return v }
      let inherits = own?["workspace"]?.bool == true
      if own != nil, !inherits { throw VersionSourceError("Cargo.toml's [package].version is neither a string nor { workspace = true }") }
      if package == nil || inherits, let v = table["workspace"]?["package"]?["version"]?.string { return v }
      // Inherited from a workspace root elsewhere: cargo reads that file, so must Gantry.
      if inherits { throw VersionSourceError("Cargo.toml takes its version from the workspace (version.workspace = true): set file to the workspace root's Cargo.toml") }
      throw VersionSourceError("Cargo.toml has no [package].version", noVersion: true)
    case "package.json":
      return try packageJSON(data)
    case "Chart.yaml":
      return try chartYAML(text)
    case "gradle.properties":
      return try gradleProperties(text)
    case "pom.xml":
      return try pomVersion(data)
    default:
      let v = text.trimmingCharacters(in: .whitespacesAndNewlines)
      guard !v.isEmpty else { throw VersionSourceError("\(name) is empty") }
      return v
    }
  }

  /// package.json's `version`. Gantry's JSON reader refuses a member given twice, where npm's
  /// `JSON.parse` takes the last: refused with the reason, never read as "no version" (which
  /// `source: auto` would pass over for the next file's version).
  static func packageJSON(_ data: Data) throws -> String {
    // npm strips a leading byte order mark (some editors write one); so does Gantry.
    let body = data.starts(with: [0xEF, 0xBB, 0xBF]) ? data.dropFirst(3) : data[...]
    let document: JSONValue
    do { document = try JSONValue.parse(bytes: body) } catch {
      let twice = error.why.hasPrefix("duplicate member") ? " (npm would take the last one: keep one)" : ""
      throw VersionSourceError("package.json is not JSON Gantry reads: \(error.description)\(twice)")
    }
    guard let value = document["version"] else { throw VersionSourceError("package.json has no \"version\"", noVersion: true) }
    guard let v = value.string else { throw VersionSourceError("package.json's \"version\" is not a string (npm refuses it)") }
    return v
  }

  /// Chart.yaml's top-level `version:`. Helm's YAML reader takes the last of a key given
  /// twice; a regex takes the first: a second `version:` is refused. The value is the whole
  /// scalar on the line (without a comment or quotes), so `version: 1.2.3 extra`, which Helm
  /// reads as one string, is no version here either.
  static func chartYAML(_ text: String) throws -> String {
    var found: [Substring] = []
    for line in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
      guard let m = line.prefixMatch(of: #/(?:version|"version"|'version')[ \t]*:(?:[ \t]|$)/#) else { continue }
      found.append(line[m.range.upperBound...])
    }
    guard let raw = found.first else { throw VersionSourceError("Chart.yaml has no top-level version:", noVersion: true) }
    guard found.count == 1 else {
      throw VersionSourceError("Chart.yaml has \(found.count) top-level version: lines (Helm would take the last one: keep one)")
    }
    var value = Substring(raw)
    if let comment = value.firstRange(of: #/(^|[ \t])#/#) { value = value[..<comment.lowerBound] }
    value = value.drop { $0 == " " || $0 == "\t" }
    while let last = value.last, last == " " || last == "\t" { value = value.dropLast() }
    if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q { value = value.dropFirst().dropLast() }
    guard !value.isEmpty else { throw VersionSourceError("Chart.yaml's version: has no value on its line") }
    return String(value)
  }

  /// gradle.properties' `version`, read as `java.util.Properties` reads it (Gradle does):
  /// `#`/`!` comments, `=`, `:` or blanks between key and value, backslash continuations and
  /// escapes in the key. Properties keeps the last of a key given twice; a second `version`
  /// is refused rather than guessed at.
  static func gradleProperties(_ text: String) throws -> String {
    var values: [String] = []
    var logical = ""
    for line in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
      // Leading blanks go, on a continuation line too.
      let piece = line.drop { $0 == " " || $0 == "\t" || $0 == "\u{0C}" }
      if logical.isEmpty, piece.first == "#" || piece.first == "!" || piece.isEmpty { continue }
      let trailing = piece.reversed().prefix { $0 == "\\" }.count
      if trailing % 2 == 1 {
        logical += piece.dropLast()
        continue
      }
      logical += piece
      defer { logical = "" }
      let (key, value) = propertiesPair(logical)
      if key == "version" { values.append(value) }
    }
    guard let v = values.first else { throw VersionSourceError("gradle.properties has no version=", noVersion: true) }
    guard values.count == 1 else { throw VersionSourceError("gradle.properties sets version \(values.count) times (Gradle would take the last one: keep one)") }
    guard !v.isEmpty else { throw VersionSourceError("gradle.properties' version= is empty") }
    return v
  }

  /// A Properties line's key (unescaped) and value (as written, trimmed).
  static func propertiesPair(_ line: String) -> (String, String) {
    var key = ""
    var rest = Substring(line)
    while let c = rest.first {
      if c == "=" || c == ":" || c == " " || c == "\t" || c == "\u{0C}" { break }
      rest = rest.dropFirst()
      guard c == "\\", let e = rest.first else {
        key.append(c)
        continue
      }
      rest = rest.dropFirst()
      switch e {
      case "t": key.append("\t")
      case "n": key.append("\n")
      case "r": key.append("\r")
      case "f": key.append("\u{0C}")
      case "u":
        let hex = rest.prefix(4)
        if hex.count == 4, let n = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(n) {
          key.unicodeScalars.append(scalar)
          rest = rest.dropFirst(4)
        } else {
          key.append("u")
        }
      default: key.append(e)
      }
    }
    rest = rest.drop { $0 == " " || $0 == "\t" || $0 == "\u{0C}" }
    if rest.first == "=" || rest.first == ":" { rest = rest.dropFirst() }
    let value = rest.trimmingCharacters(in: .whitespaces)
    return (key, value)
  }

  /// Most dots outside strings and comments in a TOML file Gantry reads. Each dotted-key or
  /// table-header part is a level of nesting, and toml++ walks the tree it builds recursively:
  /// a 100 KB header `[a.a.a….a]` of 50,000 parts overflowed the stack (SIGSEGV). Nesting is
  /// at most this plus toml++'s own 256 for inline arrays and tables; real manifests use a few
  /// hundred dots.
  static let maxTOMLDots = 4096

  private static func toml(_ data: Data, _ name: String) throws -> TOMLTable {
    // TOML is UTF-8 without NUL (cargo and pip refuse both). TOMLKit hands toml++ a C
    // string, so a NUL ended the document there: `version = "1.0.0"` then NUL and anything
    // was read as 1.0.0 from a file both tools refuse.
    guard let text = String(validating: data, as: UTF8.self) else { throw VersionSourceError("\(name) is not UTF-8 text") }
    guard !data.contains(0) else { throw VersionSourceError("\(name) holds a NUL byte, which TOML does not allow") }
    // A `\u0000` escape is a NUL in the value, and TOMLKit reads values as C strings too:
    // `version = "1.0.0\u0000x"` (no version to cargo) read as 1.0.0.
    guard text.firstRange(of: #/\\(u0000|U00000000)/#) == nil else { throw VersionSourceError("\(name) holds a \\u0000 escape (a NUL), which Gantry does not read") }
    let shape = tomlShape(text)
    guard shape.dots <= maxTOMLDots else {
      throw VersionSourceError("\(name) has more than \(maxTOMLDots) dotted key parts outside strings; refused (a TOML file nested that deep crashes the TOML reader)")
    }
    if let line = shape.badHeaderLine { throw VersionSourceError("\(name) is not valid TOML: the table header on line \(line) does not start with a key") }
    do { return try TOMLTable(string: text) } catch { throw VersionSourceError("\(name) is not valid TOML: \(error)") }
  }

  /// What the TOML pre-check found, in one linear pass outside strings (basic, literal,
  /// multi-line) and comments: the dots, and the first line whose table header does not
  /// start with a key.
  struct TOMLShape {
    var dots = 0
    var badHeaderLine: Int?
  }

  /// toml++ 3.4.0 parses a table header's key without checking its first character
  /// (`[ (`, `[` then a line end): an assertion aborts the process (SIGABRT; with NDEBUG
  /// it would be undefined behaviour). Such a header is found here first. toml++ skips a
  /// leading byte-order mark, so a header after one is at a line start too (a BOM then ` [.`
  /// aborted it past this check); so is a `[` after any non-ASCII byte outside strings, which
  /// toml++ may take as whitespace and TOML 1.0 allows nowhere there.
  static func tomlShape(_ text: String) -> TOMLShape {
    let b = Array(text.utf8)
    let quote = UInt8(ascii: "\""), apostrophe = UInt8(ascii: "'"), newline = UInt8(ascii: "\n"), backslash = UInt8(ascii: "\\")
    func triple(_ i: Int, _ q: UInt8) -> Bool { i + 2 < b.count && b[i] == q && b[i + 1] == q && b[i + 2] == q }
    func startsKey(_ c: UInt8) -> Bool {
      (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-") || c == quote || c == apostrophe
        || c == UInt8(ascii: "]")
    }
    var shape = TOMLShape()
    var line = 1
    var lineStart = true
    var brackets = 0  // open `[` of headers and array values
    var i = b.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
    while i < b.count {
      let c = b[i]
      if c == UInt8(ascii: "#") {
        while i < b.count, b[i] != newline { i += 1 }
        continue
      } else if c == quote || c == apostrophe {
        lineStart = false
        let multi = triple(i, c)
        i += multi ? 3 : 1
        // To the closing quote(s); a one-line string also ends at its line's end.
        while i < b.count {
          if c == quote, b[i] == backslash {
            if i + 1 < b.count, b[i + 1] == newline { line += 1 }
            i += 2
            continue
          }
          if multi ? triple(i, c) : (b[i] == c || b[i] == newline) { break }
          if b[i] == newline { line += 1 }
          i += 1
        }
        if i < b.count, b[i] == newline { line += 1; lineStart = true }
        i += multi ? 3 : 1
        continue
      }
      switch c {
      case newline:
        line += 1
        lineStart = true
      case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), 0x80...0xFF: break
      case UInt8(ascii: "["):
        if lineStart, brackets == 0, shape.badHeaderLine == nil {
          var j = i + 1
          if j < b.count, b[j] == UInt8(ascii: "[") { j += 1 }
          while j < b.count, b[j] == UInt8(ascii: " ") || b[j] == UInt8(ascii: "\t") { j += 1 }
          if j < b.count, !startsKey(b[j]) { shape.badHeaderLine = line }
        }
        brackets += 1
        lineStart = false
      case UInt8(ascii: "]"):
        brackets = max(0, brackets - 1)
        lineStart = false
      case UInt8(ascii: "."):
        shape.dots += 1
        lineStart = false
      default: lineStart = false
      }
      i += 1
    }
    return shape
  }

  /// pom.xml's own `<version>`: the child of the root `<project>`, not the parent's, a
  /// dependency's or a plugin's, found in one pass over the tags. Comments, CDATA, processing
  /// instructions and the DOCTYPE are skipped as Maven's parser skips them: a commented-out
  /// `<!-- <version>0.0.1</version> -->` was read by the regexes this replaces, whose lazy
  /// `<parent>[\s\S]*?</parent>` also took quadratic time (3,000 unclosed `<parent>`, 24 KB,
  /// ran 25 s). Maven refuses a duplicated tag; so does Gantry. Without a version of its
  /// own, a project has its `<parent>`'s, as Maven gives it (passing it over would take the
  /// next file's version).
  static func pomVersion(_ data: Data) throws -> String {
    let b = Array(data)
    func at(_ i: Int, _ s: StaticString) -> Bool {
      s.withUTF8Buffer { w in b.count - i >= w.count && w.indices.allSatisfy { b[i + $0] == w[$0] } }
    }
    /// The index just after the first `end` from `i`, or the end of the file.
    func after(_ i: Int, _ end: StaticString) -> Int {
      var j = i
      while j < b.count, !at(j, end) { j += 1 }
      return min(b.count, j + end.utf8CodeUnitCount)
    }
    func isNameByte(_ c: UInt8) -> Bool { !(c == UInt8(ascii: ">") || c == UInt8(ascii: "/") || c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D) }
    var depth = 0
    var text: [UInt8]? = nil  // collecting the project's (or its parent's) <version> when non-nil
    var found: [String] = []
    var inParent = false
    var parentVersion: String?
    var i = 0
    while i < b.count {
      guard b[i] == UInt8(ascii: "<") else {
        text?.append(b[i])
        i += 1
        continue
      }
      if at(i, "<!--") {
        i = after(i + 4, "-->")
      } else if at(i, "<![CDATA[") {
        let end = after(i + 9, "]]>")
        text?.append(contentsOf: b[(i + 9)..<max(i + 9, end - 3)])
        i = end
      } else if at(i, "<?") {
        i = after(i + 2, "?>")
      } else if at(i, "<!") {
        // A DOCTYPE, whose internal subset `[…]` may hold `>`.
        var j = i + 2
        var bracket = false
        while j < b.count, bracket || b[j] != UInt8(ascii: ">") {
          if b[j] == UInt8(ascii: "[") { bracket = true } else if b[j] == UInt8(ascii: "]") { bracket = false }
          j += 1
        }
        i = j + 1
      } else {
        let closing = at(i, "</")
        var j = i + (closing ? 2 : 1)
        let nameStart = j
        while j < b.count, isNameByte(b[j]) { j += 1 }
        let isVersion = b[nameStart..<j].elementsEqual("version".utf8)
        let isParent = b[nameStart..<j].elementsEqual("parent".utf8)
        // To the tag's `>`, past quoted attribute values (which may hold `>`).
        var quote: UInt8? = nil
        while j < b.count, quote != nil || b[j] != UInt8(ascii: ">") {
          if let q = quote { if b[j] == q { quote = nil } } else if b[j] == UInt8(ascii: "\"") || b[j] == UInt8(ascii: "'") { quote = b[j] }
          j += 1
        }
        let selfClosing = !closing && j > i && b[j - 1] == UInt8(ascii: "/")
        i = j + 1
        if closing {
          if depth == 2, isVersion, let t = text {
            found.append(String(decoding: t, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
            text = nil
          } else if depth == 3, inParent, isVersion, let t = text {
            parentVersion = String(decoding: t, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            text = nil
          } else if depth == 2, isParent {
            inParent = false
          }
          depth -= 1
        } else if selfClosing {
          if depth == 1, isVersion { found.append("") }
        } else {
          depth += 1
          if depth == 2, isVersion { text = [] }
          if depth == 2, isParent { inParent = true }
          if depth == 3, inParent, isVersion { text = [] }
        }
      }
    }
    guard let version = found.first ?? parentVersion else { throw VersionSourceError("pom.xml has no project <version>", noVersion: true) }
    guard found.count <= 1 else { throw VersionSourceError("pom.xml has \(found.count) project <version> elements (Maven refuses a duplicated tag: keep one)") }
    guard !version.isEmpty else { throw VersionSourceError("pom.xml's project <version> is empty") }
    return version
  }
}

/// A version source that cannot answer.
public struct VersionSourceError: Error, Sendable, Equatable, CustomStringConvertible {
  public var description: String
  /// The file is well formed but holds no version (`source: auto` passes over it); false when
  /// it cannot be read or is refused.
  public var noVersion: Bool
  public init(_ d: String, noVersion: Bool = false) {
    description = d
    self.noVersion = noVersion
  }
  public static func == (a: Self, b: Self) -> Bool { a.description == b.description }
}
