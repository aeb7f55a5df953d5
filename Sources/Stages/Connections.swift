import Basics
import FoundationEssentials
import HTTP

/// The network as a stage sees it: the transports every client of the run (registry clients
/// of both sides, the GitHub client, the health prober) is built on. The CLI wires it once per
/// process (one engine, connections and TLS sessions reused across clients and stages); tests
/// pass scripted ones. Stages never build a transport themselves, nor know which engine it is.
///
/// What differs between clients is expressed per client, not by separate engines where it can
/// be: credentials, retries, deadlines of small requests and low-speed limits travel in the
/// client and its ``Request``s. What the engine must know for a connection — trusted CAs, hosts
/// whose certificates are not verified, the connect timeout, `--resolve` pins — lives in a
/// ``TransportConfiguration``; ``transport(_:)`` hands out one transport per distinct
/// configuration, created once and cached by the wiring, so a run has one or two at most.
public struct Connections: Sendable {
  private let make: @Sendable (TransportConfiguration) -> any Transport
  /// The run's one owner of per-origin request budgets (`RateLimit-*`, `Retry-After`), shared by
  /// every registry client of the run: every image and both sides of a promote draw on it.
  /// Its ``RateLimits/snapshot()`` is what a stage reports.
  public let rateLimits: RateLimits

  /// - Parameters:
  ///   - transport: the transport for a configuration; called for every client built, so it
  ///     must return the same transport for equal configurations (the CLI's does).
  ///   - rateLimits: the budgets' owner; a fresh one by default (one per run).
  public init(rateLimits: RateLimits = RateLimits(), transport: @escaping @Sendable (TransportConfiguration) -> any Transport) {
    make = transport
    self.rateLimits = rateLimits
  }

  /// Every client of the stage on `transport`, whatever its configuration: for tests that
  /// script the network.
  public static func scripted(_ transport: any Transport) -> Connections {
    Connections { _ in transport }
  }

  /// No network: every request fails. For stages that need none (build-tag).
  public static var offline: Connections { Connections { _ in Offline() } }

  /// The transport for clients that need `configuration`.
  public func transport(_ configuration: TransportConfiguration) -> any Transport {
    make(configuration)
  }

  /// An HTTP client on ``transport(_:)`` with `retry`; registry clients also draw on
  /// ``rateLimits`` (a health probe's 503 `Retry-After` must not hold its polling).
  public func http(_ configuration: TransportConfiguration, retry: RetryPolicy) -> HTTPClient {
    HTTPClient(transport: transport(configuration), retry: retry)
  }

  private struct Offline: Transport {
    func perform(_ request: Request) async throws -> Response {
      throw HTTPError.invalidRequest("no network for this stage (\(request.url.redacted))")
    }
  }
}
