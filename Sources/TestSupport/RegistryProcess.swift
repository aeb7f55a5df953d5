import Foundation
import HTTP

/// A real CNCF distribution registry (`docker-registry`, Debian's package) run as a child
/// process on a free 127.0.0.1 port, storing in a temp dir; killed by pid when released.
public final class RegistryProcess: @unchecked Sendable {
  public enum Auth: Sendable {
    case none
    /// htpasswd Basic auth with one user.
    case basic(username: String, password: String)
    /// `auth: token`: Bearer tokens from a test issuer (Tests/Fixtures/token_server.py)
    /// that accepts one user, signed with the certificates' CA key.
    case token(username: String, password: String, certificates: TestCertificates)

    var isNone: Bool {
      if case .none = self { return true }
      return false
    }
  }

  /// The token issuer, for `.token` auth.
  public private(set) var tokenServer: ChildProcess?
  public private(set) var tokenPort: Int?

  public let port: Int
  public let directory: TempDirectory
  private let child: ChildProcess

  /// `127.0.0.1:<port>`
  public var host: String { "127.0.0.1:\(port)" }

  /// Starts the registry and waits until it answers. Async: the start-up (htpasswd, the token
  /// issuer, polling `/v2/`) takes seconds on a loaded machine, and a synchronous wait would
  /// hold one of the cooperative pool's two threads that every other test's requests need.
  /// `ports` chooses each attempt's port (tests of the retry give a taken one first).
  public init(auth: Auth = .none, tls: TestCertificates? = nil, ports: @Sendable () throws -> Int = freePort) async throws {
    guard let binary = which("docker-registry") ?? (FileManager.default.isExecutableFile(atPath: "/usr/bin/docker-registry") ? "/usr/bin/docker-registry" : nil) else {
      throw TestSupportError("docker-registry is not installed (apt-get install docker-registry; scripts/setup does it)")
    }
    directory = try TempDirectory(prefix: "gantry-registry")
    var authConfig = ""
    if case .basic(let user, let password) = auth {
      guard let htpasswd = which("htpasswd") else { throw TestSupportError("htpasswd is needed (apt-get install apache2-utils)") }
      let r = try await awaitCommand(htpasswd, ["-Bbn", user, password])
      guard r.status == 0 else { throw TestSupportError("htpasswd failed: \(r.stderr)") }
      try r.stdout.write(toFile: directory.file("htpasswd"), atomically: true, encoding: .utf8)
      authConfig = "auth:\n  htpasswd:\n    realm: gantry-test\n    path: \(directory.file("htpasswd"))\n"
    }
    if case .token(let user, let password, let certs) = auth {
      let (issuer, tokenPort) = try await startFixture("token_server.py", [certs.caKey, certs.caCert, "--user", user, "--password", password])
      tokenServer = issuer
      self.tokenPort = tokenPort
      authConfig = "auth:\n  token:\n    realm: http://127.0.0.1:\(tokenPort)/token\n    service: gantry-test\n    issuer: gantry-test-issuer\n    rootcertbundle: \(certs.caCert)\n"
    }
    // A port free when checked can be taken before the registry binds it (by a process
    // outside this test run): the registry then exits at once. A fresh port is tried then,
    // and a registry that fails three times says why in its own words.
    var attempt = 0
    while true {
      attempt += 1
      let port = try ports()
      // Every answer of this registry carries this id: another server on the port (another
      // test process's registry) answers /v2/ as this one would, and only the id tells them apart.
      let id = UUID().uuidString
      var config = """
        version: 0.1
        log:
          level: error
          accesslog:
            disabled: true
        storage:
          filesystem:
            rootdirectory: \(directory.path)/data
          delete:
            enabled: true
        http:
          addr: 127.0.0.1:\(port)
          headers:
            \(Self.idHeader): [\(id)]

        """
      if let tls {
        config += "  tls:\n    certificate: \(tls.serverCert)\n    key: \(tls.serverKey)\n"
      }
      config += authConfig
      try config.write(toFile: directory.file("config.yml"), atomically: true, encoding: .utf8)
      let log = directory.file("registry-\(attempt).log")
      let child = try ChildProcess(
        binary, ["serve", directory.file("config.yml")], environment: ["PATH": "/usr/bin:/bin", "OTEL_TRACES_EXPORTER": "none"], logFile: log)
      do {
        try await Self.waitUntilReady(child, host: "127.0.0.1:\(port)", tls: tls, answer: auth.isNone ? "200" : "401", id: id)
        self.port = port
        self.child = child
        return
      } catch let lost as PortLost {
        child.stop()
        guard attempt >= 3 else { continue }
        let said = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let lastLine = said.split(separator: "\n").last.map(String.init) ?? "(no output)"
        throw TestSupportError("docker-registry did not start \(attempt) times, last on \(lost.host): \(lost.why); its log: \(lastLine)")
      }
    }
  }

