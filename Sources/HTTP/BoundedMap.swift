/// Runs `transform` on every element with at most `concurrency` in flight, keeping order.
/// Shared by blob copies, blob checks and health probes.
public func boundedMap<T: Sendable, R: Sendable>(
  _ items: [T], concurrency: Int, _ transform: @escaping @Sendable (T) async throws -> R
) async throws -> [R] {
  try await withThrowingTaskGroup(of: (Int, R).self) { group in
    var next = 0
    var results = [R?](repeating: nil, count: items.count)
    func launch() {
      guard next < items.count else { return }
      let (i, item) = (next, items[next])
      next += 1
      group.addTask { (i, try await transform(item)) }
    }
    for _ in 0..<max(1, concurrency) { launch() }
    while let (i, r) = try await group.next() {
      results[i] = r
      launch()
    }
    return results.map { $0! }
  }
}
