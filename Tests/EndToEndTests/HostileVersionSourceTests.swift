import Foundation
import TestSupport
import Testing

/// The built binary's `version` stage reading manifest files a pull request wrote: links out of
/// the checkout, files too large, text that is no version. What reaches stdout is what the
/// runner logs (and what a fork's author reads back).
@Suite("version: hostile manifest files", .serialized)
struct HostileVersionSourceTests {
  let dir: TempDirectory
  init() throws { dir = try TempDirectory() }

  /// Runs the binary on a thread of its own (not the cooperative pool) in `checkout`.
  func version(_ checkout: String, _ inputs: [String: String] = [:]) async throws -> (status: Int32, stdout: String, stderr: String) {
    let env = [
      "PATH": "/usr/bin:/bin", "GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": dir.file("output"), "GITHUB_STEP_SUMMARY": dir.file("summary"),
      "GITHUB_WORKSPACE": checkout, "INPUT_STAGE": "version", "INPUT_SOURCE": "file", "RUNNER_SECRET_PROBE": "probe-7f3a9c",
    ].merging(inputs) { $1 }
    return try await withCheckedThrowingContinuation { continuation in
      Thread { continuation.resume(with: Result { try runCommand(RepoPaths.gantryBinary, [], environment: env) }) }.start()
    }
  }

