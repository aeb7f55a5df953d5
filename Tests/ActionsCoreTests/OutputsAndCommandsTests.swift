import Foundation
import Testing

@testable import ActionsCore

@Suite struct OutputsTests {
  @Test func fileCommandUsesTheHeredocForm() throws {
    let s = try Outputs.fileCommand(name: "tags", value: "a\nb", delimiter: "ghadelimiter_X")
    #expect(s == "tags<<ghadelimiter_X\na\nb\nghadelimiter_X\n")
  }

  @Test func delimitersAreRandomPerValue() throws {
    var o = Outputs()
    o["a"] = "1"
    o["b"] = "2"
    let text = try o.fileCommands()
    let delims = text.split(separator: "\n").filter { $0.contains("<<") }.map { $0.split(separator: "<").last! }
    #expect(delims.count == 2)
    #expect(Set(delims).count == 2)
    #expect(delims.allSatisfy { $0.hasPrefix("ghadelimiter_") && $0.count == "ghadelimiter_".count + 36 })
  }

  @Test func aValueContainingTheDelimiterIsRefused() {
    #expect(throws: InputError.self) {
      try Outputs.fileCommand(name: "x", value: "evil\nghadelimiter_X\ninjected=1", delimiter: "ghadelimiter_X")
    }
  }

  @Test func plainTextOutsideActions() {
    var o = Outputs()
    o["digest"] = "sha256:abc"
    o["tags"] = "a\nb"
    #expect(o.plainText(delimiter: { "EOF" }) == "digest=sha256:abc\ntags<<EOF\na\nb\nEOF\n")
  }

  @Test func settingAgainReplaces() {
    var o = Outputs()
    o["a"] = "1"
    o["a"] = "2"
    #expect(o.entries.count == 1)
    #expect(o["a"] == "2")
  }
}

@Suite struct WorkflowCommandTests {
  @Test func dataEscaping() {
    #expect(WorkflowCommand.escapeData("50% done\r\nnext") == "50%25 done%0D%0Anext")
  }

  @Test func propertyEscaping() {
    #expect(WorkflowCommand.escapeProperty("a:b,c%") == "a%3Ab%2Cc%25")
  }

  @Test func annotationWithTitle() {
    let sink = MemoryLogSink()
    Log(sink: sink).error("bad: thing\nline 2", title: "Invalid input: x, y")
    #expect(sink.lines == ["::error title=Invalid input%3A x%2C y::bad: thing%0Aline 2"])
  }

  @Test func debugOnlyWithRunnerDebug() {
    let quiet = MemoryLogSink()
    Log(sink: quiet).debug("x")
    #expect(quiet.lines.isEmpty)
    let loud = MemoryLogSink()
    Log(sink: loud, debugEnabled: ActionEnvironment(["RUNNER_DEBUG": "1"]).isDebug).debug("x")
    #expect(loud.lines == ["::debug::x"])
  }

  @Test func masksEveryLineOfASecret() {
    let sink = MemoryLogSink()
    Log(sink: sink).mask("line1\nline2")
    #expect(sink.lines == ["::add-mask::line1", "::add-mask::line2"])
  }

  @Test func outsideActionsNothingEchoesSecretsAndCommandsReadAsText() async {
    let sink = MemoryLogSink()
    let log = Log(sink: sink, workflowCommands: false)
    log.mask("hunter2")
    log.error("bad thing", title: "Invalid input")
    await log.group("Copy") { sink.write("inside") }
    #expect(sink.lines == ["error: Invalid input: bad thing", "▸ Copy", "inside"])
  }

  @Test func groups() async {
    let sink = MemoryLogSink()
    await Log(sink: sink).group("Copy") { sink.write("inside") }
    #expect(sink.lines == ["::group::Copy", "inside", "::endgroup::"])
  }
}

