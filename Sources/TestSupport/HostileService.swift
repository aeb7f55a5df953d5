import Foundation
import HTTP

/// Tests/Fixtures/hostile_service.py: a compromised service on raw sockets, for health-check —
/// answers that never start, never end, or come hop after slow hop; a proxy that logs what it
/// was asked to carry; a TLS handshake that never ends. 127.0.0.1 only.
public final class HostileService: @unchecked Sendable {
  public let port: Int
  private let child: ChildProcess
  public var host: String { "127.0.0.1:\(port)" }

  public init() async throws { (child, port) = try await startFixture("hostile_service.py", []) }

  /// `http://127.0.0.1:<port>` + path (`scheme: "https"` for the handshake that never ends).
  public func url(_ path: String, scheme: String = "http") -> String { "\(scheme)://\(host)\(path)" }

  /// One request the service (or the proxy it plays) received.
  public struct Received: Sendable {
    public var method: String
    /// As on the request line: a path, an absolute URL (a proxied request) or `host:port` (CONNECT).
    public var target: String
    /// Lower-case names.
    public var headers: [String: String]
  }

  /// Every request received so far, in order.
  public func received() async throws -> [Received] {
    guard let url = URL(string: url("/_log")) else { throw TestSupportError("bad control URL") }
    let out = try await HTTPClient(transport: HostileService.transport, retry: .none).send(Request(url: url)).body
    let list = (try JSONSerialization.jsonObject(with: out) as? [[String: Any]]) ?? []
    return list.map { Received(method: $0["method"] as? String ?? "", target: $0["target"] as? String ?? "", headers: $0["headers"] as? [String: String] ?? [:]) }
  }

  private static let transport = CurlTransport(configuration: TransportConfiguration())

  public func stop() { child.stop() }
}
