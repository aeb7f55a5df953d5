import Foundation
import Testing

@testable import ActionsCore

/// The runner executes stdout lines starting with `::` (after blanks) and `##[…]` anywhere in a
/// line; terminals obey ESC sequences. Untrusted text must do neither.
@Suite struct UntrustedTextTests {
  static let hostile = "ok\n::set-output name=x::1\r::add-mask::s3cr3t\n  ::stop-commands::tok\u{1B}[31mred\u{07}\u{85}\u{2028}##[add-mask]y 100%"

  @Test func aLineNeverSpeaksAWorkflowCommand() {
    let line = UntrustedText.line(Self.hostile)
    #expect(!line.contains("\n") && !line.contains("\r"))
    #expect(!line.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0 == "\u{2028}" })
    #expect(!line.contains("##["))
    #expect(line == "ok%0A::set-output name=x::1%0D::add-mask::s3cr3t%0A  ::stop-commands::tok\\x1B[31mred\\x07\\x85\\u{2028}##%5Badd-mask]y 100%")
  }

  /// The runner decodes `%` escapes in command data only: a plain line shows a `%` as it is
  /// (it showed "success rate below 95 %25" in history and rollback logs).
  @Test func aPercentInAPlainLineIsReadAsItIs() {
    #expect(UntrustedText.line("success rate below 95 %") == "success rate below 95 %")
    #expect(UntrustedText.line("50%0A done") == "50%0A done")
    let sink = MemoryLogSink()
    Log(sink: sink, workflowCommands: true).info("below 95 %")
    Log(sink: sink, workflowCommands: true).warning("below 95 %")
    #expect(sink.lines == ["below 95 %", "::warning::below 95 %25"])
  }

  @Test func aLeadingCommandIsDefusedEvenAfterBlanks() {
    #expect(UntrustedText.line("::error::x") == "%3A:error::x")
    #expect(UntrustedText.line(" \t::warning::x") == " \t%3A:warning::x")
    #expect(UntrustedText.line("plain text: fine") == "plain text: fine")
  }

  @Test func visibleKeepsTabsAndPrintableText() {
    #expect(UntrustedText.visible("a\tb ü ✓") == "a\tb ü ✓")
    #expect(UntrustedText.visible("\u{0}\u{7F}") == "\\x00\\x7F")
    #expect(!UntrustedText.isSingleLine("a\nb") && !UntrustedText.isSingleLine("a\u{1B}") && UntrustedText.isSingleLine("a b\tc"))
  }

  @Test func everyLogPathEscapesByDefault() {
    for commands in [true, false] {
      let sink = MemoryLogSink()
      let log = Log(sink: sink, debugEnabled: true, workflowCommands: commands)
      log.info(Self.hostile)
      log.progress(Self.hostile)
      log.debug(Self.hostile)
      log.warning(Self.hostile, title: Self.hostile)
      log.error(Self.hostile)
      log.notice(Self.hostile)
      for line in sink.lines {
        #expect(!line.contains("\n") && !line.contains("\r") && !line.contains("\u{1B}") && !line.contains("\u{07}") && !line.contains("##["), "\(line)")
      }
      let own = commands ? ["::debug::", "::warning title=", "::error::", "::notice::"] : []
      let starts = sink.lines.filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix("::") }
      #expect(starts.count == own.count)
      #expect(starts.allSatisfy { s in own.contains { s.hasPrefix($0) } })
    }
  }

  @Test func masksKeepTheSecretAsItIs() {
    let sink = MemoryLogSink()
    Log(sink: sink).mask("a\u{1B}b%")
    #expect(sink.lines == ["::add-mask::a\u{1B}b%25"])
  }

  @Test func trustedTextIsWrittenAsItIs() {
    let sink = MemoryLogSink()
    Log(sink: sink).info(trusted: "100% done")
    #expect(sink.lines == ["100% done"])
  }

  /// Before: bidi controls went to the log and the summary as they were, so a registry's tag
  /// `1.2.3<U+202E>gnp.exe` showed as `1.2.3exe.png` — text that reads other than it is.
  @Test func bidiControlsAreShownAsEscapes() {
    #expect(UntrustedText.visible("1.2.3\u{202E}gnp.exe\u{2066}x\u{200F}") == "1.2.3\\u{202E}gnp.exe\\u{2066}x\\u{200F}")
    #expect(UntrustedText.line("\u{061C}a") == "\\u{61C}a")
    #expect(Markdown.cell("a\u{202D}b") == "a\\\\u\\{202D\\}b")
    // Joiners stay: emoji sequences and scripts need them.
    #expect(UntrustedText.visible("👩\u{200D}💻") == "👩\u{200D}💻")
  }

  /// Before: a bare URL in a registry's error or a service's answer was escaped character by
  /// character but still a live link (GitHub's markdown autolinks `https://…`, `ftp://…` and
  /// `www.…`): a summary could carry "re-authenticate at https://evil.example/login" as a
  /// link. Now `\://` and `www\.` render the same text, unlinked (checked with cmark-gfm).
  @Test func markdownTextLinksNoBareURL() {
    #expect(Markdown.text("log in at https://evil.example/x or www.evil.example") == "log in at https\\://evil.example/x or www\\.evil.example")
    #expect(Markdown.cell("ftp://e.example") == "ftp\\://e.example")
  }

  @Test func markdownTextCannotStartBlocksOrCarryControls() {
    let s = Markdown.text("a\n# h\r\n- item\u{1B}[1m")
    #expect(!s.contains("\n") && !s.contains("\r") && !s.contains("\u{1B}"))
    #expect(Markdown.cell("x\ny") == "x<br>y")
    #expect(Markdown.code("`a`\nb\u{07}") == "`` `a` b\\x07 ``")
    #expect(Markdown.cell("[click](https://evil)") == "\\[click\\](https\\://evil)")
  }
}