@Suite struct StepSummaryTests {
  @Test func escapesUntrustedText() {
    #expect(Markdown.text("feat: *bold* <script> | [x](y)") == "feat: \\*bold\\* &lt;script&gt; \\| \\[x\\](y)")
    #expect(Markdown.cell("a|b\nc") == "a\\|b<br>c")
    #expect(Markdown.code("a`b") == "``a`b``")
  }

  @Test func buildsTablesCodeAndDetails() {
    var s = StepSummary()
    s.heading("Promote")
    s.table(["A", "B"], [["1"], ["2", "3"]])
    s.code("x ``` y", language: "json")
    s.details("More <info>", "body")
    #expect(
      s.render() == """
        ## Promote

        | A | B |
        | --- | --- |
        | 1 |  |
        | 2 | 3 |

        ````json
        x ``` y
        ````

        <details><summary>More &lt;info&gt;</summary>

        body

        </details>

        """)
  }

  /// A blank line in a `<summary>` ends GitHub's HTML block: what follows it was read as
  /// markdown (a heading, a link), and the block was left open.
  @Test func aDetailsSummaryStaysOnOneLine() {
    var s = StepSummary()
    s.details("Changelog\n\n# [x](https://evil.example)\r\n<b>", "body")
    #expect(s.render().hasPrefix("<details><summary>Changelog  # [x](https://evil.example) &lt;b&gt;</summary>\n\nbody\n\n</details>"), "\(s.render())")
  }

  @Test func truncatesUnderTheLimitWithANote() {
    var s = StepSummary()
    for i in 0..<100 { s.paragraph(String(repeating: "x", count: 100) + "\(i)") }
    let out = s.render(limit: 1000)
    #expect(out.utf8.count <= 1000)
    #expect(out.contains("Summary truncated"))
    #expect(!out.contains("x99"))
    #expect(s.render().utf8.count > 10_000)
  }

  /// A table over the limit is cut between rows, not dropped whole with everything after it:
  /// a release of thousands of images is one table, and before, the summary kept its heading.
  @Test func aTableOverTheLimitKeepsTheRowsThatFit() {
    var s = StepSummary()
    s.heading("Release r1: promoted")
    s.table(["#", "Target"], (0..<100).map { ["\($0)", String(repeating: "y", count: 80)] })
    s.heading("After")
    let out = s.render(limit: 2000)
    #expect(out.utf8.count <= 2000)
    #expect(out.hasPrefix("## Release r1: promoted\n\n| # | Target |\n| --- | --- |\n| 0 | yyy"))
    let shown = out.split(separator: "\n").filter { $0.hasPrefix("| ") && $0.hasSuffix("y |") }.count
    #expect(shown >= 15, "\(out)")
    #expect(out.hasSuffix("> Summary truncated: it exceeded GitHub's 1 MiB step summary limit; the table above shows \(shown) of its 100 rows.\n"))
    #expect(!out.contains("After"))
    // A table whose first row alone is over the limit is left out, as any other block.
    var one = StepSummary()
    one.heading("H")
    one.table(["A"], [[String(repeating: "z", count: 5000)]])
    #expect(one.render(limit: 2000) == "## H\n\n> [!NOTE]\n> Summary truncated: it exceeded GitHub's 1 MiB step summary limit.\n")
  }

  @Test func linksRefuseNonHTTP() {
    #expect(Markdown.link("run", "javascript:alert(1)") == "run")
    #expect(Markdown.link("run [1]", "https://x/y") == "[run \\[1\\]](https://x/y)")
  }
}

@Suite struct EnvironmentTests {
  @Test func runURLAndWorkspaceComeFromTheEnvironment() {
    let e = ActionEnvironment([
      "GITHUB_REPOSITORY": "acme/app", "GITHUB_RUN_ID": "42", "GITHUB_WORKSPACE": "/home/me/src", "GITHUB_SERVER_URL": "https://ghe.example",
    ])
    #expect(e.runURL == "https://ghe.example/acme/app/actions/runs/42")
    #expect(e.workspace == "/home/me/src")
    #expect(ActionEnvironment([:]).runURL == nil)
  }
}
