/// Bad input: the user must change something. Exit status 2.
public struct InputError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The input's name (`source`, `max-size`) or the flag.
  public var input: String
  /// What is wrong and what is accepted.
  public var message: String

  public init(_ input: String, _ message: String) {
    self.input = input
    self.message = message
  }

  public var description: String { "input '\(input)': \(message)" }
}
