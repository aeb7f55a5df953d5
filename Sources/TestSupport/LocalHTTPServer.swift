import Foundation

/// The scriptable test server (Tests/Fixtures/http_server.py) on 127.0.0.1, as a child process.
public final class LocalHTTPServer: @unchecked Sendable {
  public let port: Int
  public let scheme: String
  private let child: ChildProcess

  /// - Parameter tls: serve HTTPS with this certificate.
  public init(tls: TestCertificates? = nil) async throws {
    var args: [String] = []
    if let tls { args += ["--cert", tls.serverCert, "--key", tls.serverKey] }
    (child, port) = try await startFixture("http_server.py", args)
    scheme = tls == nil ? "http" : "https"
  }

  /// `http://127.0.0.1:<port>` + path.
  public func url(_ path: String, host: String = "127.0.0.1") -> URL {
    URL(string: "\(scheme)://\(host):\(port)\(path)")!
  }

  public func stop() { child.stop() }
}

/// A self-signed CA and a server certificate for 127.0.0.1 and localhost (and `registry.test`,
/// `evil.test`: names tests map to 127.0.0.1 to stand for non-loopback hosts), made with openssl.
public struct TestCertificates: Sendable {
  public let caCert: String
  public let caKey: String
  public let serverCert: String
  public let serverKey: String

  /// One set for the whole test process: openssl runs once, not in every test's set-up
  /// (where its blocking runs hold threads other tests' requests need).
  public static func shared() async throws -> TestCertificates {
    try await sharedCertificates.value
  }

  /// Makes the CA and server certificate (openssl, run off the cooperative pool: two RSA keys
  /// take seconds on a loaded machine).
  public init(in directory: TempDirectory) async throws {
    let d = directory.path
    caCert = "\(d)/ca.crt"
    caKey = "\(d)/ca.key"
    serverCert = "\(d)/server.crt"
    serverKey = "\(d)/server.key"
    guard let openssl = which("openssl") else { throw TestSupportError("openssl is needed for TLS tests") }
    let ext = "\(d)/san.ext"
    try "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:registry.test,DNS:evil.test\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
      .write(toFile: ext, atomically: true, encoding: .utf8)
    let steps: [[String]] = [
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(d)/ca.key", "-out", caCert, "-days", "2", "-subj", "/CN=Gantry Test CA"],
      ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", serverKey, "-out", "\(d)/server.csr", "-subj", "/CN=127.0.0.1"],
      ["x509", "-req", "-in", "\(d)/server.csr", "-CA", caCert, "-CAkey", "\(d)/ca.key", "-CAcreateserial", "-out", serverCert, "-days", "2", "-extfile", ext],
    ]
    for args in steps {
      let r = try await awaitCommand(openssl, args)
      guard r.status == 0 else { throw TestSupportError("openssl \(args[0]) failed: \(r.stderr)") }
    }
  }
}

/// The directory lives as long as the process: its files are the certificates.
private let sharedCertificateDirectory = Result { try TempDirectory(prefix: "gantry-shared-certs") }
private let sharedCertificates = Task { try await TestCertificates(in: sharedCertificateDirectory.get()) }

/// Tests/Fixtures/fault_proxy.py in front of a registry: injected 500s, 429 with
/// Retry-After, and a connection reset in the middle of a blob.
public final class FaultProxy: @unchecked Sendable {
  public let port: Int
  private let child: ChildProcess
  public var host: String { "127.0.0.1:\(port)" }

  /// A request to hold: the `nth` request with `method` whose path matches the regular
  /// expression `path` waits until ``release()``.
  public struct Hold: Sendable {
    public var method: String
    public var path: String
    public var nth: Int
    public init(_ method: String, _ path: String, nth: Int = 1) {
      self.method = method
      self.path = path
      self.nth = nth
    }
  }

  /// How a request chosen by number (``FailAt``) fails.
  public enum FaultMode: String, Sendable, CaseIterable {
    /// 500 UNKNOWN, not forwarded: worth a retry.
    case status500 = "500"
    /// 403 DENIED, not forwarded: not worth a retry.
    case denied = "403"
    /// The connection closes without an answer; the registry never saw the request.
    case reset
    /// The registry does the request, then the connection closes without an answer: the
    /// change happened, and the client cannot know.
    case resetAfter = "reset-after"
  }

  /// The `nth` registry API request (1-based, any method and path under /v2/, the /v2/ ping
  /// included: ``requests()``[nth - 1] of a run without faults) fails as `mode` says; with
  /// `outage`, every later one too.
  public struct FailAt: Sendable {
    public var nth: Int
    public var mode: FaultMode
    public var outage: Bool
    public init(_ nth: Int, _ mode: FaultMode, outage: Bool = false) {
      self.nth = nth
      self.mode = mode
      self.outage = outage
    }
  }

