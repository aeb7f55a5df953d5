import Foundation
import HTTP
import TestSupport
import Testing

@testable import OCI

/// The upload sessions a copy opens ahead (one POST per missing blob, before the first PUT):
/// a copy that fails or is cancelled ends those it did not use with a DELETE, recorded by a
/// proxy in front of a real docker-registry, which answers each 204 (the session existed).
@Suite("Upload sessions opened ahead are closed when a copy fails", .serialized, .timeLimit(.minutes(2)))
struct UploadSessionTests {
  /// Three layers and a config, all missing at the target; the copy one blob at a time.
  func setUp() async throws -> (source: RegistryProcess, target: RegistryProcess, graph: ImageGraph) {
    let source = try await RegistryProcess()
    let target = try await RegistryProcess()
    let client = testRegistryClient(source.host, side: "source")
    let image = try await ImageFactory(client: client, repository: "app").pushImage(tag: "1.0", layerSizes: [20_000, 30_000, 40_000])
    let graph = try await ImageGraph.load(from: client, repository: "app", root: image)
    return (source, target, graph)
  }

  func copier(_ source: RegistryProcess, _ proxy: FaultProxy, retries: Int = 0) -> Copier {
    var options = CopyOptions()
    options.concurrency = 1
    options.retries = retries
    return Copier(source: testRegistryClient(source.host, side: "source"), sourceRepository: "app", target: testRegistryClient(proxy.host), targetRepository: "app", options: options)
  }

  /// Before: the first PUT refused (403), the copy failed and the three other sessions stayed
  /// open at the registry (until its upload purge, a week by default). Now every session
  /// no copy finished (the refused one too) gets one DELETE.
  @Test func aFailedCopyDeletesTheSessionsItDidNotFinish() async throws {
    let (source, target, graph) = try await setUp()
    let proxy = try await FaultProxy(upstreamPort: target.port, deny: .init("PUT", "/blobs/uploads/", nth: 1))
    defer { proxy.stop() }
    await #expect(throws: RegistryError.self) { _ = try await copier(source, proxy).copy(graph) }
    let requests = try await proxy.requests()
    let lines = try await proxy.requestLines()
    let posts = requests.filter { $0.method == "POST" }
    let deletes = requests.filter { $0.method == "DELETE" }
    #expect(posts.count == graph.blobs.count, "\(lines)")
    #expect(requests.filter { $0.method == "PUT" }.count == 1)
    #expect(deletes.count == posts.count, "\(lines)")
    #expect(deletes.allSatisfy { $0.status == 204 && $0.path.contains("/v2/app/blobs/uploads/") }, "\(lines)")
    #expect(Set(deletes.map { $0.path.split(separator: "?")[0] }).count == deletes.count)
  }

  /// Before: a PUT answered 500 was retried in a session the retry opened, and when that PUT
  /// failed too, its session stayed open. Now each attempt's own session is DELETEd as well:
  /// every POST the target saw is matched by a DELETE that found its session (204).
  @Test func retriesThatFailAgainDeleteTheSessionsTheyOpened() async throws {
    let (source, target, graph) = try await setUp()
    let proxy = try await FaultProxy(upstreamPort: target.port, failing: .init("PUT", "/blobs/uploads/", nth: 1))
    defer { proxy.stop() }
    await #expect(throws: RegistryError.self) { _ = try await copier(source, proxy, retries: 2).copy(graph) }
    let requests = try await proxy.requests()
    let lines = try await proxy.requestLines()
    let posts = requests.filter { $0.method == "POST" }
    let deletes = requests.filter { $0.method == "DELETE" }
    #expect(requests.filter { $0.method == "PUT" }.count == 3, "\(lines)")
    #expect(posts.count == graph.blobs.count + 2, "\(lines)")
    #expect(deletes.count == posts.count, "\(lines)")
    #expect(deletes.allSatisfy { $0.status == 204 }, "\(lines)")
    #expect(Set(deletes.map { $0.path.split(separator: "?")[0] }).count == deletes.count)
  }

  /// Cancelled (a stage's `timeout`) while a PUT is held: the DELETEs still go out, from a
  /// task the cancellation does not reach.
  @Test func aCancelledCopyStillDeletesItsSessions() async throws {
    let (source, target, graph) = try await setUp()
    let proxy = try await FaultProxy(upstreamPort: target.port, hold: .init("PUT", "/blobs/uploads/", nth: 1))
    defer { proxy.stop() }
    let copier = copier(source, proxy)
    let task = Task { try await copier.copy(graph) }
    try await proxy.waitUntilHeld()
    task.cancel()
    let result = await task.result
    #expect(throws: (any Error).self) { try result.get() }
    let deletes = try await proxy.requests().filter { $0.method == "DELETE" }
    let lines = try await proxy.requestLines()
    #expect(deletes.count == graph.blobs.count, "\(lines)")
    #expect(deletes.allSatisfy { $0.status == 204 }, "\(lines)")
    try await proxy.release()
  }

