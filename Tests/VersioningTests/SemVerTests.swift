import Testing
import Versioning

@Suite struct SemVerTests {
  @Test(arguments: ["0.0.4", "1.2.3", "10.20.30", "1.1.2-prerelease+meta", "1.0.0-alpha.beta.1", "1.0.0+0.build.1-rc.10000aaa-kk-0.1", "99999999999999999.1.0"])
  func parsesValidVersions(_ text: String) throws {
    #expect(try SemVer(parsing: text).description == text)
  }

  @Test(arguments: ["1", "1.2", "1.2.3.4", "01.1.1", "1.2.3-0123", "1.2.3-", "1.2.3+", "1.2.3-a..b", "a.b.c", "1.2.3-ü", " "])
  func rejectsInvalidVersions(_ text: String) {
    #expect(throws: SemVerError.self) { try SemVer(parsing: text) }
  }

  @Test func namesTheOffendingText() {
    do {
      _ = try SemVer(parsing: "1.02.3")
    } catch let e as SemVerError {
      #expect(e.description.contains("'1.02.3'"))
    } catch {
      Issue.record("wrong error")
    }
  }

  @Test func prefixIsOptional() throws {
    #expect(try SemVer(parsing: "v1.2.3", prefix: "v") == SemVer(1, 2, 3))
    #expect(try SemVer(parsing: "1.2.3", prefix: "v") == SemVer(1, 2, 3))
    #expect(throws: SemVerError.self) { try SemVer(parsing: "v1.2.3") }
  }

  /// The precedence example of semver.org §11.
  @Test func precedenceFollowsTheSpec() throws {
    let ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "2.0.0", "2.1.0", "2.1.1"]
    let versions = try ordered.map { try SemVer(parsing: $0) }
    for (a, b) in zip(versions, versions.dropFirst()) { #expect(a < b) }
    #expect(versions.shuffled().sorted() == versions)
    #expect(!(try SemVer(parsing: "1.0.0+a") < SemVer(parsing: "1.0.0+b")))
  }
}

/// Prerelease identifiers a tag pusher chooses, compared as §11 says.
@Suite struct PrereleasePrecedenceTests {
  @Test func onlyASCIIDigitsAreNumericAndLongNumbersStayNumbers() throws {
    // `-1` is alphanumeric (higher than any number); Int("-1") made it -1, below `1`.
    #expect(try SemVer(parsing: "1.0.0-rc.1") < SemVer(parsing: "1.0.0-rc.-1"))
    // 20 digits do not fit Int: they were compared as text, so 100… sorted below 99….
    #expect(try SemVer(parsing: "1.0.0-rc.99999999999999999999") < SemVer(parsing: "1.0.0-rc.100000000000000000000"))
    #expect(try SemVer(parsing: "1.0.0-rc.99999999999999999999") < SemVer(parsing: "1.0.0-rc.a"))
  }
}
