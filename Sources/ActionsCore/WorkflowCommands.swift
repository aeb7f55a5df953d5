import Basics

/// Workflow commands written to stdout, escaped as the runner decodes them
/// ([actions/toolkit command.ts](https://github.com/actions/toolkit/blob/main/packages/core/src/command.ts)).
public enum WorkflowCommand {
  /// Data: `%` → `%25`, CR → `%0D`, LF → `%0A`.
  public static func escapeData(_ s: String) -> String {
    s.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D")
      .replacingOccurrences(of: "\n", with: "%0A")
  }

  /// Properties: as data, plus `:` → `%3A` and `,` → `%2C`.
  public static func escapeProperty(_ s: String) -> String {
    escapeData(s).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
  }

  /// `::name key=value,key=value::message`, escaped, with control characters made visible
  /// (``UntrustedText/visible(_:)``) but in `add-mask`, whose value must stay the secret itself.
  public static func format(_ name: String, properties: [(String, String)] = [], message: String = "") -> String {
    let isMask = name == "add-mask"
    // `##[` would be a v1 command to a runner that read the line as no v2 one.
    func shown(_ s: String) -> String { isMask ? s : UntrustedText.visible(s).replacingOccurrences(of: "##[", with: "##%5B") }
    let props = properties.filter { !$0.1.isEmpty }.map { "\($0.0)=\(shown(escapeProperty($0.1)))" }.joined(separator: ",")
    return "::\(name)\(props.isEmpty ? "" : " " + props)::\(shown(escapeData(message)))"
  }
}

/// Annotation levels (`::error`, `::warning`, `::notice`).
public enum AnnotationLevel: String, Sendable {
  case error, warning, notice
}

/// Where log lines go. The CLI gives a stdout logger; tests collect lines.
public protocol LogSink: Sendable {
  func write(_ line: String)
  /// Whether a live, self-overwriting progress line can be shown (a terminal, not a runner log).
  var isInteractive: Bool { get }
  /// Shows `line` in place of the previous progress line.
  func progress(_ line: String)
}

extension LogSink {
  public var isInteractive: Bool { false }
  public func progress(_ line: String) { write(line) }
}

/// A logger that speaks workflow commands.
public struct Log: Sendable {
  public let sink: any LogSink
  public let debugEnabled: Bool
  /// Speak workflow commands (on a runner). Outside Actions the same events print as plain
  /// text, and secrets are not echoed in `::add-mask::` lines nobody would honour.
  public let workflowCommands: Bool

  public init(sink: any LogSink, debugEnabled: Bool = false, workflowCommands: Bool = true) {
    self.sink = sink
    self.debugEnabled = debugEnabled
    self.workflowCommands = workflowCommands
  }

  /// A plain log line. Escaped by default (``UntrustedText/line(_:)``): a message that carries
  /// a registry's, a service's or a repository's text cannot speak workflow commands, and no
  /// caller can forget to escape it.
  public func info(_ message: String) { sink.write(UntrustedText.line(message)) }

  /// Gantry's own constant text, written as it is (the one unescaped path for plain lines).
  public func info(trusted message: StaticString) { sink.write(message.description) }

  /// Progress of a long operation: a live line on a terminal, a plain line in a runner log.
  /// Escaped as ``info(_:)``.
  public func progress(_ message: String) { sink.progress(UntrustedText.line(message)) }

  public var isInteractive: Bool { sink.isInteractive }

  public func debug(_ message: String) {
    guard debugEnabled else { return }
    sink.write(workflowCommands ? WorkflowCommand.format("debug", message: message) : UntrustedText.line("debug: \(message)"))
  }

  public func annotate(_ level: AnnotationLevel, _ message: String, title: String? = nil, file: String? = nil, line: Int? = nil) {
    guard workflowCommands else {
      sink.write(UntrustedText.line("\(level.rawValue): \(title.map { "\($0): " } ?? "")\(message)"))
      return
    }
    var props: [(String, String)] = []
    if let title { props.append(("title", title)) }
    if let file { props.append(("file", file)) }
    if let line { props.append(("line", String(line))) }
    sink.write(WorkflowCommand.format(level.rawValue, properties: props, message: message))
  }

  public func error(_ message: String, title: String? = nil) { annotate(.error, message, title: title) }
  public func warning(_ message: String, title: String? = nil) { annotate(.warning, message, title: title) }
  public func notice(_ message: String, title: String? = nil) { annotate(.notice, message, title: title) }

  /// Registers a secret with the runner so it is masked in logs and the summary.
  public func mask(_ secret: String) {
    guard workflowCommands else { return }
    // Every line of a multi-line secret is masked on its own, as the runner needs.
    for line in secret.split(whereSeparator: \.isNewline) where !line.isEmpty {
      sink.write(WorkflowCommand.format("add-mask", message: String(line)))
    }
  }

  public func group<T>(_ title: String, _ body: () async throws -> T) async rethrows -> T {
    sink.write(workflowCommands ? WorkflowCommand.format("group", message: title) : UntrustedText.line("▸ \(title)"))
    defer { if workflowCommands { sink.write("::endgroup::") } }
    return try await body()
  }
}

/// Collects lines in memory (tests, and stages that log before the CLI prints).
public final class MemoryLogSink: LogSink, @unchecked Sendable {
  private var storage: [String] = []
  private let lock = NSLockShim()
  public init() {}
  public func write(_ line: String) { lock.locked { storage.append(line) } }
  public var lines: [String] { lock.locked { storage } }
}
