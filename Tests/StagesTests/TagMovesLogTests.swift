import Testing

@testable import Stages

/// The line a promote or rollback logs once its tags moved and were read back. Before it read
/// "moved 1 tags (1 environment tags last)" for a rollback's one tag.
@Suite struct TagMovesLogTests {
  @Test(arguments: [
    (2, 1, "moved 2 tags, the environment tag last; each read back"),
    (1, 1, "moved 1 tag; it was read back"),
    (3, 3, "moved 3 tags; each read back"),
    (6, 3, "moved 6 tags, the 3 environment tags last; each read back"),
    (2, 0, "moved 2 tags; each read back"),
    (0, 0, "no tag moved: each already pointed at its image"),
  ])
  func saysWhatMovedInPlainWords(moved: Int, environment: Int, line: String) {
    #expect(TagMoves.movedLine(moved: moved, environment: environment) == line)
  }
}
