import Foundation

/// Tests/Fixtures/hostile_server.py: a scripted server on 127.0.0.1 that plays a broken or
/// hostile party (registry, token service, probed service, object store) and records every
/// request it received, headers and body included, so a test can assert what leaked.
public final class HostileServer: @unchecked Sendable {
  public let port: Int
  public let scheme: String
  private let child: ChildProcess
  private let caFile: String?

  /// One scripted answer: the first rule matching method and path prefix answers.
  public struct Rule: Sendable {
    public var method: String?
    public var path: String
    public var status: Int
    public var headers: [String: String]
    public var body: Data
    /// `Content-Length` announced when it differs from the body's (a short body).
    public var length: Int?
    /// Bytes per second: the body trickles out.
    public var trickle: Int?
    /// Answers this many times, then is skipped.
    public var times: Int?
    /// A tag list page of this many new tags with a `Link` to the next page, for ever.
    public var endlessTags: Int?

    public init(
      _ method: String? = nil, _ path: String, status: Int = 200, headers: [String: String] = [:], body: Data = Data(), length: Int? = nil,
      trickle: Int? = nil, times: Int? = nil
    ) {
      self.method = method
      self.path = path
      self.status = status
      self.headers = headers
      self.body = body
      self.length = length
      self.trickle = trickle
      self.times = times
    }

    var json: [String: Any] {
      var j: [String: Any] = ["path": path, "status": status, "headers": headers, "body_hex": body.map { String(format: "%02x", $0) }.joined()]
      if let method { j["method"] = method }
      if let length { j["length"] = length }
      if let trickle { j["trickle"] = trickle }
      if let times { j["times"] = times }
      if let endlessTags { j["endless_tags"] = endlessTags }
      return j
    }
  }

  /// What the server received.
  public struct Received: Sendable {
    public var scheme: String
    public var method: String
    /// Path with its query.
    public var path: String
    /// Lower-case names.
    public var headers: [String: String]
    public var body: String
    public var bodyBytes: Int
    /// False when the client stopped sending before the announced end.
    public var bodyComplete: Bool
  }

  /// - Parameters:
  ///   - tls: serve HTTPS with these certificates.
  ///   - dual: with `tls`, answer plain HTTP on the same port too (sniffing the first byte).
  public init(tls: TestCertificates? = nil, dual: Bool = false) throws {
    var args: [String] = []
    if let tls { args += ["--cert", tls.serverCert, "--key", tls.serverKey] }
    if dual { args.append("--dual") }
    (child, port) = try startFixture("hostile_server.py", args)
    scheme = tls == nil ? "http" : "https"
    caFile = tls?.caCert
  }

  /// `<scheme>://<host>:<port>` + path.
  public func url(_ path: String, host: String = "127.0.0.1", scheme: String? = nil) -> String {
    "\(scheme ?? self.scheme)://\(host):\(port)\(path)"
  }

  /// Replaces the script.
  public func script(_ rules: [Rule]) throws {
    let data = try JSONSerialization.data(withJSONObject: rules.map(\.json))
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(port)-\(UInt32.random(in: 0...UInt32.max)).json")
    try data.write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    let r = try runCommand("/usr/bin/curl", control + ["-X", "POST", "--data-binary", "@\(file.path)", url("/_script")])
    guard r.status == 0, r.stdout == "ok" else { throw TestSupportError("hostile_server script failed: \(r.stderr)") }
  }

  /// Every request received so far, in order.
  public func received() throws -> [Received] {
    let out = try runCommand("/usr/bin/curl", control + [url("/_log")]).stdout
    let list = (try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]]) ?? []
    return list.map {
      Received(
        scheme: $0["scheme"] as? String ?? "", method: $0["method"] as? String ?? "", path: $0["path"] as? String ?? "",
        headers: $0["headers"] as? [String: String] ?? [:], body: $0["body"] as? String ?? "", bodyBytes: $0["body_bytes"] as? Int ?? 0,
        bodyComplete: $0["body_complete"] as? Bool ?? false)
    }
  }

  private var control: [String] { ["-s", "--max-time", "10"] + (caFile.map { ["--cacert", $0] } ?? []) }

  public func stop() { child.stop() }
}
