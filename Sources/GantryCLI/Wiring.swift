import ActionsCore
import HTTP
import Stages

#if canImport(Glibc)
  import Glibc
#endif

extension GantryCLI {
  /// The process's network, wired once: libcurl through `CurlTransport.shared`, one transport
  /// (engine, connection cache, TLS sessions) per distinct ``TransportConfiguration``, shared
  /// by every client of every stage the process runs. Each use is a fresh value with its own
  /// ``RateLimits`` (one budget owner per run) on the same shared transports. Tests build stage
  /// contexts with it too.
  public static var connections: Connections { connections(log: Log(sink: FileDescriptorSink.standardOutput)) }

  /// ``connections``, reporting to `log` when libcurl cannot be loaded. The dynamic build loads
  /// it when the first transport is asked for (a stage that sends no request never loads it);
  /// without it no request can be sent, so that is one error line and exit 1 — not a stage
  /// retrying, or health-checking until its timeout, through a network it does not have.
  static func connections(log: Log) -> Connections {
    Connections { configuration in
      if let problem = CurlTransport.libraryProblem {
        log.error(problem, title: "Missing library")
        exit(failure)
      }
      return CurlTransport.shared(configuration)
    }
  }
}
