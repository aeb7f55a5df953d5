import Basics
import FoundationEssentials

/// Step outputs in declaration order, and their encodings for `$GITHUB_OUTPUT`
/// ([workflow commands: setting an output](https://docs.github.com/en/actions/reference/workflow-commands-for-github-actions#setting-an-output-parameter)).
public struct Outputs: Sendable, Equatable {
  public private(set) var entries: [(name: String, value: String)] = []

  /// The most one output should carry, in bytes: 1 MiB, GitHub's limit for an output
  /// (https://docs.github.com/en/actions/writing-workflows/choosing-what-your-workflow-does/passing-information-between-jobs).
  public static let byteLimit = 1 << 20

  public init() {}

  public subscript(name: String) -> String? {
    get { entries.first { $0.name == name }?.value }
    set {
      entries.removeAll { $0.name == name }
      if let newValue { entries.append((name: name, value: newValue)) }
    }
  }

  public static func == (a: Outputs, b: Outputs) -> Bool {
    a.entries.count == b.entries.count && zip(a.entries, b.entries).allSatisfy { $0.name == $1.name && $0.value == $1.value }
  }

  /// The file-command form: `name<<ghadelimiter_<UUID>`, the value, the delimiter. A fresh
  /// random delimiter per value (never a fixed one: GHSA-7r3h-m5j6-3q42).
  /// - Throws: when the value contains the delimiter (it would end the value early).
  public static func fileCommand(name: String, value: String, delimiter: String = "ghadelimiter_" + UUID().uuidString) throws -> String {
    if name.contains(delimiter) || value.contains(delimiter) {
      throw InputError(name, "output value contains the delimiter \(delimiter); refusing to write it")
    }
    return "\(name)<<\(delimiter)\n\(value)\n\(delimiter)\n"
  }

  /// Everything for `$GITHUB_OUTPUT`.
  public func fileCommands(delimiter: () -> String = { "ghadelimiter_" + UUID().uuidString }) throws -> String {
    try entries.map { try Self.fileCommand(name: $0.name, value: $0.value, delimiter: delimiter()) }.joined()
  }

  /// Outside Actions: `name=value`, and the heredoc form for multi-line values.
  public func plainText(delimiter: () -> String = { "EOF_" + UUID().uuidString.prefix(8) }) -> String {
    entries.map { e in
      guard e.value.contains("\n") else { return "\(e.name)=\(e.value)\n" }
      let d = delimiter()
      return "\(e.name)<<\(d)\n\(e.value)\n\(d)\n"
    }.joined()
  }
}
