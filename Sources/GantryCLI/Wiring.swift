import HTTP
import Stages

extension GantryCLI {
  /// The process's network, wired once: libcurl through `CurlTransport.shared`, one transport
  /// (engine, connection cache, TLS sessions) per distinct ``TransportConfiguration``, shared
  /// by every client of every stage the process runs. Tests build stage contexts with it too.
  public static let connections = Connections { CurlTransport.shared($0) }
}
