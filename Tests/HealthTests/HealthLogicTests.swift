import Foundation
import Testing

@testable import Health

@Suite struct HealthLogicTests {
  @Test(arguments: [("200-399", 302, true), ("200-399", 404, false), ("200,204", 204, true), ("2xx", 299, true), ("2xx,404", 404, true), ("500", 200, false)])
  func statusSets(_ text: String, _ status: Int, _ accepted: Bool) throws {
    #expect(try StatusSet(parsing: text).contains(status) == accepted)
  }

  @Test(arguments: ["399-200", "abc", "600", "", "2xx-3xx", "99"])
  func impossibleStatusSetsAreRefused(_ text: String) {
    #expect(throws: HealthInputError.self) { try StatusSet(parsing: text) }
  }

  @Test func bodyExpectations() async throws {
    let body = Data(#"{"version":"1.2.3","build":{"sha":"abc1234","n":7},"ready":true,"items":[{"name":"x"}]}"#.utf8)
    #expect(try await BodyExpectation(body: "1.2.3", json: []).mismatch(body) == nil)
    #expect(try await BodyExpectation(body: "/\"version\":\"1\\.2\\.\\d+\"/", json: []).mismatch(body) == nil)
    #expect(try await BodyExpectation(body: "/\"version\":\"2/", json: []).mismatch(body) == "body does not match /\"version\":\"2/")
    #expect(try await BodyExpectation(body: nil, json: ["version=1.2.3", "build.sha=abc1234", "build.n=7", "ready=true", "items.0.name=x"]).mismatch(body) == nil)
    #expect(try await BodyExpectation(body: nil, json: ["version=1.2.4"]).mismatch(body) == "JSON version is '1.2.3', expected '1.2.4'")
    #expect(try await BodyExpectation(body: nil, json: ["missing.path=1"]).mismatch(body) == "JSON has no missing.path")
    #expect(try await BodyExpectation(body: nil, json: ["a=b"]).mismatch(Data("<html>".utf8)) == "body is not JSON")
    #expect(throws: HealthInputError.self) { try BodyExpectation(body: "/[unclosed/", json: []) }
    #expect(throws: HealthInputError.self) { try BodyExpectation(body: nil, json: ["novalue"]) }
  }

  /// A mismatch quotes the expectation (the step's expected-body, expected-json) cut: a 20 KB
  /// one was quoted whole in every failed probe's reason.
  @Test func aMismatchQuotesALongExpectationCut() async throws {
    let long = String(repeating: "z", count: 20_000)
    let body = Data(#"{"version":"1.2.3"}"#.utf8)
    for expectation in [
      try BodyExpectation(body: long, json: []), try BodyExpectation(body: "/" + long + "/", json: []), try BodyExpectation(body: nil, json: ["version=" + long]),
      try BodyExpectation(body: nil, json: ["a." + long + "=1"]),
    ] {
      let why = await expectation.mismatch(body)
      #expect(why != nil && (why?.utf8.count ?? 0) < 1000, "\(why?.utf8.count ?? 0) bytes")
    }
  }

  @Test func latencyPercentilesUseNearestRank() throws {
    let stats = try #require(LatencyStats((1...100).map(Double.init)))
    #expect(stats.min == 1)
    #expect(stats.max == 100)
    #expect(stats.avg == 50.5)
    #expect(stats.p50 == 50)
    #expect(stats.p95 == 95)
    #expect(stats.p99 == 99)
    #expect(LatencyStats([]) == nil)
  }

  @Test func thresholdsNameWhatBroke() throws {
    let stats = try #require(LatencyStats([100, 200, 3000]))
    let verdict = Thresholds(minSuccessRate: 95, maxAverageMs: 1000, maxP95Ms: 2500).evaluate(successRate: 90, stats: stats)
    #expect(verdict.map(\.passed) == [false, false, false])
    #expect(verdict[0].measured == "90 %")
    #expect(verdict[1].measured == "1100 ms")
    #expect(Thresholds().evaluate(successRate: 100, stats: stats).allSatisfy { $0.passed })
  }
}
