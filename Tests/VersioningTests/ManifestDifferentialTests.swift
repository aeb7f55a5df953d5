import Foundation
import TestSupport
import Testing

@testable import Versioning

/// Manifest files a pull request wrote to make Gantry read another version than the
/// ecosystem's own tool (npm, Helm, Gradle, Maven, cargo, pip): each is read as that tool reads
/// it, or refused with the reason, never silently answered with another version.
@Suite struct ManifestDifferentialTests {
  let dir: TempDirectory
  init() throws { dir = try TempDirectory() }

  func write(_ name: String, _ text: String) throws -> String {
    let path = dir.file(name)
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    return path
  }

  func refusal(_ path: String) -> String? {
    do {
      let v = try ManifestFiles.read(path)
      Issue.record("\(path.lastPathComponent) read as '\(v)'")
      return nil
    } catch { return (error as? VersionSourceError)?.description }
  }

  @Test func aVersionGivenTwiceInPackageJSONIsRefusedNotPassedOver() throws {
    // npm's JSON.parse takes the last one (2.0.0); Gantry took no version and, with
    // `source: auto`, the next file's.
    let pkg = try write("package.json", #"{"name":"app","version":"1.0.0","version":"2.0.0"}"#)
    _ = try write("Chart.yaml", "apiVersion: v2\nname: app\nversion: 3.0.0\n")
    let why = try #require(refusal(pkg))
    #expect(why.contains("duplicate member \"version\"") && why.contains("npm would take the last"), "\(why)")
    #expect(ManifestFiles.find(in: dir.path) == pkg)
  }

  @Test func packageJSONBytesNpmReadsOrRefuses() throws {
    let bom = try write("package.json", "\u{FEFF}{\"version\":\"1.2.3\"}")
    #expect(try ManifestFiles.read(bom) == "1.2.3")
    let cases: [(String, String)] = [
      ("{\"version\":\"1.2.3\u{0}\"}", "control character"),
      (String(repeating: "[", count: 100_000), "nested deeper"),
      ("{\"version\":\"1.2.3\",\"n\":1e999999}", "out of range"),
      ("{\"version\":\"1.2.3\"} {\"version\":\"9.9.9\"}", "after the document"),
    ]
    for (text, reason) in cases {
      let path = try write("package.json", text)
      let why = refusal(path) ?? ""
      #expect(why.contains(reason), "\(why)")
      #expect(ManifestFiles.find(in: dir.path) == path, "a broken package.json is the answer, not passed over")
    }
    // npm refuses a version that is no string: so does Gantry, rather than pass the file over.
    let number = try write("package.json", #"{"name":"app","version":1}"#)
    #expect(refusal(number)?.contains("is not a string") == true)
    #expect(ManifestFiles.find(in: dir.path) == number)
    _ = try write("package.json", #"{"name":"app"}"#)
    _ = try write("VERSION", "4.5.6\n")
    #expect(ManifestFiles.find(in: dir.path) == dir.file("VERSION"), "a package.json without version is passed over")
  }

  @Test func chartYAMLAsHelmReadsIt() throws {
    // Helm's YAML reader takes the last `version:`; the regex took the first.
    let twice = try write("Chart.yaml", "apiVersion: v2\nversion: 1.0.0\nname: app\nversion: 2.0.0\n")
    #expect(refusal(twice)?.contains("2 top-level version: lines") == true)
    let cases: [(String, String)] = [
      ("version: 1.2.3 extra\n", "1.2.3 extra"),  // one string to Helm, not 1.2.3
      ("version: 1.2.3#x\n", "1.2.3#x"),  // `#` starts a comment only after a blank
      ("version : \"1.2.3\" # released\n", "1.2.3"),
      ("\"version\": '1.2.3'\r\n", "1.2.3"),
      ("appVersion: 9.9.9\nversion: 1.2.3\n", "1.2.3"),
      ("description: |\n  version: 9.9.9\nversion: 1.2.3\n", "1.2.3"),
    ]
    for (text, expected) in cases {
      #expect(try ManifestFiles.read(try write("Chart.yaml", text)) == expected, "\(text.debugDescription)")
    }
    #expect(refusal(try write("Chart.yaml", "version:\n  1.2.3\n"))?.contains("no value on its line") == true)
  }

  @Test func gradlePropertiesAsJavaPropertiesReadsThem() throws {
    let cases: [(String, String)] = [
      ("version 1.2.3\n", "1.2.3"),
      ("version:1.2.3\n", "1.2.3"),
      ("# version=9.9.9\n! version=9.9.9\nversion = 1.2.3\n", "1.2.3"),
      ("version=1.2.\\\n    3\n", "1.2.3"),
      ("org.gradle.jvmargs=-Xmx2g \\\n  -Dversion=9.9.9\nversion=1.2.3\n", "1.2.3"),
    ]
    for (text, expected) in cases {
      #expect(try ManifestFiles.read(try write("gradle.properties", text)) == expected, "\(text.debugDescription)")
    }
    // Properties keeps the last; `vers\ion` is the key `version`; `version=` then a line is empty.
    for text in ["version=1.0.0\nversion=2.0.0\n", "version=1.0.0\nvers\\ion=2.0.0\n", "version=1.0.0\nversio\\u006e=2.0.0\n"] {
      #expect(refusal(try write("gradle.properties", text))?.contains("sets version 2 times") == true, "\(text.debugDescription)")
    }
    #expect(refusal(try write("gradle.properties", "version=\n1.2.3\n"))?.contains("is empty") == true)
  }

  @Test func tomlGivenTwiceIsRefusedAsCargoAndPipRefuseIt() throws {
    let cargo = try write("Cargo.toml", "[package]\nname = \"app\"\nversion = \"1.0.0\"\nversion = \"2.0.0\"\n")
    _ = try write("VERSION", "3.0.0\n")
    #expect(refusal(cargo)?.contains("not valid TOML") == true)
    #expect(ManifestFiles.find(in: dir.path) == cargo)
    let py = try write("pyproject.toml", "[project]\nversion = \"1.0.0\"\n[project]\nversion = \"2.0.0\"\n")
    #expect(refusal(py)?.contains("not valid TOML") == true)
  }

  @Test(arguments: ["１.2.3", "1.2.3\u{0}", "1.٢.3", "1.2.3-rc.１", "99999999999999999999.0.0", "\u{FEFF}1.2.3"])
  func versionsWithOtherDigitsAreRefused(_ text: String) {
    #expect(throws: SemVerError.self) { try SemVer(parsing: text) }
  }
}

/// TOML nested past what toml++'s recursive walk survives.
@Suite struct DeepTOMLTests {
  /// Found by the version-manifest fuzz target: a 4-byte pyproject.toml `[ (` aborted the
  /// process (SIGABRT, debug and release builds) on toml++'s assertion in parse_key.
  @Test func aTableHeaderWithoutAKeyIsRefusedNotAnAbort() throws {
    let dir = try TempDirectory()
    // The byte-order mark ones found by the fuzz target again (toml++ skips a leading BOM).
    for text in ["[ (\n", "[\n", "[[ (\n", "[project]\nversion = \"1.0.0\"\n[  ( 3\nvers\\u0069on=2\n", "[\t\u{1F600}]\n", "\u{FEFF} [.\n", "\u{FEFF}[ (\n"] {
      try Data(text.utf8).write(to: URL(fileURLWithPath: dir.file("pyproject.toml")))
      #expect(throws: VersionSourceError.self, "\(text.debugDescription)") { try ManifestFiles.read(dir.file("pyproject.toml")) }
    }
    let fine = [
      "[ project ]", "version = \"1.2.3\"", "matrix = [", "  [ 1, 2 ],", "  [ \"a\", { x = [ +1 ] } ],", "]", "[ \"tool\" . 'x' ]", "[[ bin ]]", "name = \"[ (\"",
      "notes = \"\"\"", "[ (", "\"\"\"",
    ].joined(separator: "\n")
    try Data(fine.utf8).write(to: URL(fileURLWithPath: dir.file("pyproject.toml")))
    #expect(try ManifestFiles.read(dir.file("pyproject.toml")) == "1.2.3")
    // A file that starts with a byte-order mark is still read.
    try Data(("\u{FEFF}" + fine).utf8).write(to: URL(fileURLWithPath: dir.file("pyproject.toml")))
    #expect(try ManifestFiles.read(dir.file("pyproject.toml")) == "1.2.3")
  }

  @Test func aDeeplyDottedHeaderIsRefusedNotACrash() throws {
    let dir = try TempDirectory()
    // 50,000 parts crashed the process (SIGSEGV in toml++'s update_region_ends).
    let header = "[" + Array(repeating: "a", count: 50_000).joined(separator: ".") + "]\n"
    for (name, head) in [("pyproject.toml", "[project]\nversion = \"1.0.0\"\n"), ("Cargo.toml", "[package]\nversion = \"1.0.0\"\n")] {
      try Data((head + header).utf8).write(to: URL(fileURLWithPath: dir.file(name)))
      #expect(throws: VersionSourceError.self) { try ManifestFiles.read(dir.file(name)) }
    }
    // Dots in strings and comments are no nesting: a long description or URL list still reads.
    let dotted = String(repeating: "x.", count: 10_000)
    try Data("[project]\nversion = \"1.2.3\"\ndescription = \"\(dotted)\"\nurls = ['\(dotted)']\nnotes = \"\"\"\n\(dotted)\n\"\"\"\n# \(dotted)\n".utf8).write(
      to: URL(fileURLWithPath: dir.file("pyproject.toml")))
    #expect(try ManifestFiles.read(dir.file("pyproject.toml")) == "1.2.3")
  }
}

/// pom.xml as Maven reads it: the root project's own `<version>`.
@Suite struct PomVersionTests {
  let dir: TempDirectory
  init() throws { dir = try TempDirectory() }

  func read(_ text: String) throws -> String { try dir.manifestVersion("pom.xml", Data(text.utf8)) }

  @Test func theProjectsOwnVersionAsMavenSeesIt() throws {
    let cases: [(String, String)] = [
      // Commented out, Maven skips it; the regex read 0.0.1.
      ("<project><!-- <version>0.0.1</version> --><groupId>a</groupId><version>2.0.0</version></project>", "2.0.0"),
      ("<?xml version=\"1.0\"?><!DOCTYPE project [<!ENTITY x \"<version>9</version>\">]><project><version> 1.2.3 </version></project>", "1.2.3"),
      ("<project><distributionManagement><relocation><version>9.9.9</version></relocation></distributionManagement><version>1.2.3</version></project>", "1.2.3"),
      (
        "<project a=\"x>y\"><parent><version>9.9.9</version></parent><reporting><plugins><plugin><version>8</version></plugin></plugins></reporting><version><![CDATA[1.2.3]]></version></project>",
        "1.2.3"
      ),
    ]
    for (text, expected) in cases { #expect(try read(text) == expected, "\(text)") }
    #expect(throws: VersionSourceError("pom.xml has 2 project <version> elements (Maven refuses a duplicated tag: keep one)")) {
      try read("<project><version>1.0.0</version><name>x</name><version>2.0.0</version></project>")
    }
    // Maven gives a project without a version its parent's; it was passed over.
    #expect(try read("<project><parent><groupId>g</groupId><version>1.0.0</version></parent><artifactId>a</artifactId></project>") == "1.0.0")
    #expect(throws: VersionSourceError("pom.xml has no project <version>")) { try read("<project><dependencies><dependency><version>1.0.0</version></dependency></dependencies></project>") }
  }

  @Test func unclosedTagsTakeLinearTime() throws {
    // 3,000 unclosed <parent> (24 KB) took 25 s through the lazy regexes; 100,000 now take a
    // moment. No wall-clock bound: the suite's timeout catches a hang.
    let text = "<project>" + String(repeating: "<parent><dependencies>", count: 50_000) + "<version>1.0.0</version></project>"
    #expect(throws: VersionSourceError.self) { try read(text) }
    let flat = "<project><version>1.2.3</version>" + String(repeating: "<parent>", count: 100_000) + "</project>"
    #expect(try read(flat) == "1.2.3")
  }
}

/// Bytes around the text: a NUL ending a C string early, invalid UTF-8, a byte order mark.
@Suite struct ManifestBytesTests {
  let dir: TempDirectory
  init() throws { dir = try TempDirectory() }

  func read(_ name: String, _ bytes: [UInt8]) throws -> String { try dir.manifestVersion(name, Data(bytes)) }

  @Test func tomlWithANulOrBadUTF8IsRefusedAsCargoAndPipRefuseIt() {
    // Read as 1.0.0 before: TOMLKit passes a C string, so the NUL ended the document.
    let nul = Array("[package]\nversion = \"1.0.0\"\n".utf8) + [0] + Array("\n[package]\nversion = \"2.0.0\"\n".utf8)
    #expect(throws: VersionSourceError("Cargo.toml holds a NUL byte, which TOML does not allow")) { try read("Cargo.toml", nul) }
    let latin1 = Array("[project]\nversion = \"1.0.0\"\n# caf".utf8) + [0xE9]
    #expect(throws: VersionSourceError("pyproject.toml is not UTF-8 text")) { try read("pyproject.toml", latin1) }
  }

  @Test func aByteOrderMarkIsSkippedWhereTheToolSkipsIt() throws {
    let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
    #expect(try read("Chart.yaml", bom + Array("version: 1.2.3\nname: x\n".utf8)) == "1.2.3")
    #expect(try read("VERSION", bom + Array("1.2.3\n".utf8)) == "1.2.3")
    // java.util.Properties reads the mark as part of the first key: Gradle has no version.
    #expect(throws: VersionSourceError("gradle.properties has no version=")) { try read("gradle.properties", bom + Array("version=1.2.3\n".utf8)) }
  }
}

/// Cargo.toml as cargo reads it.
@Suite struct CargoVersionTests {
  let dir: TempDirectory
  init() throws { dir = try TempDirectory() }

  func read(_ text: String) throws -> String { try dir.manifestVersion("Cargo.toml", Data(text.utf8)) }

  @Test func theWorkspaceVersionOnlyWhereCargoInheritsIt() throws {
    #expect(try read("[workspace.package]\nversion = \"2.0.0\"\n[workspace]\nmembers = [\"a\"]\n") == "2.0.0")
    #expect(try read("[package]\nname = \"a\"\nversion.workspace = true\n[workspace.package]\nversion = \"2.0.0\"\n") == "2.0.0")
    // A package without version is 0.0.0 to cargo: it was read as the workspace's 2.0.0.
    #expect(throws: VersionSourceError("Cargo.toml has no [package].version")) { try read("[package]\nname = \"a\"\n[workspace.package]\nversion = \"2.0.0\"\n") }
    // A member crate inheriting from a root elsewhere, or a version no string: cargo reads
    // the root, or refuses; both were passed over for the next file's version.
    #expect(throws: VersionSourceError("Cargo.toml takes its version from the workspace (version.workspace = true): set file to the workspace root's Cargo.toml")) {
      try read("[package]\nname = \"a\"\nversion.workspace = true\n")
    }
    #expect(throws: VersionSourceError("Cargo.toml's [package].version is neither a string nor { workspace = true }")) { try read("[package]\nversion = 1\n") }
    // A \u0000 escape ended the C string TOMLKit reads: cargo has no version here.
    #expect(throws: VersionSourceError.self) { try read("[package]\nversion = \"1.0.0\\u0000garbage\"\n") }
  }
}

/// TOML manifests read in a child process (the binary's way): a child that crashes, as toml++
/// aborts on some malformed TOML, is an error naming the file, not the end of the stage.
/// Real child processes stand in for the binary here; `HostileVersionSourceTests` runs it.
@Suite struct ManifestIsolationTests {
  let dir: TempDirectory
  init() throws { dir = try TempDirectory() }

  @Test func aChildThatCrashesIsAnErrorNamingTheFile() throws {
    let path = dir.file("pyproject.toml")
    try Data("[project]\nversion = \"1.2.3\"\n".utf8).write(to: URL(fileURLWithPath: path))
    #expect {
      try ManifestFiles.versionInChild(path, named: "pyproject.toml", command: ["/bin/sh", "-c", "kill -ABRT $$", "sh"])
    } throws: { error in
      let e = error as? VersionSourceError
      return e?.noVersion == false && e?.description == "pyproject.toml cannot be read: the TOML reader was stopped by signal 6 on it; refused"
    }
    // A reader sent into a loop is killed at the time limit.
    #expect(throws: VersionSourceError("pyproject.toml cannot be read: the TOML reader did not finish within 1 s on it; refused")) {
      try ManifestFiles.versionInChild(path, named: "pyproject.toml", command: ["/bin/sh", "-c", "exec sleep 30", "sh"], timeLimit: .seconds(1))
    }
    #expect(throws: VersionSourceError("pyproject.toml cannot be read: the TOML reader ended with status 3 on it; refused")) {
      try ManifestFiles.versionInChild(path, named: "pyproject.toml", command: ["/bin/sh", "-c", "exit 3", "sh"])
    }
  }

  @Test func theChildsAnswersAreTheVersionOrTheReason() throws {
    let path = dir.file("Cargo.toml")
    try Data("[package]\nname = \"a\"\nversion = \"0.4.1\"\n".utf8).write(to: URL(fileURLWithPath: path))
    // The child's side, then through a real child that prints it back.
    let answer = ManifestFiles.answerInChild(name: "Cargo.toml", path: path)
    #expect(answer == "V0.4.1")
    #expect(try ManifestFiles.versionInChild(path, named: "Cargo.toml", command: ["/bin/sh", "-c", "printf %s \"$0\"", answer]) == "0.4.1")
    try Data("[package\nname = \"a\"\n".utf8).write(to: URL(fileURLWithPath: path))
    let refused = ManifestFiles.answerInChild(name: "Cargo.toml", path: path)
    #expect(refused.hasPrefix("ECargo.toml is not valid TOML"), "\(refused)")
    #expect(throws: VersionSourceError(String(refused.dropFirst()))) {
      try ManifestFiles.versionInChild(path, named: "Cargo.toml", command: ["/bin/sh", "-c", "printf %s \"$0\"", refused])
    }
    try Data("[tool.black]\nline-length = 100\n".utf8).write(to: URL(fileURLWithPath: dir.file("pyproject.toml")))
    let none = ManifestFiles.answerInChild(name: "pyproject.toml", path: dir.file("pyproject.toml"))
    #expect(none.hasPrefix("N"), "\(none)")
    #expect {
      try ManifestFiles.versionInChild(path, named: "pyproject.toml", command: ["/bin/sh", "-c", "printf %s \"$0\"", none])
    } throws: { ($0 as? VersionSourceError)?.noVersion == true }
    // A program that cannot be started leaves the file to be read in process.
    try Data("[project]\nversion = \"5.0.0\"\n".utf8).write(to: URL(fileURLWithPath: dir.file("pyproject.toml")))
    #expect(try ManifestFiles.versionInChild(dir.file("pyproject.toml"), named: "pyproject.toml", command: ["/nonexistent/gantry"]) == "5.0.0")
  }
}

extension TempDirectory {
  /// Writes `bytes` as the manifest file `name` here and reads its version as `version` does.
  func manifestVersion(_ name: String, _ bytes: Data) throws -> String {
    try bytes.write(to: URL(fileURLWithPath: file(name)))
    return try ManifestFiles.read(file(name))
  }
}
