import Foundation

/// Tests/Fixtures/hostile_text_server.py: a service and a registry whose every answer carries
/// workflow commands, terminal escapes and markdown, on 127.0.0.1.
public final class HostileTextServer: @unchecked Sendable {
  public let port: Int
  private let child: ChildProcess
  public var host: String { "127.0.0.1:\(port)" }

  public init() async throws { (child, port) = try await startFixture("hostile_text_server.py", []) }

  public func stop() { child.stop() }
}