  /// - Parameters:
  ///   - deny: a request to refuse with 403 DENIED (same matching as `hold`).
  ///   - failing: the first request to answer 500 (same matching as `hold`), and every later
  ///     one that matches too.
  ///   - dateOffset: seconds every answer's `Date` header is off (another clock than the runner's).
  ///   - failAt: a request to fail by its number, whatever it is.
  public init(
    upstreamPort: Int, failEvery: Int = 0, throttleFirstBlob: Bool = false, resetFirstBlob: Bool = false, hold: Hold? = nil, deny: Hold? = nil, failing: Hold? = nil,
    failAt: FailAt? = nil, dateOffset: Int = 0
  ) async throws {
    var args = [String(upstreamPort)]
    if dateOffset != 0 { args += ["--date-offset", String(dateOffset)] }
    if let failAt {
      args += ["--fail-at", String(failAt.nth), "--mode", failAt.mode.rawValue]
      if failAt.outage { args.append("--outage") }
    }
    if let failing { args += ["--fail", failing.method, failing.path, String(failing.nth)] }
    if let hold { args += ["--hold", hold.method, hold.path, String(hold.nth)] }
    if let deny { args += ["--deny", deny.method, deny.path, String(deny.nth)] }
    if failEvery > 0 { args += ["--fail-every", String(failEvery)] }
    if throttleFirstBlob { args.append("--throttle-first-blob") }
    if resetFirstBlob { args.append("--reset-first-blob") }
    (child, port) = try await startFixture("fault_proxy.py", args)
  }

  /// Forgets every request so far (the log, the count, the faults) and fails `failAt` from
  /// now on (nil: nothing): one proxy for many runs.
  public func arm(_ failAt: FailAt?) async throws {
    let query = failAt.map { "at=\($0.nth)&mode=\($0.mode.rawValue)&outage=\($0.outage ? 1 : 0)" } ?? "at=0"
    let r = try await awaitCommand("/usr/bin/curl", ["-s", "-X", "POST", "http://\(host)/arm?\(query)"])
    guard r.stdout == "armed" else { throw TestSupportError("the proxy was not armed: \(r.stdout) \(r.stderr)") }
  }

  /// How many faults were injected so far.
  public func faults() async throws -> Int {
    Int(try await awaitCommand("/usr/bin/curl", ["-s", "http://\(host)/faults"]).stdout) ?? -1
  }

  /// How many requests are being held now.
  public func held() async throws -> Int {
    Int(try await awaitCommand("/usr/bin/curl", ["-s", "http://\(host)/held"]).stdout) ?? -1
  }

  /// Waits (at most `seconds`) until the held request has arrived.
  public func waitUntilHeld(seconds: Double = 20) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
      if try await held() > 0 { return }
      try await Task.sleep(for: .milliseconds(20))
    }
    throw TestSupportError("no request was held within \(seconds) s")
  }

  /// One request the proxy saw. `arrived` and `answered` are CLOCK_MONOTONIC nanoseconds,
  /// one clock for every proxy: a request that arrived after another was answered was sent
  /// after that answer (the answer is timed before its first byte leaves).
  public struct Recorded: Sendable, Decodable {
    public var method: String
    public var path: String
    public var status: Int?
    public var arrived: Int
    public var answered: Int?
    /// Its number among the registry API requests (``FailAt`` counts these).
    public var number: Int?
    /// The ``FaultMode`` it was failed with, if it was.
    public var fault: String?
    enum CodingKeys: String, CodingKey {
      case method, path, status, fault
      case number = "n"
      case arrived = "in"
      case answered = "out"
    }
  }

  /// "METHOD PATH STATUS" of every request so far, in arrival order.
  public func requestLines() async throws -> [String] {
    try await requests().map { "\($0.method) \($0.path) \($0.status.map(String.init) ?? "-")" }
  }

  /// Every request so far (registry API paths only), in arrival order.
  public func requests() async throws -> [Recorded] {
    let lines = try await awaitCommand("/usr/bin/curl", ["-s", "http://\(host)/log"]).stdout.split(separator: "\n")
    return try lines.map { try JSONDecoder().decode(Recorded.self, from: Data($0.utf8)) }.filter { $0.path.hasPrefix("/v2/") }
  }

  /// Lets the held request go on.
  public func release() async throws { _ = try await awaitCommand("/usr/bin/curl", ["-s", "-X", "POST", "http://\(host)/release"]) }

  public func stop() { child.stop() }
}

/// Tests/Fixtures/github_api.py: the GitHub REST API answered from a real git repository.
public final class GitHubAPIServer: @unchecked Sendable {
  public let port: Int
  public let token: String
  private let child: ChildProcess

  public init(repository: String, token: String = "ghs_test\(UInt32.random(in: 1000...9999))") async throws {
    self.token = token
    (child, port) = try await startFixture("github_api.py", [repository, token])
  }

