/// One environment's record tag names from a listing, handed out newest first, a page at a time.
///
/// A listing can hold 10,000 record tags while a stage reads a few dozen, so the names are
/// ordered only as far as they are read: the first page is picked in one pass over the names;
/// a caller that reads past it has the older rest sorted once. Names sort as their records'
/// times (same key and length; the time is fixed-width; compared byte by byte), and a name the
/// registry repeats is handed out once.
public struct RecordNames: Sendable {
  /// Every name, in the registry's order.
  private let all: [String]
  /// The oldest name handed out so far (nil before the first page).
  private var bound: String?
  /// The names older than the first page, newest first, once a second page was asked for.
  private var rest: [String]?
  private var position = 0

  public init(_ names: [String]) { all = names }

  /// Whether names remain that were not handed out.
  public var hasMore: Bool {
    if let rest { return position < rest.count }
    guard let bound else { return !all.isEmpty }
    return all.contains { Self.precedes($0, bound) }
  }

  /// The next `count` names, newest first; empty when none remain.
  public mutating func next(_ count: Int) -> [String] {
    guard count > 0 else { return [] }
    if let rest {
      let page = rest[position..<min(rest.count, position + count)]
      position = page.endIndex
      return Array(page)
    }
    guard let bound else {
      // First page: keep the newest `count` in one pass (most names fail the first comparison).
      var top: [String] = []
      for name in all where top.count < count || Self.precedes(top[top.count - 1], name) {
        guard !top.contains(where: { $0.utf8.elementsEqual(name.utf8) }) else { continue }
        top.insert(name, at: top.firstIndex { Self.precedes($0, name) } ?? top.count)
        if top.count > count { top.removeLast() }
      }
      self.bound = top.last ?? ""
      return top
    }
    var older = all.filter { Self.precedes($0, bound) }
    older.sort(by: Self.precedes)
    var sorted: [String] = []
    sorted.reserveCapacity(older.count)
    for name in older.reversed() where !(sorted.last?.utf8.elementsEqual(name.utf8) ?? false) { sorted.append(name) }
    rest = sorted
    position = 0
    return next(count)
  }

  /// Names order by their UTF-8 bytes: `String`'s `<` is not a total order on text that is
  /// not normalized (`"e\u{301}"` and `"\u{E9}\t"` are neither less than the other nor equal),
  /// and a registry may list such names; that dropped a name from the pages or gave one twice.
  static func precedes(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
}
