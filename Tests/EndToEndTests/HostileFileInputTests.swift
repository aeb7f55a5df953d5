import Foundation
import TestSupport
import Testing

/// The built binary given files that are not what an input promises: a `ca-file` that is a
/// FIFO, a device, a directory or 16 MiB of noise, a `RUNNER_TEMP` that is no directory.
/// Each must end at once with one `::error title=Invalid input::` naming `ca-file`, exit 2:
/// never a hang (a FIFO's open waits for a writer that never comes) and never a crash.
@Suite("hostile files given as inputs", .serialized)
struct HostileFileInputTests {
  let dir: TempDirectory
  init() throws { dir = try TempDirectory() }

  /// A health check that fails at once if it gets as far as probing (nothing listens on
  /// port 1): a `ca-file` is read while its settings are made, before any probe. Run under
  /// `timeout` so that a hang is a failed expectation (exit 124), not a stuck test run.
  /// `waitTimeout` bounds the probes too (a waiting probe ends with the wait): a check that
  /// must succeed gives a loaded machine's first TLS handshake more than 1 s.
  func healthCheck(caFile: String, runnerTemp: String? = nil, url: String = "https://127.0.0.1:1/", waitTimeout: String = "1s") async throws -> (status: Int32, stdout: String) {
    var env = [
      "PATH": "/usr/bin:/bin", "GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": dir.file("output"), "GITHUB_STEP_SUMMARY": dir.file("summary"),
      "INPUT_STAGE": "health-check", "INPUT_URL": url, "INPUT_WAIT-TIMEOUT": waitTimeout, "INPUT_CA-FILE": caFile,
    ]
    env["RUNNER_TEMP"] = runnerTemp
    let r = try await awaitCommand("/usr/bin/timeout", ["-k", "5", "20", RepoPaths.gantryBinary], environment: env)
    return (r.status, r.stdout)
  }

  func expectCAFileError(_ r: (status: Int32, stdout: String), mentioning: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(r.status == 2, "exit \(r.status) (124 or 137: hung)\n\(r.stdout)", sourceLocation: sourceLocation)
    let errors = r.stdout.split(separator: "\n").filter { $0.hasPrefix("::error") }
    #expect(errors.count == 1, "\(r.stdout)", sourceLocation: sourceLocation)
    #expect(errors.first?.hasPrefix("::error title=Invalid input::") == true, "\(r.stdout)", sourceLocation: sourceLocation)
    #expect(errors.first?.contains("ca-file") == true, "\(r.stdout)", sourceLocation: sourceLocation)
    #expect(errors.first?.contains(mentioning) == true, "\(r.stdout)", sourceLocation: sourceLocation)
  }

  /// Before: the open of a FIFO blocked until a writer came, so the stage hung past its
  /// `timeout` (a blocked `open` is no cancellation point) until the job's limit.
  @Test func aFIFOIsRefusedWithoutWaitingForAWriter() async throws {
    let fifo = dir.file("ca.fifo")
    #expect(mkfifo(fifo, 0o600) == 0)
    // A hang shows as `timeout`'s exit 124, not as a wall-clock bound that a loaded
    // machine can miss without any hang.
    expectCAFileError(try await healthCheck(caFile: fifo), mentioning: "regular file")
  }

  @Test func aDeviceADirectoryAndHugeNoiseAreRefused() async throws {
    expectCAFileError(try await healthCheck(caFile: "/dev/zero"), mentioning: "regular file")
    expectCAFileError(try await healthCheck(caFile: dir.path), mentioning: "regular file")
    let huge = dir.file("huge.pem")
    try Data(repeating: UInt8(ascii: "A"), count: (16 << 20) + 10).write(to: URL(fileURLWithPath: huge))
    expectCAFileError(try await healthCheck(caFile: huge), mentioning: "larger than 16 MiB")
    let garbage = dir.file("garbage.pem")
    try Data("MIIB this is no PEM block at all\n-----END CERTIFICATE-----\n".utf8).write(to: URL(fileURLWithPath: garbage))
    expectCAFileError(try await healthCheck(caFile: garbage), mentioning: "no PEM certificate")
  }

  /// One damaged certificate block among good ones: OpenSSL refuses the whole bundle, so
  /// before, every TLS connection failed (exit 1) with "error setting certificate file:
  /// /tmp/gantry-ca-….pem", a file the user never named. Text between blocks is fine.
  @Test func aDamagedCertificateBlockIsAnInputErrorAndTextBetweenBlocksIsNot() async throws {
    let certs = try await TestCertificates(in: dir)
    let server = try await LocalHTTPServer(tls: certs)
    defer { server.stop() }
    let good = try String(contentsOfFile: certs.caCert, encoding: .utf8)
    let lines = good.split(separator: "\n")
    let truncated = lines.prefix(lines.count / 2).joined(separator: "\n") + "\n-----END CERTIFICATE-----\n"
    let url = server.url("/status/200").absoluteString
    for (name, text, says) in [
      ("garbled.pem", good + "junk\n-----BEGIN CERTIFICATE-----\nMIIB!!!!notbase64\n-----END CERTIFICATE-----\n", "damaged"),
      ("truncated.pem", good + truncated, "damaged"), ("unended.pem", good + "-----BEGIN CERTIFICATE-----\nMIIB\n", "no END line"),
    ] {
      try Data(text.utf8).write(to: URL(fileURLWithPath: dir.file(name)))
      expectCAFileError(try await healthCheck(caFile: dir.file(name), url: url), mentioning: says)
    }
    let between = dir.file("between.pem")
    try Data(("Bag Attributes\n    friendlyName: ca\n" + good + "\nsubject=/CN=x\n").utf8).write(to: URL(fileURLWithPath: between))
    let r = try await healthCheck(caFile: between, url: url, waitTimeout: "10s")
    #expect(r.status == 0, "\(r.stdout)")
  }

  /// A runner's temporary directory that is missing, or a file: the combined bundle cannot be
  /// written there, said in one line naming the input.
  @Test func aRunnerTempThatIsNoDirectoryIsOneError() async throws {
    let certs = try await TestCertificates(in: dir)
    expectCAFileError(try await healthCheck(caFile: certs.caCert, runnerTemp: dir.file("missing")), mentioning: "cannot write a CA bundle")
    let file = dir.file("a-file")
    try Data("x".utf8).write(to: URL(fileURLWithPath: file))
    expectCAFileError(try await healthCheck(caFile: certs.caCert, runnerTemp: file), mentioning: "cannot write a CA bundle")
    // A symbolic link to a directory is a directory: the bundle is written through it.
    let real = dir.file("real-temp")
    try FileManager.default.createDirectory(atPath: real, withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(atPath: dir.file("link-temp"), withDestinationPath: real)
    let r = try await healthCheck(caFile: certs.caCert, runnerTemp: dir.file("link-temp"))
    #expect(r.status == 1, "\(r.stdout)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: real).contains { $0.hasPrefix("gantry-ca-") })
  }
}
