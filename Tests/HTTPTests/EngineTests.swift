import Foundation
import TestSupport
import Testing

@testable import HTTP

/// The curl_multi engine: one thread per transport that sleeps in `curl_multi_poll`, drives a
/// GET → PUT pipe by pausing and resuming both sides, and exits when idle.
@Suite("curl_multi engine: one thread, no spinning, back-pressure", .serialized)
struct EngineTests {
  let server: LocalHTTPServer
  init() async throws { server = try await LocalHTTPServer() }

  static func quickIdle() -> TransportConfiguration {
    var config = TransportConfiguration()
    config.engineIdleTimeout = .milliseconds(200)
    return config
  }

  @Test func theEngineThreadExitsWhenIdleAndStartsAgain() async throws {
    let transport = CurlTransport(configuration: Self.quickIdle())
    #expect(!transport.engine.isRunning)
    #expect(try await transport.perform(Request(url: server.url("/status/200"))).status == 200)
    #expect(transport.engine.usage.threads == 1)
    // Generous: the machine running the tests may be loaded.
    try await Task.sleep(for: .seconds(2))
    #expect(!transport.engine.isRunning)
    // The next request starts it again, on the connection kept in the multi handle.
    #expect(try await transport.perform(Request(url: server.url("/status/200"))).status == 200)
    #expect(transport.engine.usage.threads == 2)
  }

  @Test func aDroppedTransportLeavesNoThreadOrEngine() async throws {
    weak var engine: CurlEngine?
    do {
      let transport = CurlTransport(configuration: Self.quickIdle())
      engine = transport.engine
      _ = try await transport.perform(Request(url: server.url("/status/200")))
    }
    // The running thread holds the engine until it has been idle for its timeout.
    try await Task.sleep(for: .seconds(2))
    #expect(engine == nil)
  }

  /// Tasks that prefer the engine (`withAffinity`, as health-check's probes do) run on the
  /// engine thread: their requests are queued and answered there, so no request and no
  /// answer crosses to another thread; child tasks too. The thread still exits when idle.
  @Test func tasksWithAffinityRunOnTheEngineThread() async throws {
    let transport = CurlTransport(configuration: Self.quickIdle())
    let url = server.url("/status/200")
    let threads = try await transport.withAffinity {
      var seen: Set<UInt> = [UInt(pthread_self())]
      for _ in 0..<20 {
        #expect(try await transport.perform(Request(url: url)).status == 200)
        seen.insert(UInt(pthread_self()))
      }
      let children = try await withThrowingTaskGroup(of: UInt.self) { group in
        for _ in 0..<4 {
          group.addTask {
            _ = try await transport.perform(Request(url: url))
            return UInt(pthread_self())
          }
        }
        return try await group.reduce(into: Set<UInt>()) { $0.insert($1) }
      }
      return seen.union(children)
    }
    #expect(threads.count == 1, "ran on \(threads.count) threads")
    #expect(transport.engine.usage.threads == 1)
    try await Task.sleep(for: .seconds(2))
    #expect(!transport.engine.isRunning)
    // Tasks find a thread again after the engine thread exited.
    #expect(try await transport.withAffinity { try await transport.perform(Request(url: url)).status } == 200)
    #expect(transport.engine.usage.threads == 2)
  }

  /// Cancelling a task that runs on the engine thread ends its transfer at once.
  @Test func cancellingATaskWithAffinityEndsItsTransfer() async throws {
    let transport = CurlTransport()
    let url = server.url("/slow/30000")
    let task = Task { try await transport.withAffinity { try await transport.perform(Request(url: url)) } }
    try await Task.sleep(for: .milliseconds(300))
    let clock = ContinuousClock()
    let start = clock.now
    task.cancel()
    await #expect(throws: HTTPError.cancelled) { _ = try await task.value }
    // The answer would take 30 s: a bound far from both, for a loaded machine.
    #expect(clock.now - start < .seconds(15))
  }

  /// A transfer waiting 3 s on a slow server costs the engine thread almost no CPU: it
  /// sleeps in curl_multi_poll (the worker pool this replaced spun with sched_yield).
  @Test func waitingOnASlowServerUsesNoCPU() async throws {
    let transport = CurlTransport()
    let clock = ContinuousClock()
    let start = clock.now
    let r = try await transport.perform(Request(url: server.url("/slow/3000")))
    #expect(r.status == 200)
    #expect(clock.now - start >= .seconds(3))
    let cpu = transport.engine.usage.cpu
    #expect(cpu < .milliseconds(100), "engine thread used \(cpu) of CPU while waiting 3 s")
  }

  /// A download into a pipe and the upload it feeds, both on the one engine thread: the
  /// upload pauses for bytes, the download for room; the held-back last byte keeps the
  /// upload from completing until the producer closed the pipe.
  @Test func aPipedCopyRunsOnOneThreadAndHoldsItsLastByte() async throws {
    let transport = CurlTransport()
    let size = 8 << 20
    let pipe = BodyPipe(length: Int64(size), capacity: 128 << 10, holdingLastByte: true)
    let finished = Flag()
    let upload = Task {
      defer { finished.set() }
      return try await transport.perform(Request(method: "PUT", url: server.url("/upload"), body: .source(pipe)))
    }
    let d = try await transport.perform(Request(url: server.url("/bytes/\(size)"), destination: .sink(pipe)))
    #expect(d.bodyBytes == Int64(size))
    try await Task.sleep(for: .milliseconds(300))
    #expect(!finished.value, "the upload completed before the producer closed the pipe")
    pipe.close()
    let u = try await upload.value
    let report = try JSONDecoder().decode(UploadReport.self, from: u.body)
    #expect(report.bytes == size)
    #expect(report.pattern_ok)
    #expect(transport.engine.usage.threads == 1)
  }

