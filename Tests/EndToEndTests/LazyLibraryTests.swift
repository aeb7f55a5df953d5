import Foundation
import TestSupport
import Testing

/// Whether the binary under test is a dynamic build (its `--version` says so).
private var binaryLoadsLibrariesOnFirstUse: Bool {
  (try? runCommand(RepoPaths.gantryBinary, ["--version"], environment: [:]).stdout.contains("loaded on first use")) ?? false
}

/// The dynamic build loads libcurl and libgit2 the first time a stage needs them
/// (Sources/CLibraries), so a run that needs neither starts without their ~40 shared libraries
/// (docs/benchmarks.md "Start-up and size"). The dynamic loader's own log (`LD_DEBUG=libs`, on
/// stderr) says which libraries a run of the built binary searched for. The static binary
/// (`GANTRY_BINARY=.build-static/gantry`) links both and has no loader: the suite is skipped.
@Suite("libcurl and libgit2 loaded on first use", .serialized, .enabled(if: binaryLoadsLibrariesOnFirstUse))
struct LazyLibraryTests {
  /// Runs the binary under the loader's log: its exit status, stdout, and the file names of
  /// the shared libraries it searched for (`find library=libcurl.so.4 [0]; searching`).
  static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> (status: Int32, stdout: String, libraries: Set<String>) {
    let r = try await awaitCommand(RepoPaths.gantryBinary, arguments, environment: ["PATH": "/usr/bin:/bin", "LD_DEBUG": "libs"].merging(environment) { $1 })
    let libraries = r.stderr.split(separator: "\n").compactMap { line -> String? in
      guard let found = line.range(of: "find library=") else { return nil }
      return String(line[found.upperBound...].prefix { $0 != " " })
    }
    return (r.status, r.stdout, Set(libraries))
  }

  static func loadsNeither(_ arguments: [String], status: Int32, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let r = try await run(arguments)
    #expect(r.status == status, "\(arguments): \(r.stdout)", sourceLocation: sourceLocation)
    // The log is there (libc is always searched for): an empty set would prove nothing.
    #expect(r.libraries.contains { $0.hasPrefix("libc.so") }, "no loader log for \(arguments)", sourceLocation: sourceLocation)
    #expect(!r.libraries.contains { $0.hasPrefix("libcurl") || $0.hasPrefix("libgit2") }, "\(arguments) loaded \(r.libraries.sorted())", sourceLocation: sourceLocation)
  }

  @Test func versionHelpBadInputAndBuildTagLoadNeitherLibrary() async throws {
    try await Self.loadsNeither(["--version"], status: 0)
    try await Self.loadsNeither(["--help"], status: 0)
    try await Self.loadsNeither(["build-tag", "--colour", "red"], status: 2)
    try await Self.loadsNeither(["build-tag", "--images", "ghcr.io/acme/app", "--environment", "production", "--version", "v1.4.2"], status: 0)
    let version = try await Self.run(["--version"])
    #expect(version.stdout.hasPrefix("gantry ") && version.stdout.contains("libcurl.so.4, loaded on first use"), "\(version.stdout)")
  }

  @Test func healthCheckLoadsLibcurlAndWorks() async throws {
    let server = try await LocalHTTPServer()
    defer { server.stop() }
    let r = try await Self.run(["health-check", "--url", server.url("/status/200").absoluteString, "--probes", "2", "--interval", "0"])
    #expect(r.status == 0, "\(r.stdout)")
    #expect(r.stdout.contains("failures=0"), "\(r.stdout)")
    #expect(r.libraries.contains("libcurl.so.4"), "\(r.libraries.sorted())")
    #expect(!r.libraries.contains { $0.hasPrefix("libgit2") })
  }

