import Basics
import FoundationEssentials

/// Input values resolved from flags, then `INPUT_*` variables, then declared defaults,
/// with the parsing rules of @actions/core
/// ([core.ts](https://github.com/actions/toolkit/blob/main/packages/core/src/core.ts)).
public struct Inputs: Sendable {
  public let declarations: [InputDeclaration]
  private var raw: [String: String]

  /// Resolves every declared input. Flags (`--name value`) win over the environment.
  /// - Throws: ``InputError`` for a missing required input.
  public init(declarations: [InputDeclaration], environment: ActionEnvironment, flags: [String: String] = [:]) throws {
    self.declarations = declarations
    var raw: [String: String] = [:]
    for d in declarations {
      let value =
        flags[d.name] ?? environment.variables[d.environmentName] ?? environment.variables[d.underscoreEnvironmentName] ?? ""
      let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
      if !trimmed.isEmpty {
        raw[d.name] = trimmed
      } else if let def = d.defaultValue {
        raw[d.name] = def
      } else if d.required {
        throw InputError(d.name, "required; set `\(d.name):` in the step's `with:` or pass --\(d.name)")
      }
    }
    self.raw = raw
  }

  /// The same inputs with `values` set as flags would set them (empty: the default): what one
  /// image of a release reads, its own fields over the step's inputs.
  public func overriding(_ values: [String: String]) -> Inputs {
    var copy = self
    for (name, value) in values {
      let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
      copy.raw[name] = trimmed.isEmpty ? declaration(name).defaultValue : trimmed
    }
    return copy
  }

  private func declaration(_ name: String) -> InputDeclaration {
    guard let d = declarations.first(where: { $0.name == name }) else {
      preconditionFailure("input '\(name)' is read but not declared")
    }
    return d
  }

  /// The secret values among the inputs, to mask before printing anything.
  public var secretValues: [String] {
    declarations.filter(\.secret).compactMap { raw[$0.name] }.filter { !$0.isEmpty }
  }

  /// The trimmed value, or nil when empty and without default.
  public func string(_ name: String) -> String? {
    _ = declaration(name)
    return raw[name]
  }

  public func string(_ name: String, default fallback: String) -> String { string(name) ?? fallback }

  /// A required value (declared required, or required by this stage's logic).
  public func require(_ name: String) throws -> String {
    guard let v = string(name) else { throw InputError(name, "required for this stage") }
    return v
  }

  /// Only the YAML 1.2 core booleans, as `getBooleanInput`.
  public func bool(_ name: String) throws -> Bool {
    guard let v = string(name) else { return false }
    switch v {
    case "true", "True", "TRUE": return true
    case "false", "False", "FALSE": return false
    default: throw InputError(name, "expected true or false (true|True|TRUE|false|False|FALSE), got '\(v.clipped(to: 100))'")
    }
  }

  /// Lines, trimmed, empties dropped, as `getMultilineInput`. With `commas`, a single line
  /// may also separate items with commas.
  public func list(_ name: String, commas: Bool = true) -> [String] {
    guard let v = string(name) else { return [] }
    return Self.splitList(v, commas: commas)
  }

  public static func splitList(_ value: String, commas: Bool = true) -> [String] {
    let lines = value.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
    let items = commas ? lines.flatMap { $0.split(separator: ",") } : lines
    return items.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
  }

  /// A value that must stay on one line (it becomes a header, a label, one output line):
  /// nil when empty.
  /// - Throws: ``InputError`` when it holds CR, LF or another control character.
  public func line(_ name: String) throws -> String? {
    guard let v = string(name) else { return nil }
    guard UntrustedText.isSingleLine(v) else {
      throw InputError(name, "must be one line without control characters (CR, LF, ESC, …), got '\(v.clipped(to: 100))'")
    }
    return v
  }

  /// One of the declared choices.
  public func choice(_ name: String) throws -> String? {
    guard let v = string(name) else { return nil }
    guard case .choice(let options) = declaration(name).kind else { return v }
    guard options.contains(v) else {
      throw InputError(name, "expected one of \(options.joined(separator: ", ")), got '\(v.clipped(to: 100))'")
    }
    return v
  }

  /// A whole number within `range`.
  public func integer(_ name: String, in range: ClosedRange<Int> = Int.min...Int.max) throws -> Int? {
    guard let v = string(name) else { return nil }
    guard let n = Int(v), range.contains(n) else {
      throw InputError(name, "expected a whole number from \(range.lowerBound) to \(range.upperBound), got '\(v.clipped(to: 100))'")
    }
    return n
  }
}
