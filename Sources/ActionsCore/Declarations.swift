import Basics

/// What kind of value an input holds, which decides how it is parsed and shown in help.
public enum InputKind: Sendable, Equatable {
  case string
  /// Exactly true|True|TRUE|false|False|FALSE, as @actions/core `getBooleanInput`.
  case boolean
  /// Newline-separated (commas also accepted where `commaSeparated`), as `getMultilineInput`.
  case list
  /// One of a fixed set of words.
  case choice([String])
  case integer
}

/// One input of a stage, declared once: it drives environment reading, `--flags`,
/// `--help`, action.yml and the README.
public struct InputDeclaration: Sendable, Equatable {
  public var name: String
  public var description: String
  public var kind: InputKind
  /// Used when the input is empty; `nil` means no default.
  public var defaultValue: String?
  /// The default written into action.yml when it differs (e.g. `${{ github.token }}`).
  public var actionDefault: String?
  public var required: Bool
  /// Masked with `::add-mask::` before anything else is printed.
  public var secret: Bool

  public init(
    _ name: String, _ description: String, kind: InputKind = .string, default defaultValue: String? = nil,
    actionDefault: String? = nil, required: Bool = false, secret: Bool = false
  ) {
    self.name = name
    self.description = description
    self.kind = kind
    self.defaultValue = defaultValue
    self.actionDefault = actionDefault
    self.required = required
    self.secret = secret
  }

  /// The same input, required by this stage.
  public func asRequired() -> InputDeclaration {
    var d = self
    d.required = true
    return d
  }

  /// The same input, not required by this stage.
  public func optional() -> InputDeclaration {
    var d = self
    d.required = false
    return d
  }

  /// The same input with this stage's default.
  public func withDefault(_ value: String) -> InputDeclaration {
    var d = self
    d.defaultValue = value
    return d
  }

  /// `INPUT_` + upper-cased name, spaces to `_`, hyphens kept — the runner's spelling
  /// ([actions/runner](https://github.com/actions/runner/blob/main/src/Runner.Worker/Handlers/ContainerActionHandler.cs)).
  public var environmentName: String {
    "INPUT_" + name.uppercased().replacingOccurrences(of: " ", with: "_")
  }

  /// The shell-friendly spelling with hyphens as underscores, also accepted.
  public var underscoreEnvironmentName: String {
    environmentName.replacingOccurrences(of: "-", with: "_")
  }
}

/// One output of a stage.
public struct OutputDeclaration: Sendable, Equatable {
  public var name: String
  public var description: String

  public init(_ name: String, _ description: String) {
    self.name = name
    self.description = description
  }
}
