import HTTP
import Stages

extension GantryCLI {
  /// The process's network, wired once: libcurl through `CurlTransport.shared`, one transport
  /// (engine, connection cache, TLS sessions) per distinct ``TransportConfiguration``, shared
  /// by every client of every stage the process runs. Each use is a fresh value with its own
  /// ``RateLimits`` (one budget owner per run) on the same shared transports. Tests build stage
  /// contexts with it too.
  public static var connections: Connections { Connections { CurlTransport.shared($0) } }
}