  func checkout(_ name: String) throws -> String {
    let path = dir.file(name)
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  @Test func aManifestLinkedOutsideTheCheckoutIsNotRead() async throws {
    try "token=ghp_leakedSecretValue42\n".write(toFile: dir.file("runner-secret"), atomically: true, encoding: .utf8)
    for (i, name) in ["VERSION", "package.json", "pyproject.toml"].enumerated() {
      let co = try checkout("co\(i)")
      try FileManager.default.createSymbolicLink(atPath: "\(co)/\(name)", withDestinationPath: dir.file("runner-secret"))
      let explicit = try await version(co, ["INPUT_FILE": name])
      #expect(explicit.status == 2, "\(explicit.stdout)")
      #expect(explicit.stdout.contains("is a symbolic link"), "\(explicit.stdout)")
      #expect(!explicit.stdout.contains("ghp_leaked"), "\(name): the linked file's text reached the log: \(explicit.stdout)")
      let auto = try await version(co, ["INPUT_SOURCE": "auto"])
      #expect(!auto.stdout.contains("ghp_leaked"), "\(auto.stdout)")
    }
    // The process's own environment, the classic target: nothing of it is printed.
    let co = try checkout("environ")
    try FileManager.default.createSymbolicLink(atPath: "\(co)/VERSION", withDestinationPath: "/proc/self/environ")
    let r = try await version(co)
    #expect(r.status == 2)
    #expect(!r.stdout.contains("probe-7f3a9c"), "\(r.stdout)")
  }

  /// Links that stay in the checkout are a monorepo's (`svc/VERSION -> ../VERSION`): read.
  /// A link into `.git` (actions/checkout keeps the job's token in `.git/config`) and a
  /// directory of the checkout linked outside it are refused like a link outside, unread.
  @Test func linksWithinTheCheckoutAreFollowedAndNoFurther() async throws {
    let co = try checkout("mono")
    try FileManager.default.createDirectory(atPath: "\(co)/svc", withIntermediateDirectories: true)
    try "1.4.2\n".write(toFile: "\(co)/VERSION", atomically: true, encoding: .utf8)
    try FileManager.default.createSymbolicLink(atPath: "\(co)/svc/VERSION", withDestinationPath: "../VERSION")
    for inputs in [["INPUT_WORKING-DIRECTORY": "svc"], ["INPUT_WORKING-DIRECTORY": "svc", "INPUT_SOURCE": "auto"], ["INPUT_FILE": "svc/VERSION"]] {
      try? FileManager.default.removeItem(atPath: dir.file("output"))
      let r = try await version(co, inputs)
      #expect(r.status == 0, "\(inputs): \(r.stdout)")
      let output = (try? String(contentsOfFile: dir.file("output"), encoding: .utf8)) ?? ""
      #expect(output.contains("1.4.2"), "\(inputs): \(output)")
    }

    let git = try checkout("gitlink")
    try FileManager.default.createDirectory(atPath: "\(git)/.git", withIntermediateDirectories: true)
    try "[http]\n\textraheader = AUTHORIZATION: basic c2VjcmV0LXRva2Vu\n".write(toFile: "\(git)/.git/config", atomically: true, encoding: .utf8)
    try FileManager.default.createSymbolicLink(atPath: "\(git)/VERSION", withDestinationPath: ".git/config")
    let r = try await version(git)
    #expect(r.status == 2, "\(r.stdout)")
    #expect(r.stdout.contains("into its .git"), "\(r.stdout)")
    #expect(!r.stdout.contains("extraheader") && !r.stdout.contains("c2VjcmV0"), "\(r.stdout)")

    try "token=ghp_leakedSecretValue42\n".write(toFile: dir.file("outside-VERSION"), atomically: true, encoding: .utf8)
    try FileManager.default.createDirectory(atPath: dir.file("outside"), withIntermediateDirectories: true)
    try "token=ghp_leakedSecretValue42\n".write(toFile: dir.file("outside/VERSION"), atomically: true, encoding: .utf8)
    let linkedDir = try checkout("linkeddir")
    try FileManager.default.createSymbolicLink(atPath: "\(linkedDir)/svc", withDestinationPath: dir.file("outside"))
    let d = try await version(linkedDir, ["INPUT_WORKING-DIRECTORY": "svc"])
    #expect(d.status == 2, "\(d.stdout)")
    #expect(d.stdout.contains("through a symbolic link"), "\(d.stdout)")
    #expect(!d.stdout.contains("ghp_leaked"), "\(d.stdout)")
  }

  /// The binary reads TOML manifests in a child of itself (ManifestIsolation): the version, a
  /// file without one passed over by `auto`, and a broken one refused in one line.
  @Test func tomlManifestsAreReadThroughTheBinarysChild() async throws {
    let co = try checkout("toml")
    try "[project]\nname = \"a\"\nversion = \"3.1.4\"\n".write(toFile: "\(co)/pyproject.toml", atomically: true, encoding: .utf8)
    let r = try await version(co, ["INPUT_SOURCE": "auto"])
    #expect(r.status == 0, "\(r.stdout)")
    #expect(((try? String(contentsOfFile: dir.file("output"), encoding: .utf8)) ?? "").contains("3.1.4"))
    try "[tool.black]\nline-length = 100\n".write(toFile: "\(co)/pyproject.toml", atomically: true, encoding: .utf8)
    try "[package]\nname = \"a\"\nversion = \"2.7.1\"\n".write(toFile: "\(co)/Cargo.toml", atomically: true, encoding: .utf8)
    try? FileManager.default.removeItem(atPath: dir.file("output"))
    let auto = try await version(co, ["INPUT_SOURCE": "auto"])
    #expect(auto.status == 0, "\(auto.stdout)")
    #expect(((try? String(contentsOfFile: dir.file("output"), encoding: .utf8)) ?? "").contains("2.7.1"))
    try "[package\nversion = \"2.7.1\"\n".write(toFile: "\(co)/Cargo.toml", atomically: true, encoding: .utf8)
    let broken = try await version(co, ["INPUT_FILE": "Cargo.toml"])
    #expect(broken.status == 2, "\(broken.stdout)")
    let errors = broken.stdout.split(separator: "\n").filter { $0.hasPrefix("::error") }
    #expect(errors.count == 1 && errors.first?.contains("Cargo.toml is not valid TOML") == true, "\(broken.stdout)")
  }

  @Test func aHugeOrWordyVersionFileIsOneShortErrorLine() async throws {
    let big = try checkout("big")
    try Data(repeating: UInt8(ascii: "1"), count: (1 << 20) + 1).write(to: URL(fileURLWithPath: "\(big)/VERSION"))
    let huge = try await version(big, ["INPUT_FILE": "VERSION"])
    #expect(huge.status == 2, "\(huge.stdout.prefix(300))")
    let named = huge.stdout.contains("larger than 1 MiB")
    #expect(named, "\(huge.stdout.prefix(300))")

    let wordy = try checkout("wordy")
    try (String(repeating: "not a version ", count: 5000) + "\n::error::x").write(toFile: "\(wordy)/VERSION", atomically: true, encoding: .utf8)
    let r = try await version(wordy)
    #expect(r.status == 1)
    let lines = r.stdout.split(separator: "\n")
    let short = lines.count == 1 && lines.allSatisfy { $0.count < 400 }
    #expect(short, "\(r.stdout.prefix(600))")
    let said = r.stdout.contains("is not a semantic version")
    #expect(said)
  }

  /// The refusals quote the file's text (a key given twice, a value): as data on one
  /// `::error` line, never a command of its own, and never a step output.
  @Test func refusalsQuotingTheFileAreOneInertLine() async throws {
    let files: [(String, String)] = [
      ("package.json", #"{"version":"1.0.0","a\n::set-output name=injected::1\u001b[31m":1,"a\n::set-output name=injected::1\u001b[31m":2}"#),
      ("Chart.yaml", "version: 1.0.0 ::set-output name=injected::1 ##[add-mask]x \u{1B}[31m\n"),
      ("gradle.properties", "version=1.0.0\nvers\\ion=::error::x\n"),
      ("pom.xml", "<project><version>1.0.0\n::set-output name=injected::1</version></project>"),
    ]
    for (i, (name, text)) in files.enumerated() {
      let co = try checkout("inert\(i)")
      try Data(text.utf8).write(to: URL(fileURLWithPath: "\(co)/\(name)"))
      try? FileManager.default.removeItem(atPath: dir.file("output"))
      let r = try await version(co, ["INPUT_SOURCE": "auto"])
      #expect([1, 2].contains(r.status), "\(name): \(r.stdout)")
      let lines = r.stdout.split(separator: "\n")
      #expect(lines.count == 1 && lines[0].hasPrefix("::error title="), "\(name): \(r.stdout)")
      #expect(!r.stdout.contains("\u{1B}") && !r.stdout.contains("##["), "\(name): \(r.stdout)")
      #expect(!FileManager.default.fileExists(atPath: dir.file("output")), "\(name): no outputs from a refused manifest")
    }
  }
}
