import Testing

@testable import ActionsCore

struct NameSuggestionTests {
  let names = ["source", "target", "tags", "tag-style", "extra-tags", "max-size"]

  @Test func nearMissesAndWordsOfHyphenatedNames() {
    #expect(NameSuggestion.closest(to: "tag", among: names) == "tags")
    #expect(NameSuggestion.closest(to: "traget", among: names) == "target")
    #expect(NameSuggestion.closest(to: "max_size", among: names) == "max-size")
    #expect(NameSuggestion.closest(to: "tags", among: ["tag-style", "extra-tags"]) == "extra-tags")
  }

  /// Nothing close is no suggestion: a guess would mislead more than the list.
  @Test func farNamesEmptyAndHugeGetNone() {
    #expect(NameSuggestion.closest(to: "colour", among: names) == nil)
    #expect(NameSuggestion.closest(to: "", among: names) == nil)
    #expect(NameSuggestion.closest(to: String(repeating: "t", count: 100_000), among: names) == nil)
    #expect(NameSuggestion.distance("", "abc") == 3 && NameSuggestion.distance("kitten", "sitting") == 3)
  }
}
