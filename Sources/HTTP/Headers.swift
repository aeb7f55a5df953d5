/// An ordered list of HTTP header fields with case-insensitive lookup
/// ([RFC 9110 §5](https://www.rfc-editor.org/rfc/rfc9110#section-5)).
public struct Headers: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
  public private(set) var fields: [(name: String, value: String)]

  public init() { fields = [] }
  public init(_ fields: [(String, String)]) { self.fields = fields.map { (name: $0.0, value: $0.1) } }
  public init(dictionaryLiteral elements: (String, String)...) { self.init(elements) }

  /// The first value of `name`, if any.
  public subscript(name: String) -> String? {
    let lower = name.lowercased()
    return fields.first { $0.name.lowercased() == lower }?.value
  }

  /// Every value of `name`, in order (e.g. several `WWW-Authenticate` or `Link` fields).
  public func values(_ name: String) -> [String] {
    let lower = name.lowercased()
    return fields.filter { $0.name.lowercased() == lower }.map(\.value)
  }

  public mutating func add(_ name: String, _ value: String) { fields.append((name: name, value: value)) }

  /// Replaces every field called `name` with one holding `value`.
  public mutating func set(_ name: String, _ value: String) {
    remove(name)
    add(name, value)
  }

  public mutating func remove(_ name: String) {
    let lower = name.lowercased()
    fields.removeAll { $0.name.lowercased() == lower }
  }

  public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }

  public static func == (a: Headers, b: Headers) -> Bool {
    a.fields.count == b.fields.count && zip(a.fields, b.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
  }
}