  /// The registry did not get its port: it exited, or another server answers there.
  private struct PortLost: Error {
    let host: String
    let why: String
  }

  /// The response header that carries a registry's id (`http.headers` of its config).
  static let idHeader = "X-Gantry-Test-Registry"

  /// Polls `/v2/` until it gives `answer` (200 open, 401 with auth) with this registry's `id`:
  /// any other answer from a server is some other server on the port, not this registry,
  /// even while this one is still starting (it has not yet found the port taken).
  private static func waitUntilReady(_ child: ChildProcess, host: String, tls: TestCertificates?, answer: String, id: String) async throws {
    // Generous: on a 2-core machine shared with compilers and other test runs, a registry's
    // start-up has taken more than 15 s. The wait holds no thread meanwhile.
    let deadline = ContinuousClock.now + .seconds(60)
    let scheme = tls == nil ? "http" : "https"
    while ContinuousClock.now < deadline {
      // Each poll bounded: a server of another test process that took the port and holds
      // connections open would otherwise stall this one poll until the deadline.
      var args = ["-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code} %header{\(idHeader)}", "\(scheme)://\(host)/v2/"]
      if let tls { args += ["--cacert", tls.caCert] }
      let said = (try? await awaitCommand("/usr/bin/curl", args))?.stdout ?? ""
      let code = String(said.prefix(3))
      guard child.isRunning else { throw PortLost(host: host, why: "it exited") }
      if said == "\(answer) \(id)" { return }
      if code != "000" && !code.isEmpty { throw PortLost(host: host, why: "another server answers \(code) there") }
      try await Task.sleep(for: .milliseconds(50))
    }
    child.stop()
    throw TestSupportError("docker-registry did not answer on \(host)")
  }

  /// How many tokens the issuer handed out.
  public func tokensIssued() async throws -> Int {
    guard let tokenPort else { return 0 }
    return Int(try await awaitCommand("/usr/bin/curl", ["-s", "http://127.0.0.1:\(tokenPort)/count"]).stdout) ?? -1
  }

  public func stop() {
    child.stop()
    tokenServer?.stop()
  }
}

/// A free TCP port on 127.0.0.1 for a child server to bind. The port is released before the
/// child binds it, so two things must not take it meanwhile: another registry of this test
/// run (ports are handed out once per process) and the kernel, which gives ports of the
/// ephemeral range to outgoing connections and `bind(0)` (ports come from below that range).
/// A registry that lost its port to another would otherwise look ready — the other one
/// answers — and tests would talk to the wrong registry.
public func freePort() throws -> Int {
  for _ in 0..<200 {
    let port = Int.random(in: 20_000..<32_768)
    guard PortLedger.shared.claim(port) else { continue }
    if canBind(port) { return port }
  }
  throw TestSupportError("no free port below the ephemeral range")
}

private final class PortLedger: @unchecked Sendable {
  static let shared = PortLedger()
  private let lock = NSLock()
  private var issued: Set<Int> = []
  func claim(_ port: Int) -> Bool { lock.withLock { issued.insert(port).inserted } }
}

private func canBind(_ port: Int) -> Bool {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  guard fd >= 0 else { return false }
  defer { close(fd) }
  var addr = sockaddr_in()
  addr.sin_family = sa_family_t(AF_INET)
  addr.sin_port = in_port_t(UInt16(port).bigEndian)
  addr.sin_addr.s_addr = inet_addr("127.0.0.1")
  return withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
}
