import ActionsCore
import Foundation
import OCI
import TestSupport
import Testing

@testable import Stages

/// promote from a source that serves a layer's bytes corrupt, to a target that checks no
/// digest and would commit any complete upload: the promotion fails and no tag moves.
@Suite("promote verifies every byte it copies", .serialized)
struct CorruptSourceTests {
  @Test(arguments: ["corrupt", "truncated"])
  func aCorruptLayerFailsThePromotionAndMovesNoTag(_ fault: String) async throws {
    let source = try await HostileServer()
    let target = try await HostileServer()
    defer {
      source.stop()
      target.stop()
    }
    let layer = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) })
    let config = Data(#"{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#.utf8)
    let manifest = Data(
      #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(Digest.sha256(config))","size":\#(config.count)},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"\#(Digest.sha256(layer))","size":\#(layer.count)}]}"#
        .utf8)
    let manifestDigest = Digest.sha256(manifest).description
    var served = layer
    var length: Int?
    if fault == "corrupt" {
      served[1000] ^= 0x55
    } else {
      length = layer.count
      served = layer.prefix(layer.count - 5000)
    }
    let manifestHeaders = ["Content-Type": "application/vnd.oci.image.manifest.v1+json", "Docker-Content-Digest": manifestDigest]
    try await source.script([
      .init("HEAD", "/v2/app/manifests/1.0.0", headers: manifestHeaders, body: manifest),
      .init("GET", "/v2/app/manifests/1.0.0", headers: manifestHeaders, body: manifest),
      .init("GET", "/v2/app/manifests/\(manifestDigest)", headers: manifestHeaders, body: manifest),
      .init("HEAD", "/v2/app/blobs/\(Digest.sha256(config))", body: config),
      .init("HEAD", "/v2/app/blobs/\(Digest.sha256(layer))", body: layer),
      .init("GET", "/v2/app/blobs/\(Digest.sha256(config))", body: config),
      .init("GET", "/v2/app/blobs/\(Digest.sha256(layer))", body: served, length: length),
    ])
    try await target.script([
      .init("POST", "/v2/prod/blobs/uploads/", status: 202, headers: ["Location": "/upload/\(UUID().uuidString)"]),
      .init("PUT", "/upload/", status: 201),
      .init("PUT", "/v2/prod/manifests/", status: 201),
    ])
    let env = [
      "INPUT_SOURCE": "127.0.0.1:\(source.port)/app:1.0.0", "INPUT_TARGET": "127.0.0.1:\(target.port)/prod", "INPUT_TAGS": "1.0.0\nlatest",
      "INPUT_RETRIES": "0", "INPUT_COPY-ARTIFACTS": "false",
    ]
    var failure: String?
    do { failure = try await runStage(PromoteStage.self, env).failure } catch { failure = "\(error)" }
    // The layer's own failure (digest mismatch, short body) is what is reported.
    #expect(failure?.contains(Digest.sha256(layer).description) == true)
    try await Task.sleep(for: .milliseconds(200))
    let received = try await target.received()
    // The layer's upload started (the target saw its PUT) but never completed; the config
    // blob may have been uploaded whole.
    #expect(received.contains { $0.method == "PUT" && $0.path.hasPrefix("/upload/") && !$0.bodyComplete })
    #expect(!received.contains { $0.method == "PUT" && $0.bodyComplete && $0.bodyBytes == layer.count })
    #expect(!received.contains { $0.method == "PUT" && $0.path.contains("/manifests/") })
  }
}
