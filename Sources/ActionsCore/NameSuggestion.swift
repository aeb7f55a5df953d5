/// The name a user most likely meant: for an unknown input, flag or manifest field, a
/// "did you mean" beats a list of forty names to read through.
public enum NameSuggestion {
  /// The name in `names` that `name` most likely misspells: a small edit distance (two edits,
  /// one for names of four characters or fewer), or one word of a hyphenated name
  /// (`tags` → `extra-tags`). Nil when none is that close.
  public static func closest(to name: String, among names: [String]) -> String? {
    // Names are a few dozen characters; anything longer is no misspelling of one.
    guard name.utf8.count <= 64 else { return nil }
    let limit = name.count <= 4 ? 1 : 2
    let close = names.map { ($0, distance(name, $0)) }.filter { $0.1 <= limit }.min { $0.1 < $1.1 }
    if let close { return close.0 }
    return names.first { $0.split(separator: "-").contains(Substring(name)) }
  }

  /// Levenshtein distance over Unicode scalars.
  static func distance(_ a: String, _ b: String) -> Int {
    let a = Array(a.unicodeScalars)
    let b = Array(b.unicodeScalars)
    guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
    var previous = Array(0...b.count)
    for i in 1...a.count {
      var current = [i] + Array(repeating: 0, count: b.count)
      for j in 1...b.count {
        current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
      }
      previous = current
    }
    return previous[b.count]
  }
}