  /// A target that never answers the DELETEs does not hold the failure back: they are
  /// given 5 s in all, then the copy's own error is thrown.
  @Test func unansweredDeletesHoldTheFailureBackFiveSecondsAtMost() async throws {
    let (source, target, graph) = try await setUp()
    let proxy = try await FaultProxy(upstreamPort: target.port, hold: .init("DELETE", "/blobs/uploads/", nth: 1), deny: .init("PUT", "/blobs/uploads/", nth: 1))
    defer { proxy.stop() }
    let started = ContinuousClock.now
    await #expect {
      _ = try await copier(source, proxy).copy(graph)
    } throws: { error in
      if case RegistryError.forbidden = error { true } else { false }
    }
    // Held for good otherwise; 30 s leaves a loaded machine room past the 5 s.
    #expect(ContinuousClock.now - started < .seconds(30))
    #expect(try await proxy.held() == 1)
    try await proxy.release()
  }

  /// Hostile target: its DELETEs answer 401 with a Bearer challenge whose token service
  /// trickles its answer (over 90 s). The DELETE's token fetch is a task shared by every request of
  /// that scope, and awaiting its value ignored the 5 s race's cancellation: the failed copy
  /// was held back until the token service answered. Now a cancelled waiter stops waiting.
  @Test func aDeleteWhoseTokenServiceStallsHoldsTheFailureBackFiveSecondsAtMost() async throws {
    let (source, _, graph) = try await setUp()
    let target = try await HostileServer()
    let tokens = try await HostileServer()
    defer {
      target.stop()
      tokens.stop()
    }
    try await tokens.script([.init("GET", "/token", body: Data(#"{"token":"t-\#(String(repeating: "0123456789", count: 8))"}"#.utf8), trickle: 1)])
    try await target.script([
      .init("GET", "/v2/"),
      .init("HEAD", "/v2/app/blobs/", status: 404),
      .init("POST", "/v2/app/blobs/uploads/", status: 202, headers: ["Location": "/v2/app/blobs/uploads/s1"]),
      .init("PUT", "/v2/app/blobs/uploads/", status: 403, body: Data(#"{"errors":[{"code":"DENIED","message":"no"}]}"#.utf8)),
      .init("DELETE", "/v2/app/blobs/uploads/", status: 401, headers: ["WWW-Authenticate": #"Bearer realm="\#(tokens.url("/token"))",service="hostile""#]),
    ])
    var options = CopyOptions()
    options.concurrency = 1
    options.retries = 0
    let copier = Copier(
      source: testRegistryClient(source.host, side: "source"), sourceRepository: "app", target: testRegistryClient("127.0.0.1:\(target.port)"), targetRepository: "app",
      options: options)
    let started = ContinuousClock.now
    await #expect(throws: RegistryError.self) { _ = try await copier.copy(graph) }
    let took = ContinuousClock.now - started
    #expect(try await target.received().contains { $0.method == "DELETE" })
    #expect(try await tokens.received().count >= 1)
    // The token would take over 90 s; 40 s leaves a loaded machine room past the 5 s.
    #expect(took < .seconds(40), "\(took)")
  }

  /// Hostile target (a check that held): a session `Location` on another origin, and a DELETE
  /// of a session on its own origin redirected (307) to another: the other origin gets the
  /// DELETEs, never the target's credentials, which the target itself does get.
  @Test func deletesElsewhereCarryNoCredentials() async throws {
    let (source, _, graph) = try await setUp()
    let target = try await HostileServer()
    let other = try await HostileServer()
    defer {
      target.stop()
      other.stop()
    }
    let denied = Data(#"{"errors":[{"code":"DENIED","message":"no"}]}"#.utf8)
    try await other.script([.init(nil, "/", status: 403, body: denied)])
    try await target.script([
      .init("GET", "/v2/", status: 401, headers: ["WWW-Authenticate": #"Basic realm="r""#], times: 1),
      .init("GET", "/v2/"),
      .init("HEAD", "/v2/app/blobs/", status: 401, headers: ["WWW-Authenticate": #"Basic realm="r""#], times: 1),
      .init("HEAD", "/v2/app/blobs/", status: 404),
      .init("POST", "/v2/app/blobs/uploads/", status: 202, headers: ["Location": other.url("/elsewhere/s1")], times: 1),
      .init("POST", "/v2/app/blobs/uploads/", status: 202, headers: ["Location": "/v2/app/blobs/uploads/s2"]),
      .init("PUT", "/", status: 403, body: denied),
      .init("DELETE", "/v2/app/blobs/uploads/", status: 307, headers: ["Location": other.url("/moved")]),
    ])
    var options = CopyOptions()
    options.concurrency = 1
    options.retries = 0
    let copier = Copier(
      source: testRegistryClient(source.host, side: "source"), sourceRepository: "app",
      target: testRegistryClient("127.0.0.1:\(target.port)", credentials: Credentials(username: "ci", password: "s3cret")), targetRepository: "app", options: options)
    await #expect(throws: RegistryError.self) { _ = try await copier.copy(graph) }
    let atTarget = try await target.received()
    let elsewhere = try await other.received()
    #expect(atTarget.contains { $0.method == "POST" && $0.headers["authorization"]?.hasPrefix("Basic ") == true }, "\(atTarget.map { "\($0.method) \($0.path)" })")
    #expect(elsewhere.contains { $0.method == "DELETE" && $0.path == "/elsewhere/s1" }, "\(elsewhere.map { "\($0.method) \($0.path)" })")
    #expect(elsewhere.contains { $0.method == "DELETE" && $0.path == "/moved" })
    #expect(elsewhere.allSatisfy { $0.headers["authorization"] == nil })
  }

  /// The control: a copy that succeeds deletes nothing.
  @Test func aCopyThatSucceedsDeletesNothing() async throws {
    let (source, target, graph) = try await setUp()
    let proxy = try await FaultProxy(upstreamPort: target.port)
    defer { proxy.stop() }
    _ = try await copier(source, proxy).copy(graph)
    let requests = try await proxy.requests()
    #expect(requests.filter { $0.method == "PUT" && $0.status == 201 }.count == graph.blobs.count + 1)
    #expect(!requests.contains { $0.method == "DELETE" })
  }
}
