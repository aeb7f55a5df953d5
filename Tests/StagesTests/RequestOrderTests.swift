import ActionsCore
import Foundation
import OCI
import TestSupport
import Testing

@testable import Stages

/// The order of promote's requests, recorded by proxies in front of real registries: what the
/// trust rules need (nothing written before every check passed; tags last, read back) and what
/// keeps a far registry fast (each blob asked about once, before any upload; every upload
/// opened at once, so each copy is one PUT streamed from its GET).
@Suite("promote's request order against real registries", .serialized)
struct RequestOrderTests {
  @Test func aColdPromoteChecksEverythingFirstThenOpensEveryUploadThenPutsEachMissingBlobOnce() async throws {
    let staging = try await RegistryProcess()
    let production = try await RegistryProcess()
    let stagingClient = testRegistryClient(staging.host)
    let (index, _) = try await ImageFactory(client: stagingClient, repository: "app").pushIndex(
      tag: "1.0", platforms: [Platform(os: "linux", architecture: "amd64"), Platform(os: "linux", architecture: "arm64")], layerSizes: [300_000, 40_000, 5_000])
    let graph = try await ImageGraph.load(from: stagingClient, repository: "app", root: index)
    // Configs are read whole by validation (their GET is their check) and put from memory
    // without asking the target; layers are asked about. The target has one layer already:
    // it is neither opened nor put.
    let configs = graph.configDigests
    let layers = graph.blobs.filter { !configs.contains($0.digest) }
    let shared = try #require(layers.first)
    try await testRegistryClient(production.host).pushBlob("app", try await stagingClient.blob("app", shared.digest))
    let missing = graph.blobs.filter { $0.digest != shared.digest }
    let source = try await FaultProxy(upstreamPort: staging.port)
    let target = try await FaultProxy(upstreamPort: production.port)
    defer {
      source.stop()
      target.stop()
    }

    let r = try await runStage(PromoteStage.self, ["INPUT_SOURCE": "\(source.host)/app:1.0", "INPUT_TARGET": "\(target.host)/app", "INPUT_TAGS": "1.0", "INPUT_CONCURRENCY": "2"])
    #expect(r.outputs["digest"] == index.digest.description, "\(r.failure ?? "")")

    let reads = try await source.requests()
    let writes = try await target.requests()
    func isBlob(_ r: FaultProxy.Recorded) -> Bool { r.path.contains("/blobs/sha256:") }
    let posts = writes.filter { $0.method == "POST" }
    let blobPuts = writes.filter { $0.method == "PUT" && $0.path.contains("/blobs/uploads/") }
    let firstWrite = try #require(writes.filter { $0.method == "POST" || $0.method == "PUT" }.map(\.arrived).min())

    // Validation (every source blob checked, every manifest and config read) is over before
    // the first write to the target.
    let validation = reads.filter { $0.method == "HEAD" || $0.path.contains("/manifests/") }
    #expect(validation.filter { isBlob($0) }.count == layers.count)
    #expect(validation.allSatisfy { ($0.answered ?? .max) < firstWrite }, "\(validation)")
    // The target is asked about each layer once, all before any upload opens.
    let heads = writes.filter { $0.method == "HEAD" && isBlob($0) }
    #expect(Set(heads.map(\.path)).count == layers.count && heads.count == layers.count, "\(heads.map(\.path))")
    #expect(heads.allSatisfy { $0.arrived < firstWrite })
    // One upload per missing blob, every one opened before the first PUT; one PUT each.
    #expect(posts.count == missing.count)
    #expect(blobPuts.count == missing.count && blobPuts.allSatisfy { $0.status == 201 })
    let firstPut = try #require(blobPuts.map(\.arrived).min())
    #expect(posts.allSatisfy { ($0.answered ?? .max) < firstPut })
    #expect(!blobPuts.contains { $0.path.contains(shared.digest.description) })
    #expect(!writes.contains { $0.method == "PATCH" })
    // Each missing blob is read from the source once for its copy (configs twice: validation
    // reads them whole).
    for blob in missing {
      let gets = reads.filter { $0.method == "GET" && $0.path.hasSuffix("/blobs/\(blob.digest)") }
      #expect(gets.count >= 1 && gets.count <= 2, "\(blob.digest): \(gets.count) GETs")
    }
    // The tag moves after every blob and platform manifest is in, and is read back.
    let tagPut = try #require(writes.first { $0.method == "PUT" && $0.path.hasSuffix("/manifests/1.0") })
    let before = writes.filter { $0.method == "PUT" && $0.path != tagPut.path }
    #expect(before.count == missing.count + graph.children.count)
    #expect(before.allSatisfy { ($0.answered ?? .max) < tagPut.arrived })
    #expect(writes.contains { $0.method == "HEAD" && $0.path.hasSuffix("/manifests/1.0") && $0.arrived > (tagPut.answered ?? .max) })
  }
}
