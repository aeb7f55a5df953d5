import Basics

/// A job summary in GitHub-flavoured markdown
/// ([adding a job summary](https://docs.github.com/en/actions/reference/workflow-commands-for-github-actions#adding-a-job-summary)).
/// Untrusted text (commit messages, tags, registry errors) goes through ``Markdown/text(_:)``
/// or the cell/code helpers, which escape it; only `raw` takes markdown as is.
public struct StepSummary: Sendable, Equatable {
  public private(set) var blocks: [String] = []
  /// The indices of the blocks that are tables: a table over the limit is cut between rows.
  private var tables: Set<Int> = []

  /// The runner's limit per step: 1 MiB.
  public static let byteLimit = 1 << 20

  public init() {}

  public var isEmpty: Bool { blocks.isEmpty }

  public mutating func heading(_ text: String, level: Int = 2) {
    blocks.append(String(repeating: "#", count: max(1, min(6, level))) + " " + Markdown.text(text))
  }

  /// A heading of trusted markdown (build it with ``Markdown`` helpers for untrusted parts).
  public mutating func heading(markdown: String, level: Int = 2) {
    blocks.append(String(repeating: "#", count: max(1, min(6, level))) + " " + Markdown.oneLine(markdown))
  }

  /// A paragraph of trusted markdown (build it with ``Markdown`` helpers for untrusted parts).
  public mutating func raw(_ markdown: String) { blocks.append(markdown) }

  /// A paragraph of plain, untrusted text.
  public mutating func paragraph(_ text: String) { blocks.append(Markdown.text(text)) }

  /// A table; cells are trusted markdown, so wrap untrusted values with ``Markdown/cell(_:)``.
  public mutating func table(_ header: [String], _ rows: [[String]]) {
    guard !header.isEmpty else { return }
    var lines = ["| " + header.joined(separator: " | ") + " |", "|" + String(repeating: " --- |", count: header.count)]
    for row in rows {
      let padded = row + Array(repeating: "", count: max(0, header.count - row.count))
      lines.append("| " + padded.prefix(header.count).joined(separator: " | ") + " |")
    }
    tables.insert(blocks.count)
    blocks.append(lines.joined(separator: "\n"))
  }

  /// A bullet list of trusted markdown items.
  public mutating func list(_ items: [String]) {
    guard !items.isEmpty else { return }
    blocks.append(items.map { "- " + $0 }.joined(separator: "\n"))
  }

  /// A fenced code block; the fence is longer than any backtick run inside.
  public mutating func code(_ text: String, language: String = "") {
    let fence = Markdown.fence(for: text, minimum: 3)
    blocks.append("\(fence)\(language)\n\(text)\n\(fence)")
  }

  /// A collapsed section holding trusted markdown.
  public mutating func details(_ summary: String, _ body: String) {
    blocks.append("<details><summary>\(Markdown.html(summary))</summary>\n\n\(body)\n\n</details>")
  }

  /// The markdown, cut with a note when over `limit` bytes: at a block boundary, or between
  /// the rows of a table. A table is one block, and the release of a thousand images, a
  /// history of long reasons or an index of many children made one over the limit: cut whole,
  /// it left the heading alone, and the report was lost.
  public func render(limit: Int = StepSummary.byteLimit) -> String {
    var out = ""
    func note(_ detail: String) -> String {
      "\n\n> [!NOTE]\n> Summary truncated: it exceeded GitHub's 1 MiB step summary limit\(detail).\n"
    }
    for (i, block) in blocks.enumerated() {
      let separator = i == 0 ? "" : "\n\n"
      guard out.utf8.count + separator.utf8.count + block.utf8.count + note("").utf8.count + 1 > limit else {
        out += separator + block
        continue
      }
      // Room for the rows that fit, and the longest note a cut table gives.
      let room = limit - out.utf8.count - separator.utf8.count - note("; the table above shows 9999999999 of its 9999999999 rows").utf8.count - 1
      guard tables.contains(i) else { return out + note("") }
      let lines = block.split(separator: "\n", omittingEmptySubsequences: false)
      let rows = lines.count - 2
      var kept = lines.prefix(2).joined(separator: "\n")
      var shown = 0
      for row in lines.dropFirst(2) {
        guard kept.utf8.count + 1 + row.utf8.count <= room else { break }
        kept += "\n" + row
        shown += 1
      }
      guard shown > 0 else { return out + note("") }
      return out + separator + kept + note("; the table above shows \(shown) of its \(rows) rows")
    }
    return out.isEmpty ? out : out + "\n"
  }
}

/// Escaping helpers for untrusted text in markdown.
public enum Markdown {
  /// Escapes markdown punctuation and HTML so the text shows literally; line breaks become
  /// spaces (a new line could start a heading, a list or a table row), other control
  /// characters visible escapes, and bare URLs are not linked.
  public static func text(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.count)
    for ch in UntrustedText.visible(oneLine(s)) {
      switch ch {
      case "\\", "`", "*", "_", "[", "]", "#", "|", "~", "!", "{", "}": out.append("\\"); out.append(ch)
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "&": out += "&amp;"
      default: out.append(ch)
      }
    }
    // GitHub's markdown (cmark-gfm) links bare `http://`, `https://`, `ftp://` and `www.`
    // text: a registry's error could carry "re-authenticate at https://evil.example" as a
    // link. An escaped `:` or `.` renders the same and ends the pattern. (Bare e-mail
    // addresses stay `mailto:` links: cmark-gfm finds them after escapes are read.)
    if out.contains("://") { out = out.replacingOccurrences(of: "://", with: "\\://") }
    if out.contains("www.") { out = out.replacingOccurrences(of: "www.", with: "www\\.") }
    return out
  }

  /// Text for a table cell: escaped, newlines as `<br>`.
  public static func cell(_ s: String) -> String {
    s.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }).map { text(String($0)) }.joined(separator: "<br>")
  }

  /// `s` with every line break as a space.
  static func oneLine(_ s: String) -> String {
    String(s.map { $0 == "\n" || $0 == "\r\n" || $0 == "\r" || $0 == "\u{2028}" || $0 == "\u{2029}" ? " " : $0 })
  }

  /// Inline code (digests, tags): backticks chosen so the content cannot close them.
  public static func code(_ s: String) -> String {
    let flat = UntrustedText.visible(oneLine(s)).replacingOccurrences(of: "|", with: "\\|")
    let fence = fence(for: flat, minimum: 1)
    let pad = flat.hasPrefix("`") || flat.hasSuffix("`") ? " " : ""
    return fence + pad + flat + pad + fence
  }

  /// For HTML contexts (`<summary>`), on one line: a blank line ends GitHub's HTML block, and
  /// what followed it would be read as markdown.
  public static func html(_ s: String) -> String {
    oneLine(s).replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;")
  }

  /// A link whose label is escaped; the URL is dropped when it is not http(s).
  public static func link(_ label: String, _ url: String) -> String {
    guard url.hasPrefix("https://") || url.hasPrefix("http://") else { return text(label) }
    let safe = url.replacingOccurrences(of: ")", with: "%29").replacingOccurrences(of: " ", with: "%20")
    return "[\(text(label))](\(safe))"
  }

  static func fence(for s: String, minimum: Int) -> String {
    var longest = 0
    var run = 0
    for ch in s {
      if ch == "`" { run += 1; longest = max(longest, run) } else { run = 0 }
    }
    return String(repeating: "`", count: max(minimum, longest + 1))
  }
}
