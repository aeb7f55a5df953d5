import Foundation

/// Tests/Fixtures/h2_server.py: an HTTP/2-only TLS server on 127.0.0.1 that counts the TCP
/// connections it accepted (every answer carries `x-connection` and `x-connections`), so a
/// test can prove requests were multiplexed on one connection. Needs the Python package `h2`
/// (scripts/setup installs it); without it, starting the server throws saying so.
public final class HTTP2Server: @unchecked Sendable {
  public let port: Int
  private let child: ChildProcess

  public init(tls: TestCertificates) async throws {
    (child, port) = try await startFixture("h2_server.py", ["--cert", tls.serverCert, "--key", tls.serverKey])
  }

  /// `https://127.0.0.1:<port>` + path.
  public func url(_ path: String) -> URL {
    URL(string: "https://127.0.0.1:\(port)\(path)")!
  }

  public func stop() { child.stop() }
}
