import Foundation
import HTTP

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
  public init(tls: TestCertificates? = nil, dual: Bool = false) async throws {
    var args: [String] = []
    if let tls { args += ["--cert", tls.serverCert, "--key", tls.serverKey] }
    if dual { args.append("--dual") }
    (child, port) = try await startFixture("hostile_server.py", args)
    scheme = tls == nil ? "http" : "https"
    caFile = tls?.caCert
  }

  /// `<scheme>://<host>:<port>` + path.
  public func url(_ path: String, host: String = "127.0.0.1", scheme: String? = nil) -> String {
    "\(scheme ?? self.scheme)://\(host):\(port)\(path)"
  }

  /// Replaces the script. Async, through Gantry's own HTTP client: a blocking `curl`
  /// subprocess here would hold one of the few cooperative threads every test shares.
  public func script(_ rules: [Rule]) async throws {
    let data = try JSONSerialization.data(withJSONObject: rules.map(\.json))
    let r = try await control.send(Request(method: "POST", url: try controlURL("/_script"), body: .data(data)))
    guard r.status == 200 else { throw TestSupportError("hostile_server script failed: HTTP \(r.status)") }
  }

  /// Every request received so far, in order.
  public func received() async throws -> [Received] {
    let out = try await control.send(Request(url: try controlURL("/_log"))).body
    let list = (try JSONSerialization.jsonObject(with: out) as? [[String: Any]]) ?? []
    return list.map {
      Received(
        scheme: $0["scheme"] as? String ?? "", method: $0["method"] as? String ?? "", path: $0["path"] as? String ?? "",
        headers: $0["headers"] as? [String: String] ?? [:], body: $0["body"] as? String ?? "", bodyBytes: $0["body_bytes"] as? Int ?? 0,
        bodyComplete: $0["body_complete"] as? Bool ?? false)
    }
  }

  private var control: HTTPClient {
    var config = TransportConfiguration()
    config.caFile = caFile
    return HTTPClient(transport: HostileServer.transports.transport(config), retry: .none)
  }

  private func controlURL(_ path: String) throws -> URL {
    guard let u = URL(string: url(path)) else { throw TestSupportError("bad control URL") }
    return u
  }

  /// One transport per CA file for every server's control requests.
  private static let transports = ControlTransports()

  public func stop() { child.stop() }
}

private final class ControlTransports: @unchecked Sendable {
  private let lock = NSLock()
  private var byCA: [String: CurlTransport] = [:]
  func transport(_ config: TransportConfiguration) -> CurlTransport {
    lock.withLock {
      let key = config.caFile ?? ""
      if let t = byCA[key] { return t }
      let t = CurlTransport(configuration: config)
      byCA[key] = t
      return t
    }
  }
}