  /// `GITHUB_API_URL` for this server; `enterprise` adds GitHub Enterprise Server's `/api/v3`.
  public func apiURL(enterprise: Bool = false) -> String { "http://127.0.0.1:\(port)" + (enterprise ? "/api/v3" : "") }

  /// The next `count` requests are rate limited: `mode` retry-after (secondary limit) or reset (primary).
  public func rateLimit(next count: Int, mode: String) async throws {
    _ = try await awaitCommand("/usr/bin/curl", ["-s", "-X", "POST", "-d", #"{"ratelimit":\#(count),"mode":"\#(mode)"}"#, "-H", "Content-Type: application/json", "\(apiURL())/_control"])
  }

  /// "METHOD path" of every request so far.
  public func requests() async throws -> [String] {
    let out = try await awaitCommand("/usr/bin/curl", ["-s", "\(apiURL())/_requests"]).stdout
    return (try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String]) ?? []
  }

  /// The releases created so far, by tag, as the API received them (body, generate_release_notes, …).
  public func releases() async throws -> [String: [String: Any]] {
    let out = try await awaitCommand("/usr/bin/curl", ["-s", "\(apiURL())/_releases"]).stdout
    return (try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: [String: Any]]) ?? [:]
  }

  /// The deployments created so far (as the API received them, with `id`) and every status
  /// posted, in order (as received, with `deployment`).
  public func deployments() throws -> (deployments: [[String: Any]], statuses: [[String: Any]]) {
    let out = try runCommand("/usr/bin/curl", ["-s", "\(apiURL())/_deployments"]).stdout
    let o = (try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]) ?? [:]
    return ((o["deployments"] as? [[String: Any]]) ?? [], (o["statuses"] as? [[String: Any]]) ?? [])
  }

  /// POST deployments answers 403 (a token without `deployments: write`) while `refuse` is true.
  public func refuseDeployments(_ refuse: Bool) throws {
    _ = try runCommand("/usr/bin/curl", ["-s", "-X", "POST", "-d", #"{"refuse_deployments":\#(refuse)}"#, "-H", "Content-Type: application/json", "\(apiURL())/_control"])
  }

  /// Every deployments request (list, create, status) answers `status` (0: answered again).
  public func failDeployments(_ status: Int) throws {
    _ = try runCommand("/usr/bin/curl", ["-s", "-X", "POST", "-d", #"{"fail_deployments":\#(status)}"#, "-H", "Content-Type: application/json", "\(apiURL())/_control"])
  }

  /// Stores deployments made by someone else as given (each gets the next id), and with
  /// `ignoreFilters` lists every deployment whatever the query asks (a hostile answer).
  public func plant(_ deployments: [[String: Any]], ignoreFilters: Bool = false) throws {
    let body = try JSONSerialization.data(withJSONObject: ["plant": deployments, "ignore_filters": ignoreFilters] as [String: Any])
    _ = try runCommand("/usr/bin/curl", ["-s", "-X", "POST", "-d", String(decoding: body, as: UTF8.self), "-H", "Content-Type: application/json", "\(apiURL())/_control"])
  }

  /// GET releases/tags/TAG answers these releases as given, by tag (a hostile server's answers).
  public func plantReleases(_ releases: [String: [String: Any]]) throws {
    try control(["plant_releases": releases])
  }

  /// GET git/ref/tags/TAG answers these refs as given, by tag (a hostile server's answers).
  public func plantRefs(_ refs: [String: [String: Any]]) throws {
    try control(["plant_refs": refs])
  }

  /// POST releases answers 422 with `message` (nil: creates again).
  public func failReleases(message: String?) throws {
    try control(["release_error": message ?? NSNull()])
  }

  private func control(_ body: [String: Any]) throws {
    let data = try JSONSerialization.data(withJSONObject: body)
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("control-\(UUID().uuidString).json")
    try data.write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    _ = try runCommand("/usr/bin/curl", ["-s", "-X", "POST", "--data-binary", "@\(file.path)", "-H", "Content-Type: application/json", "\(apiURL())/_control"])
  }

  public func stop() { child.stop() }
}

/// Starts a Python fixture from Tests/Fixtures that prints `PORT <n>` when it listens (awaited
/// off the cooperative pool: Python's start-up takes a second on a loaded machine).
func startFixture(_ script: String, _ args: [String]) async throws -> (ChildProcess, Int) {
  guard let python = which("python3") else { throw TestSupportError("python3 is needed for \(script)") }
  let child = try ChildProcess(python, [RepoPaths.fixture(script)] + args)
  let line = try await child.waitForLine { $0.hasPrefix("PORT ") }
  guard let port = Int(line.dropFirst(5)) else { throw TestSupportError("\(script): bad port line \(line)") }
  return (child, port)
}