  @Test func aProducerFailureAbortsTheUpload() async throws {
    let transport = CurlTransport()
    let pipe = BodyPipe(length: 1 << 20, holdingLastByte: true)
    let upload = Task { try await transport.perform(Request(method: "PUT", url: server.url("/upload"), body: .source(pipe))) }
    _ = try await transport.perform(Request(url: server.url("/bytes/\(1 << 20)"), destination: .sink(pipe)))
    pipe.close(error: HTTPError.invalidRequest("digest mismatch"))
    await #expect(throws: HTTPError.invalidRequest("digest mismatch")) { _ = try await upload.value }
  }

  /// A download paused on a full pipe nobody reads: cancelling the task ends it at once.
  @Test func cancellingAPausedDownloadEndsIt() async throws {
    let transport = CurlTransport()
    let pipe = BodyPipe(length: nil, capacity: 64 << 10)
    let task = Task { try await transport.perform(Request(url: server.url("/bytes/\(32 << 20)"), destination: .sink(pipe))) }
    try await Task.sleep(for: .milliseconds(500))
    let clock = ContinuousClock()
    let start = clock.now
    task.cancel()
    await #expect(throws: HTTPError.cancelled) { _ = try await task.value }
    // Paused for good otherwise: a bound for a loaded machine.
    #expect(clock.now - start < .seconds(15))
    // Paused, the download cost no CPU either.
    #expect(transport.engine.usage.cpu < .milliseconds(200))
  }
}

/// Request bodies are factories: every attempt (a retry, a redirect) reads a fresh stream;
/// a one-shot stream is refused for a replay with a typed error, never re-sent half-read.
@Suite("Request bodies as factories", .serialized)
struct BodyFactoryTests {
  static func helloFactory(_ made: Counter) -> RequestBody {
    .stream(
      BodyFactory(length: 5) {
        made.increment()
        return DataBodySource(Data("hello".utf8))
      })
  }

  @Test func aRetryMakesTheBodyAgain() async throws {
    let server = try await HostileServer()
    defer { server.stop() }
    try await server.script([
      .init("PUT", "/up", status: 503, times: 1),
      .init("PUT", "/up", status: 201),
    ])
    let made = Counter()
    var client = HTTPClient(transport: CurlTransport(), retry: RetryPolicy(retries: 2))
    client.sleep = { _ in }
    let r = try await client.send(Request(method: "PUT", url: URL(string: server.url("/up"))!, body: Self.helloFactory(made)))
    #expect(r.status == 201)
    #expect(made.value == 2)
    let received = try await server.received()
    #expect(received.map(\.body) == ["hello", "hello"])
    #expect(received.allSatisfy { $0.bodyComplete })
  }

  @Test func aRedirectMakesTheBodyAgain() async throws {
    let server = try await HostileServer()
    defer { server.stop() }
    try await server.script([
      .init("PUT", "/a", status: 307, headers: ["Location": "/b"]),
      .init("PUT", "/b", status: 201),
    ])
    let made = Counter()
    let client = HTTPClient(transport: CurlTransport(), retry: .none)
    let r = try await client.send(Request(method: "PUT", url: URL(string: server.url("/a"))!, body: Self.helloFactory(made)))
    #expect(r.status == 201)
    #expect(made.value == 2)
    #expect(try await server.received().map(\.body) == ["hello", "hello"])
  }

  @Test func aOneShotStreamIsRefusedForAReplay() async throws {
    let server = try await HostileServer()
    defer { server.stop() }
    try await server.script([
      .init("PUT", "/a", status: 307, headers: ["Location": "/b"]),
      .init("PUT", "/b", status: 201),
    ])
    let pipe = BodyPipe(length: 5)
    try Data("hello".utf8).withUnsafeBytes { _ = try pipe.writeIfRoom($0) }
    pipe.close()
    let client = HTTPClient(transport: CurlTransport(), retry: .none)
    await #expect {
      _ = try await client.send(Request(method: "PUT", url: URL(string: server.url("/a"))!, body: .source(pipe)))
    } throws: { error in
      guard case HTTPError.bodyNotReplayable = error else { return false }
      return true
    }
    #expect(try await server.received().map(\.path) == ["/a"])
  }
}

final class Counter: @unchecked Sendable {
  private let lock = NSLock()
  private var n = 0
  func increment() { lock.withLock { n += 1 } }
  var value: Int { lock.withLock { n } }
}

final class Flag: @unchecked Sendable {
  private let lock = NSLock()
  private var on = false
  func set() { lock.withLock { on = true } }
  var value: Bool { lock.withLock { on } }
}
