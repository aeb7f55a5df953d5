import Foundation
import OCI
import Testing

/// The registry's clock from its `Date` headers, and when history takes it.
@Suite("history on the registry's clock")
struct ServerClockTests {
  struct Local: HistoryClock {
    var date: Date
    func now() -> Date { date }
    func sleep(for duration: Duration) async throws {}
  }

  let local = Date(timeIntervalSince1970: 1_796_000_000)

  func header(_ offset: TimeInterval) -> String {
    // IMF-fixdate of local + offset.
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "GMT")
    f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
    return f.string(from: local.addingTimeInterval(offset))
  }

  @Test func aRegistryHoursAwayIsFollowedAndReportedOnce() {
    let server = ServerClock()
    server.observe(header(-7200), at: local)
    let reports = Reports()
    let clock = RegistryHistoryClock(server: server, local: Local(date: local)) { reports.add($0) }
    let first = clock.now().timeIntervalSince(local)
    #expect(abs(first + 7200) <= 1, "\(first)")
    // Taken once: later answers do not move a run's clock back or forth.
    server.observe(header(-7300), at: local)
    #expect(clock.now().timeIntervalSince(local) == first)
    #expect(reports.values.count == 1)
  }

  @Test(arguments: [0.0, 3, -3, 2 * 86_400, -3 * 86_400] as [TimeInterval])
  func smallOrAbsurdOffsetsAreNotTaken(_ offset: TimeInterval) {
    let server = ServerClock()
    server.observe(header(offset), at: local)
    let reports = Reports()
    let clock = RegistryHistoryClock(server: server, local: Local(date: local)) { reports.add($0) }
    #expect(clock.now() == local)
    #expect(reports.values.isEmpty)
  }

  @Test(arguments: ["", "yesterday", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 08:49:37 GMT extra", "Sun, 99 Nov 1994 08:49:37 GMT"])
  func aDateThatIsNoHTTPDateIsIgnored(_ text: String) {
    let server = ServerClock()
    server.observe(text, at: local)
    #expect(server.offset == nil)
  }

  final class Reports: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [TimeInterval] = []
    func add(_ v: TimeInterval) { lock.withLock { list.append(v) } }
    var values: [TimeInterval] { lock.withLock { list } }
  }
}