  @Test func versionStageLoadsLibgit2AndNotLibcurl() async throws {
    let dir = try TempDirectory()
    let git = ["-c", "user.name=t", "-c", "user.email=t@example.com", "-C", dir.path]
    for args in [["init", "-q", dir.path], git + ["commit", "-q", "--allow-empty", "-m", "feat: one"], git + ["tag", "v1.2.0"], git + ["commit", "-q", "--allow-empty", "-m", "fix: two"]] {
      let g = try runCommand("/usr/bin/git", args, environment: ["PATH": "/usr/bin:/bin", "HOME": dir.path])
      #expect(g.status == 0, "git \(args): \(g.stderr)")
    }
    let r = try await Self.run(["version"], environment: ["GITHUB_WORKSPACE": dir.path])
    #expect(r.status == 0, "\(r.stdout)")
    #expect(r.stdout.contains("next-version=1.2.1"), "\(r.stdout)")
    #expect(r.libraries.contains { $0.hasPrefix("libgit2.so") }, "\(r.libraries.sorted())")
    #expect(!r.libraries.contains { $0.hasPrefix("libcurl") })
  }

  /// A hostile `LD_LIBRARY_PATH`: a directory holding a `libcurl.so.4` that is a library
  /// (it loads) without most of curl's functions, or no library at all. One error naming the
  /// library and what is wrong, exit 1: never a call through a missing symbol.
  @Test func aFakeLibcurlOnTheLibraryPathIsOneErrorLineAndExit1() async throws {
    let dir = try TempDirectory()
    try Data("int curl_global_init(long flags) { return 0; }\n".utf8).write(to: URL(fileURLWithPath: dir.file("fake.c")))
    let cc = try await awaitCommand("/usr/bin/cc", ["-shared", "-fPIC", "-o", dir.file("libcurl.so.4"), dir.file("fake.c")])
    try #require(cc.status == 0, "\(cc.stderr)")
    let junk = try TempDirectory()
    try Data("not an ELF file".utf8).write(to: URL(fileURLWithPath: junk.file("libcurl.so.4")))
    for (path, says) in [(dir.path, "libcurl.so.4 has no curl_"), (junk.path, "libcurl.so.4 could not be loaded (")] {
      let r = try await awaitCommand(
        RepoPaths.gantryBinary, ["health-check", "--url", "http://127.0.0.1:1/", "--wait-timeout", "1s"],
        environment: ["PATH": "/usr/bin:/bin", "GITHUB_ACTIONS": "true", "LD_LIBRARY_PATH": path])
      #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
      let errors = r.stdout.split(separator: "\n").filter { $0.hasPrefix("::error") }
      #expect(errors.count == 1, "\(r.stdout)")
      #expect(errors.first?.hasPrefix("::error title=Missing library::\(says)") == true, "\(r.stdout)")
    }
  }

  /// Without libcurl (an empty file bind-mounted over it in a private mount namespace: root
  /// only), a stage that needs HTTP prints one error naming the library and exits 1.
  @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")))
  func aMissingLibcurlIsOneErrorLineAndExit1() async throws {
    let probe = try await awaitCommand(RepoPaths.gantryBinary, ["health-check", "--url", "http://127.0.0.1:1/", "--wait-timeout", "1s"], environment: ["LD_DEBUG": "files"])
    // "calling init: /lib/x86_64-linux-gnu/libcurl.so.4": the file the loader opened.
    let line = try #require(probe.stderr.split(separator: "\n").first { $0.contains("calling init: ") && $0.contains("/libcurl.so.4") })
    let path = String(line[try #require(line.range(of: "calling init: ")).upperBound...])
    let file = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    let r = try await awaitCommand(
      "/usr/bin/unshare",
      ["-m", "/bin/sh", "-c", "mount --bind /dev/null \"$0\" && exec \"$@\"", file, RepoPaths.gantryBinary, "health-check", "--url", "http://127.0.0.1:1/"],
      environment: ["PATH": "/usr/bin:/bin", "GITHUB_ACTIONS": "true"])
    #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
    let errors = r.stdout.split(separator: "\n").filter { $0.hasPrefix("::error") }
    #expect(errors.count == 1, "\(r.stdout)")
    #expect(errors.first?.hasPrefix("::error title=Missing library::libcurl.so.4 could not be loaded (") == true, "\(r.stdout)")
    #expect(errors.first?.contains("install libcurl4") == true)
  }
}
