import Foundation
import OCI
import TestSupport
import Testing

/// The built binary promotes between two real registries in a runner-shaped environment.
@Suite("gantry promote binary against real registries", .serialized)
struct PromoteBinaryTests {
  /// A reader of stdout that goes away (`gantry promote … | head -n 3`, here a pipe whose read
  /// end is closed) does not end the promotion where it stands. Before, the next log line's
  /// write killed the process with SIGPIPE: at `head -n 3`, after the tags had moved and before
  /// the closing record, so the environment's intent stayed open until its lease ended.
  @Test func aClosedStdoutDoesNotStopAPromotionHalfway() async throws {
    let staging = try await RegistryProcess()
    let production = try await RegistryProcess()
    let image = try await ImageFactory(client: testRegistryClient(staging.host), repository: "app").pushImage(tag: "1.0.0", layerSizes: [100])
    let arguments = ["promote", "--source", "\(staging.host)/app:1.0.0", "--target", "\(production.host)/app", "--tags", "1.0.0", "--environment", "production"]
    let (reason, status): (Process.TerminationReason, Int32) = try await withCheckedThrowingContinuation { continuation in
      Thread {
        continuation.resume(
          with: Result {
            let pipe = Pipe()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: RepoPaths.gantryBinary)
            process.arguments = arguments
            process.environment = ["PATH": "/usr/bin:/bin"]
            process.standardOutput = pipe.fileHandleForWriting
            process.standardError = FileHandle.nullDevice
            try pipe.fileHandleForReading.close()
            try process.run()
            try pipe.fileHandleForWriting.close()
            process.waitUntilExit()
            return (process.terminationReason, process.terminationStatus)
          })
      }.start()
    }
    #expect(reason == .exit && status == 0, "ended by \(reason == .uncaughtSignal ? "signal" : "exit") \(status)")
    let prod = testRegistryClient(production.host)
    #expect(try await prod.resolve("app", "production")?.digest == image.digest)
    let newest = try await History(client: prod, repository: "app", environment: "production").entries().entries.first
    #expect(newest?.record.state == .completed)
  }

  @Test func promoteThenVerifyWriteTheDocumentedFiles() async throws {
    let staging = try await RegistryProcess()
    let production = try await RegistryProcess()
    let dir = try TempDirectory()
    let (index, images) = try await ImageFactory(client: testRegistryClient(staging.host), repository: "acme/app").pushIndex(
      tag: "1.0.0-SNAPSHOT-abcdef1", platforms: [Platform(os: "linux", architecture: "amd64"), Platform(os: "linux", architecture: "arm64")], layerSizes: [1000])
    let env = [
      "PATH": "/usr/bin:/bin", "GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": dir.file("output"), "GITHUB_STEP_SUMMARY": dir.file("summary"),
      "INPUT_STAGE": "promote", "INPUT_SOURCE": "\(staging.host)/acme/app:1.0.0-SNAPSHOT-abcdef1", "INPUT_TARGET": "\(production.host)/acme/app",
      "INPUT_TAGS": "1.0.0\nproduction", "INPUT_TARGET-PASSWORD": "", "INPUT_DRY-RUN": "false",
    ]
    let r = try await awaitCommand(RepoPaths.gantryBinary, [], environment: env)
    #expect(r.status == 0, "\(r.stdout)")
    #expect(r.stdout.contains("::notice title=Promoted::\(index.digest) to \(production.host)/acme/app as 1.0.0, production"))
    let outputs = try String(contentsOfFile: dir.file("output"), encoding: .utf8)
      .replacingOccurrences(of: #"ghadelimiter_[0-9A-F-]{36}"#, with: "D", options: .regularExpression)
      .replacingOccurrences(of: #"duration-ms<<D\n\d+\n"#, with: "duration-ms<<D\nN\n", options: .regularExpression)
    let blobBytes = images.reduce(Int64(0)) { total, image in
      guard case .image(let config, let layers, _, _) = image.content else { return total }
      return total + config.size + layers.reduce(0) { $0 + $1.size }
    }
    #expect(
      outputs == """
        digest<<D
        \(index.digest)
        D
        image<<D
        \(production.host)/acme/app@\(index.digest)
        D
        tags<<D
        1.0.0
        production
        D
        platforms<<D
        linux/amd64
        linux/arm64
        D
        bytes-copied<<D
        \(blobBytes)
        D
        bytes-mounted<<D
        0
        D
        blobs-skipped<<D
        0
        D
        duration-ms<<D
        N
        D
        status<<D
        promoted
        D
        signature<<D
        unsigned
        D
        artifacts-copied<<D
        0
        D
        provenance<<D
        unchecked
        D
        rate-limits<<D
        {}
        D

        """)
    let summary = try String(contentsOfFile: dir.file("summary"), encoding: .utf8)
    #expect(summary.hasPrefix("## Promote: promoted\n"))
    #expect(summary.contains("| Digest | `\(index.digest)` |"))
    // Before, the summary did not show the reference to deploy (the `image` output).
    #expect(summary.contains("| Image to deploy | `\(production.host)/acme/app@\(index.digest)` |"), "\(summary)")

    var verify = env
    verify["INPUT_STAGE"] = "verify-digest"
    verify["INPUT_TARGET"] = "\(production.host)/acme/app:production"
    try "".write(toFile: dir.file("output"), atomically: true, encoding: .utf8)
    let v = try await awaitCommand(RepoPaths.gantryBinary, [], environment: verify)
    #expect(v.status == 0)
    let vout = try String(contentsOfFile: dir.file("output"), encoding: .utf8)
    #expect(vout.contains("match<<ghadelimiter_") && vout.contains("\ntrue\n"))

    // A source that does not exist: exit 1, one error line naming the registry, no outputs.
    var missing = env
    missing["INPUT_SOURCE"] = "\(staging.host)/acme/app:nope"
    try "".write(toFile: dir.file("output"), atomically: true, encoding: .utf8)
    let m = try await awaitCommand(RepoPaths.gantryBinary, [], environment: missing)
    #expect(m.status == 1)
    #expect(m.stdout.contains("::error title=promote failed::manifest acme/app:nope not found at \(staging.host)"))
    #expect(try String(contentsOfFile: dir.file("output"), encoding: .utf8).isEmpty)
  }
}
