import ActionsCore
import Foundation
import OCI
import TestSupport
import Testing

@testable import Stages

@Suite("promote through injected faults", .serialized)
struct FaultTests {
  @Test(arguments: [(5, false, false), (0, true, false), (0, false, true), (7, true, true)])
  func promotionCompletesWithTheIdenticalDigest(failEvery: Int, throttle: Bool, reset: Bool) async throws {
    let staging = try await RegistryProcess()
    let production = try await RegistryProcess()
    let (index, _) = try await ImageFactory(client: testRegistryClient(staging.host), repository: "app").pushIndex(
      tag: "1.0", platforms: [Platform(os: "linux", architecture: "amd64"), Platform(os: "linux", architecture: "arm64")], layerSizes: [300_000, 40_000])
    let proxy = try await FaultProxy(upstreamPort: staging.port, failEvery: failEvery, throttleFirstBlob: throttle, resetFirstBlob: reset)
    let r = try await runStage(PromoteStage.self, ["INPUT_SOURCE": "\(proxy.host)/app:1.0", "INPUT_TARGET": "\(production.host)/app", "INPUT_RETRIES": "4"])
    #expect(r.outputs["digest"] == index.digest.description, "\(r.failure ?? "")")
    #expect(try await testRegistryClient(production.host).resolve("app", "1.0")?.digest == index.digest)
    #expect(try await proxy.faults() > 0)
  }
}
