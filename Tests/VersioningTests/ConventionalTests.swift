import Foundation
import TestSupport
import Testing

@testable import Versioning

@Suite struct ConventionalTests {
  @Test(arguments: [
    ("feat: add login", Bump.minor, "feat" as String?, nil as String?, false),
    ("fix(api): handle 404", .patch, "fix", "api", false),
    ("perf: faster", .patch, "perf", nil, false),
    ("feat(ui)!: new layout", .major, "feat", "ui", true),
    ("chore: bump deps", .none, "chore", nil, false),
    ("Merge pull request #4 from x/y", .none, nil, nil, false),
    ("refactor: x\n\nBREAKING CHANGE: config format", .major, "refactor", nil, true),
    ("docs: y\n\nBREAKING-CHANGE: z", .major, "docs", nil, true),
    ("not conventional: has spaces before colon", .none, nil, nil, false),
  ])
  func parses(_ message: String, _ bump: Bump, _ type: String?, _ scope: String?, _ breaking: Bool) {
    let c = ConventionalCommit(sha: "abc", message: message)
    #expect(c.bump == bump)
    #expect(c.type == type)
    #expect(c.scope == scope)
    #expect(c.breaking == breaking)
  }

  /// Megabytes of message are read by their first ``ConventionalCommit/messageLimit`` bytes,
  /// with a breaking-change footer beyond them still counted, and the subject is cut.
  @Test func longMessagesAreReadCut() {
    let long = ConventionalCommit(sha: "abc", message: "feat(x): " + String(repeating: "é", count: 1 << 20))
    #expect(long.bump == .minor && long.scope == "x")
    #expect(long.subject.unicodeScalars.count <= ConventionalCommit.subjectLimit + 1 && long.subject.hasSuffix("é…"))
    let footer = ConventionalCommit(sha: "abc", message: "chore: y\n\n" + String(repeating: "z\r\n", count: 1 << 20) + "BREAKING-CHANGE: z")
    #expect(footer.breaking && footer.bump == .major && footer.subject == "chore: y")
    // A footer cut in two by the limit still counts; a subject that says BREAKING CHANGE does not.
    let straddling = "fix: y\n\n" + String(repeating: "z", count: ConventionalCommit.messageLimit - 18) + "\nBREAKING CHANGE: z"
    #expect(ConventionalCommit(sha: "abc", message: straddling).breaking)
    #expect(!ConventionalCommit(sha: "abc", message: "fix: BREAKING CHANGE: " + String(repeating: "z", count: 1 << 20)).breaking)
  }

  @Test func bumps() throws {
    #expect(try Bump.patch.apply(to: SemVer(1, 2, 3)) == SemVer(1, 2, 4))
    #expect(try Bump.minor.apply(to: SemVer(1, 2, 3)) == SemVer(1, 3, 0))
    #expect(try Bump.major.apply(to: SemVer(1, 2, 3)) == SemVer(2, 0, 0))
    #expect(try Bump.major.apply(to: SemVer(0, 4, 1)) == SemVer(0, 5, 0))
    #expect(try Bump.major.apply(to: SemVer(0, 4, 1), majorOnZero: true) == SemVer(1, 0, 0))
    #expect(try Bump.none.apply(to: SemVer(1, 0, 0)) == SemVer(1, 0, 0))
  }

  @Test func changelogGroupsAndEscapes() {
    let commits = [
      ConventionalCommit(sha: "1111111aaaa", message: "feat(auth): add *SSO*"),
      ConventionalCommit(sha: "2222222bbbb", message: "fix: crash"),
      ConventionalCommit(sha: "3333333cccc", message: "feat!: drop v1 API"),
      ConventionalCommit(sha: "4444444dddd", message: "update readme"),
    ]
    let md = Changelog.markdown(commits) { $0.replacingOccurrences(of: "*", with: "\\*") }
    #expect(
      md == """
        ### Breaking changes

        - drop v1 API (3333333)

        ### Features

        - **auth:** add \\*SSO\\* (1111111)

        ### Fixes

        - crash (2222222)

        ### Other changes

        - update readme (4444444)
        """)
  }
}

@Suite struct ManifestFileTests {
  let dir: TempDirectory
  init() throws { dir = try TempDirectory() }

  @Test(arguments: [
    ("pyproject.toml", "[project]\nname = \"app\"\nversion = \"1.2.0\"\n"),
    ("pyproject.toml", "[tool.poetry]\nname = \"app\"\nversion = \"1.2.0\"\n"),
    ("package.json", #"{"name":"app","version":"1.2.0","dependencies":{"x":"2.0.0"}}"#),
    ("Cargo.toml", "[package]\nname = \"app\"\nversion = \"1.2.0\"\n[dependencies]\nserde = { version = \"9.9.9\" }\n"),
    ("Chart.yaml", "apiVersion: v2\nname: app\nversion: 1.2.0\nappVersion: \"9.9.9\"\n"),
    ("gradle.properties", "org.gradle.jvmargs=-Xmx2g\nversion=1.2.0\n"),
    (
      "pom.xml",
      "<project><parent><version>9.9.9</version></parent><artifactId>a</artifactId><version>1.2.0</version><dependencies><dependency><version>8.8.8</version></dependency></dependencies></project>"
    ),
    ("VERSION", "1.2.0\n"),
  ])
  func readsKnownFiles(_ name: String, _ text: String) throws {
    try text.write(toFile: dir.file(name), atomically: true, encoding: .utf8)
    #expect(try ManifestFiles.read(dir.file(name)) == "1.2.0")
  }

  @Test func patternAndErrors() throws {
    try "APP_VERSION = '3.4.5'\n".write(toFile: dir.file("settings.py"), atomically: true, encoding: .utf8)
    #expect(try ManifestFiles.read(dir.file("settings.py"), pattern: #"APP_VERSION = '([^']+)'"#) == "3.4.5")
    #expect(throws: VersionSourceError.self) { try ManifestFiles.read(dir.file("settings.py"), pattern: "nomatch(x)") }
    try "[project]\nname = \"x\"\n".write(toFile: dir.file("pyproject.toml"), atomically: true, encoding: .utf8)
    #expect(throws: VersionSourceError("pyproject.toml has neither [project].version nor [tool.poetry].version")) { try ManifestFiles.read(dir.file("pyproject.toml")) }
  }
}

@Suite struct GitRepositoryTests {
  @Test func latestTagAndCommitsSinceIt() throws {
    let repo = try TempGitRepo()
    try repo.commit("feat: first")
    try repo.git("tag", "v1.0.0")
    try repo.commit("fix: a bug")
    try repo.git("tag", "v1.1.0-rc.1")
    try repo.commit("feat: a feature")
    try repo.git("tag", "not-a-version")
    let g = try GitRepository(path: repo.path)
    let last = try #require(try g.latestTag(prefix: "v"))
    #expect(last.tag == "v1.0.0")
    let commits = try g.commits(since: last.tag)
    #expect(commits.map(\.subject) == ["fix: a bug", "feat: a feature"])
    #expect(!g.isShallow)
  }
}
