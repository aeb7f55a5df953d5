import Basics
import FoundationEssentials

/// The YAML subset a release manifest is written in (docs/promote-manifest.md): a top-level
/// `images:` holding a block list of mappings whose values are scalars (plain, 'single' or
/// "double" quoted), flow lists `[a, b]` or block lists of scalars; `#` comments. Anchors,
/// aliases, tags, block scalars, flow mappings and multiple documents are refused by name.
///
/// Why not a YAML library: Yams links Foundation (and ICU) into the static binary, which
/// issue 17 shrinks; this shape needs a hundred lines, and a strict reader gives line numbers.
enum ReleaseYAML {
  struct Failure: Error, CustomStringConvertible {
    var line: Int
    var why: String
    var description: String { "line \(line): \(why)" }
  }

  private struct Line {
    var number: Int
    var indent: Int
    var text: Substring
  }

  /// The items of `images`, each as (field, value) in file order.
  static func parse(_ text: String) throws(Failure) -> [[(String, ReleaseManifest.Value)]] {
    var lines: [Line] = []
    for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let number = i + 1
      var s = raw
      if s.hasSuffix("\r") { s = s.dropLast() }
      let body = stripComment(s)
      let indentCount = body.prefix { $0 == " " }.count
      let content = body.dropFirst(indentCount)
      if content.first == "\t" { throw Failure(line: number, why: "tabs do not indent YAML; use spaces") }
      let trimmed = content.trimmingTrailingSpaces()
      if trimmed.isEmpty { continue }
      if trimmed == "---" && lines.isEmpty { continue }
      if trimmed == "---" || trimmed == "..." { throw Failure(line: number, why: "one document only") }
      lines.append(Line(number: number, indent: indentCount, text: trimmed))
    }
    guard let head = lines.first else { throw Failure(line: 1, why: "the file is empty; expected `images:`") }
    guard head.indent == 0, let (key, rest) = try keyValue(head) else { throw Failure(line: head.number, why: "expected `images:` at the top level") }
    guard key == "images" else { throw Failure(line: head.number, why: "unknown top-level field '\(ReleaseManifest.clip(key))' (accepted: images)") }
    if rest == "[]" { return [] }
    guard rest.isEmpty else { throw Failure(line: head.number, why: "`images:` must be followed by a list of items on the next lines (`- source: …`)") }
    var items: [[(String, ReleaseManifest.Value)]] = []
    var i = 1
    guard i < lines.count else { return [] }
    let itemIndent = lines[i].indent
    while i < lines.count {
      let line = lines[i]
      guard line.indent == itemIndent, line.text.hasPrefix("- ") || line.text == "-" else {
        throw Failure(line: line.number, why: line.indent == 0 ? "only `images` is accepted at the top level" : "expected a list item `- source: …` at column \(itemIndent + 1)")
      }
      guard items.count < ReleaseManifest.maxImages else { throw Failure(line: line.number, why: "more than \(ReleaseManifest.maxImages) images") }
      // The item's first field shares the dash's line; the rest line up with it.
      let afterDash = line.text.dropFirst(1).drop { $0 == " " }
      let fieldIndent = line.indent + (line.text.count - afterDash.count)
      var fields: [(String, ReleaseManifest.Value)] = []
      var pending: [Line] = afterDash.isEmpty ? [] : [Line(number: line.number, indent: fieldIndent, text: afterDash)]
      i += 1
      while i < lines.count, lines[i].indent > itemIndent {
        pending.append(lines[i])
        i += 1
      }
      var j = 0
      while j < pending.count {
        let f = pending[j]
        guard f.indent == fieldIndent else { throw Failure(line: f.number, why: "fields of an item must line up at column \(fieldIndent + 1)") }
        guard let (key, rest) = try keyValue(f) else { throw Failure(line: f.number, why: "expected `field: value`") }
        j += 1
        if rest.isEmpty {
          // A block list: `- value` lines, indented deeper than the field (or level with it).
          var values: [String] = []
          while j < pending.count, pending[j].indent >= fieldIndent, pending[j].text.hasPrefix("- ") || pending[j].text == "-" {
            if pending[j].indent == fieldIndent && pending[j].text == "-" { break }
            let v = pending[j].text.dropFirst(1).drop { $0 == " " }
            if v.hasPrefix("- ") || v.hasPrefix("[") || (try? keyValue(Line(number: pending[j].number, indent: 0, text: v))) != nil && !isQuoted(v) {
              throw Failure(line: pending[j].number, why: "\(key): list items must be plain values (nesting is not part of the schema)")
            }
            values.append(try scalar(v, line: pending[j].number))
            guard values.count <= ReleaseManifest.maxTags else { throw Failure(line: pending[j].number, why: "\(key): more than \(ReleaseManifest.maxTags) items") }
            j += 1
          }
          guard !values.isEmpty else { throw Failure(line: f.number, why: "\(key) has no value") }
          fields.append((key, .list(values)))
        } else if rest.hasPrefix("[") {
          fields.append((key, .list(try flowList(rest, line: f.number))))
        } else {
          fields.append((key, .scalar(try scalar(rest, line: f.number))))
        }
      }
      items.append(fields)
    }
    return items
  }

  /// `key: rest` (rest may be empty), or nil when the line is not a mapping entry.
  private static func keyValue(_ line: Line) throws(Failure) -> (String, Substring)? {
    let t = line.text
    guard let colon = t.firstIndex(where: { $0 == ":" }) else { return nil }
    let after = t.index(after: colon)
    guard after == t.endIndex || t[after] == " " else { return nil }
    let key = String(t[..<colon])
    guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
      throw Failure(line: line.number, why: "'\(ReleaseManifest.clip(key))' is not a field name (letters, digits, - and _)")
    }
    return (key, t[after...].drop { $0 == " " })
  }

  private static func isQuoted(_ s: Substring) -> Bool { s.hasPrefix("\"") || s.hasPrefix("'") }

  /// A plain, 'single' or "double" quoted scalar.
  private static func scalar(_ s: Substring, line: Int) throws(Failure) -> String {
    guard let c = s.first else { return "" }
    switch c {
    case "\"":
      var out = ""
      var escaped = false
      var closed = false
      for ch in s.dropFirst() {
        if closed { throw Failure(line: line, why: "text after a closing quote") }
        if escaped {
          switch ch {
          case "\"", "\\", "/": out.append(ch)
          case "n": out.append("\n")
          case "t": out.append("\t")
          default: throw Failure(line: line, why: "unsupported escape \\\(ch) (accepted: \\\" \\\\ \\/ \\n \\t)")
          }
          escaped = false
        } else if ch == "\\" {
          escaped = true
        } else if ch == "\"" {
          closed = true
        } else {
          out.append(ch)
        }
      }
      guard closed else { throw Failure(line: line, why: "unterminated \"quoted\" value") }
      return out
    case "'":
      let body = s.dropFirst()
      guard body.hasSuffix("'") else { throw Failure(line: line, why: "unterminated 'quoted' value") }
      return String(body.dropLast()).replacingOccurrences(of: "''", with: "'")
    case "&", "*", "!", "|", ">", "{", "%", "@", "`":
      throw Failure(line: line, why: "'\(c)' starts YAML that is not part of the manifest subset (anchors, aliases, tags, block scalars, flow mappings); quote the value")
    default:
      return String(s)
    }
  }

  /// `[a, "b", 'c']`: scalars only.
  private static func flowList(_ s: Substring, line: Int) throws(Failure) -> [String] {
    guard s.hasSuffix("]") else { throw Failure(line: line, why: "a flow list must end with ] on the same line") }
    let inner = s.dropFirst().dropLast()
    if inner.contains("[") || inner.contains("{") { throw Failure(line: line, why: "nested lists and mappings are not part of the schema") }
    var values: [String] = []
    for part in inner.split(separator: ",", omittingEmptySubsequences: false) {
      let item = part.trimmingTrailingSpaces().drop { $0 == " " }
      if item.isEmpty {
        if inner.allSatisfy({ $0 == " " }) { break }
        throw Failure(line: line, why: "empty item in a flow list")
      }
      values.append(try scalar(item, line: line))
      guard values.count <= ReleaseManifest.maxTags else { throw Failure(line: line, why: "more than \(ReleaseManifest.maxTags) items in a list") }
    }
    return values
  }

  /// The line without its comment (`#` at the start or after a space, outside quotes).
  private static func stripComment(_ s: Substring) -> Substring {
    var quote: Character?
    var previous: Character = " "
    for i in s.indices {
      let c = s[i]
      if let q = quote {
        if c == q { quote = nil }
      } else if c == "\"" || c == "'" {
        if previous == " " || previous == "[" || previous == "," || previous == ":" || previous == "-" { quote = c }
      } else if c == "#", previous == " " || previous == "\t" {
        return s[..<i]
      }
      previous = c
    }
    return s
  }
}

extension Substring {
  fileprivate func trimmingTrailingSpaces() -> Substring {
    var end = endIndex
    while end > startIndex, self[index(before: end)] == " " || self[index(before: end)] == "\t" { end = index(before: end) }
    return self[startIndex..<end]
  }
}
