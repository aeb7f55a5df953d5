import Foundation
import HTTP
import TestSupport
import Testing

/// Uploads cancelled while libcurl's worker sets them up: `cancel()` reads the transfer's
/// body source from another thread (ThreadSanitizer reported the unlocked read; run it with
/// `scripts/sanitize thread 'HTTPTests.CancelRaceTests'`).
@Suite("cancelling uploads as they start")
struct CancelRaceTests {
  @Test func uploadsCancelledAsTheyStartEndCleanly() async throws {
    let server = try await LocalHTTPServer()
    defer { server.stop() }
    let transport = CurlTransport()
    var outcomes: [String] = []
    for i in 0..<40 {
      let task = Task {
        try await transport.perform(Request(method: "PUT", url: server.url("/upload"), body: .source(PatternSource(total: 256 << 10))))
      }
      // From at once to a little later: the cancel lands before, during and after the setup.
      if i % 4 != 0 { try await Task.sleep(for: .microseconds(50 * i)) }
      task.cancel()
      do {
        let response = try await task.value
        outcomes.append(response.isSuccess ? "done" : "status \(response.status)")
      } catch HTTPError.cancelled {
        outcomes.append("cancelled")
      } catch {
        outcomes.append("other")
      }
    }
    #expect(outcomes.allSatisfy { $0 == "done" || $0 == "cancelled" }, "\(outcomes)")
    #expect(outcomes.contains("cancelled"))
  }
}
