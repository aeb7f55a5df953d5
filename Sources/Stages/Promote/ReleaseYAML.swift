import ActionsCore
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

  /// YAML is read by Unicode scalar, as its grammar is written: by `Character`, a quote or a
  /// dash followed by a combining mark (or "\r\n", one Character) was no quote, dash or line end.
  typealias Text = Substring.UnicodeScalarView

  private struct Line {
    var number: Int
    var indent: Int
    var text: Text
  }

  /// The items of `images`, each as (field, value) in file order.
  static func parse(_ text: String) throws(Failure) -> [[(String, ReleaseManifest.Value)]] {
    var lines: [Line] = []
    for (i, raw) in Substring(text).unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let number = i + 1
      var s = raw
      if s.last == "\r" { s = s.dropLast() }
      let body = stripComment(s)
      let indentCount = body.prefix { $0 == " " }.count
      let content = body.dropFirst(indentCount)
      if content.first == "\t" { throw Failure(line: number, why: "tabs do not indent YAML; use spaces") }
      let trimmed = trimmingTrailingSpaces(content)
      if trimmed.isEmpty { continue }
      if equals(trimmed, "---") && lines.isEmpty { continue }
      if equals(trimmed, "---") || equals(trimmed, "...") { throw Failure(line: number, why: "one document only") }
      lines.append(Line(number: number, indent: indentCount, text: trimmed))
    }
    guard let head = lines.first else { throw Failure(line: 1, why: "the file is empty; expected `images:`") }
    guard head.indent == 0, let (key, rest) = try keyValue(head) else { throw Failure(line: head.number, why: "expected `images:` at the top level") }
    guard key == "images" else { throw Failure(line: head.number, why: "unknown top-level field '\(ReleaseManifest.clip(key))' (accepted: images)") }
    if equals(rest, "[]") { return [] }
    guard rest.isEmpty else { throw Failure(line: head.number, why: "`images:` must be followed by a list of items on the next lines (`- source: …`)") }
    var items: [[(String, ReleaseManifest.Value)]] = []
    var i = 1
    guard i < lines.count else { return [] }
    let itemIndent = lines[i].indent
    while i < lines.count {
      let line = lines[i]
      guard line.indent == itemIndent, isListItem(line.text) else {
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
        let shown = ReleaseManifest.clip(key)
        j += 1
        if rest.isEmpty {
          // A block list: `- value` lines, indented deeper than the field (or level with it).
          var values: [String] = []
          while j < pending.count, pending[j].indent >= fieldIndent, isListItem(pending[j].text) {
            if pending[j].indent == fieldIndent && equals(pending[j].text, "-") { break }
            let v = pending[j].text.dropFirst(1).drop { $0 == " " }
            if isListItem(v) && !equals(v, "-") || v.first == "[" || (try? keyValue(Line(number: pending[j].number, indent: 0, text: v))) != nil && !isQuoted(v) {
              throw Failure(line: pending[j].number, why: "\(shown): list items must be plain values (nesting is not part of the schema)")
            }
            values.append(try scalar(v, line: pending[j].number))
            guard values.count <= ReleaseManifest.maxTags else { throw Failure(line: pending[j].number, why: "\(shown): more than \(ReleaseManifest.maxTags) items") }
            j += 1
          }
          guard !values.isEmpty else { throw Failure(line: f.number, why: "\(shown) has no value") }
          fields.append((key, .list(values)))
        } else if rest.first == "[" {
          fields.append((key, .list(try flowList(rest, line: f.number))))
        } else {
          fields.append((key, .scalar(try scalar(rest, line: f.number))))
        }
      }
      items.append(fields)
    }
    return items
  }

  private static func equals(_ t: Text, _ word: String) -> Bool { t.elementsEqual(word.unicodeScalars) }

  /// `- …` or a lone `-`.
  private static func isListItem(_ t: Text) -> Bool { t.first == "-" && (t.count == 1 || t.dropFirst().first == " ") }

  /// `key: rest` (rest may be empty), or nil when the line is not a mapping entry.
  private static func keyValue(_ line: Line) throws(Failure) -> (String, Text)? {
    let t = line.text
    guard let colon = t.firstIndex(of: ":") else { return nil }
    let after = t.index(after: colon)
    guard after == t.endIndex || t[after] == " " else { return nil }
    let key = String(Substring(t[..<colon]))
    guard !key.isEmpty, t[..<colon].allSatisfy({ $0.properties.isAlphabetic || $0.properties.numericType != nil || $0 == "-" || $0 == "_" }) else {
      throw Failure(line: line.number, why: "'\(ReleaseManifest.clip(key))' is not a field name (letters, digits, - and _)")
    }
    return (key, t[after...].drop { $0 == " " })
  }

  private static func isQuoted(_ s: Text) -> Bool { s.first == "\"" || s.first == "'" }

  /// A plain, 'single' or "double" quoted scalar.
  private static func scalar(_ s: Text, line: Int) throws(Failure) -> String {
    guard let c = s.first else { return "" }
    switch c {
    case "\"", "'":
      var out = String.UnicodeScalarView()
      var i = s.index(after: s.startIndex)
      var closed = false
      while i < s.endIndex {
        let u = s[i]
        i = s.index(after: i)
        if closed { throw Failure(line: line, why: "text after a closing quote") }
        if c == "'" {
          // '' is a quote inside a single-quoted value.
          if u == "'" {
            if i < s.endIndex, s[i] == "'" {
              out.append("'")
              i = s.index(after: i)
            } else {
              closed = true
            }
          } else {
            out.append(u)
          }
        } else if u == "\\" {
          guard i < s.endIndex else { break }
          let e = s[i]
          i = s.index(after: i)
          switch e {
          case "\"", "\\", "/": out.append(e)
          case "n": out.append("\n")
          case "t": out.append("\t")
          default: throw Failure(line: line, why: "unsupported escape '\\\(UntrustedText.visible(String(e)))' (accepted: \\\" \\\\ \\/ \\n \\t)")
          }
        } else if u == "\"" {
          closed = true
        } else {
          out.append(u)
        }
      }
      guard closed else { throw Failure(line: line, why: c == "'" ? "unterminated 'quoted' value" : "unterminated \"quoted\" value") }
      return String(out)
    case "&", "*", "!", "|", ">", "{", "%", "@", "`":
      throw Failure(line: line, why: "'\(c)' starts YAML that is not part of the manifest subset (anchors, aliases, tags, block scalars, flow mappings); quote the value")
    default:
      return String(Substring(s))
    }
  }

  /// `[a, "b", 'c']`: scalars only; a quoted item may hold `,`, `[` and `]`.
  private static func flowList(_ s: Text, line: Int) throws(Failure) -> [String] {
    guard s.last == "]" else { throw Failure(line: line, why: "a flow list must end with ] on the same line") }
    let inner = s.dropFirst().dropLast()
    var items: [Text] = []
    var start = inner.startIndex
    var i = inner.startIndex
    while i < inner.endIndex {
      let u = inner[i]
      if (u == "\"" || u == "'") && inner[start..<i].allSatisfy({ $0 == " " }) {
        guard let after = afterClosingQuote(inner, opened: i) else { throw Failure(line: line, why: "unterminated quoted item in a flow list") }
        i = after
        continue
      } else if u == "[" || u == "]" || u == "{" || u == "}" {
        throw Failure(line: line, why: "nested lists and mappings are not part of the schema")
      } else if u == "," {
        items.append(inner[start..<i])
        start = inner.index(after: i)
      }
      i = inner.index(after: i)
    }
    items.append(inner[start...])
    if items.count == 1, items[0].allSatisfy({ $0 == " " }) { return [] }
    var values: [String] = []
    for part in items {
      let item = trimmingTrailingSpaces(part).drop { $0 == " " }
      if item.isEmpty { throw Failure(line: line, why: "empty item in a flow list") }
      values.append(try scalar(item, line: line))
      guard values.count <= ReleaseManifest.maxTags else { throw Failure(line: line, why: "more than \(ReleaseManifest.maxTags) items in a list") }
    }
    return values
  }

  /// The line without its comment (`#` at the start or after a space, outside quotes).
  private static func stripComment(_ s: Text) -> Text {
    var previous: Unicode.Scalar = " "
    var i = s.startIndex
    while i < s.endIndex {
      let c = s[i]
      if c == "\"" || c == "'", previous == " " || previous == "[" || previous == "," || previous == ":" || previous == "-" {
        guard let after = afterClosingQuote(s, opened: i) else { return s }
        previous = c
        i = after
        continue
      } else if c == "#", previous == " " || previous == "\t" {
        return s[..<i]
      }
      previous = c
      i = s.index(after: i)
    }
    return s
  }

  /// The index after the quote that closes the one opened at `open`, or nil when none does:
  /// `\"` inside "double" quotes and `''` inside 'single' quotes do not close them. One rule
  /// for the comment stripper and the flow list, which differ only in where a quote opens.
  private static func afterClosingQuote(_ s: Text, opened open: Text.Index) -> Text.Index? {
    let q = s[open]
    var i = s.index(after: open)
    while i < s.endIndex {
      let c = s[i]
      if q == "\"" && c == "\\" {
        i = s.index(after: i)
        guard i < s.endIndex else { return nil }
      } else if c == q {
        let next = s.index(after: i)
        guard q == "'", next < s.endIndex, s[next] == "'" else { return next }
        i = next
      }
      i = s.index(after: i)
    }
    return nil
  }

  private static func trimmingTrailingSpaces(_ t: Text) -> Text {
    var end = t.endIndex
    while end > t.startIndex, t[t.index(before: end)] == " " || t[t.index(before: end)] == "\t" { end = t.index(before: end) }
    return t[t.startIndex..<end]
  }
}
