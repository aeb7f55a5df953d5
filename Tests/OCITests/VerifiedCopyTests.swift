import Foundation
import HTTP
import TestSupport
import Testing

@testable import OCI

/// Every byte verified: a source stand-in serves a blob's bytes wrong, to a target stand-in
/// that checks no digest and commits whatever a complete PUT carries. The copy must fail
/// before the upload completes, and no manifest may be put.
@Suite("Copies verify every byte before the target commits", .serialized)
struct VerifiedCopyTests {
  static let blob = Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })

  enum Fault: String, CaseIterable, Sendable {
    /// The control: the right bytes; the copy succeeds and the target gets a complete PUT.
    case none
    /// The same length, one byte flipped.
    case corrupt
    /// An honest, shorter `Content-Length`: the GET itself succeeds.
    case short
    /// The announced length, then the connection closes early.
    case truncated
    /// More bytes than the descriptor says.
    case long
  }

  @Test(arguments: Fault.allCases)
  func aBadBlobNeverCompletesItsUpload(_ fault: Fault) async throws {
    let source = try HostileServer()
    let target = try HostileServer()
    defer {
      source.stop()
      target.stop()
    }
    let digest = Digest.sha256(Self.blob)
    let manifestJSON =
      #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(digest)","size":\#(Self.blob.count)},"layers":[]}"#
    let manifest = try RawManifest(bytes: Data(manifestJSON.utf8), mediaType: nil)
    var served = Self.blob
    var length: Int?
    switch fault {
    case .none: break
    case .corrupt: served[served.count / 2] ^= 0xFF
    case .short: served = served.prefix(served.count - 10)
    case .truncated:
      length = served.count
      served = served.prefix(served.count / 2)
    case .long: served.append(contentsOf: [1, 2, 3])
    }
    try source.script([.init("GET", "/v2/src/blobs/\(digest)", body: served, length: length)])
    try target.script([
      .init("HEAD", "/v2/dst/blobs/", status: 404),
      .init("POST", "/v2/dst/blobs/uploads/", status: 202, headers: ["Location": "/upload/1?_state=abc"]),
      .init("PUT", "/upload/1", status: 201),
      .init("PUT", "/v2/dst/manifests/", status: 201),
    ])
    let src = RegistryClient(registry: "127.0.0.1:\(source.port)", http: HTTPClient(transport: CurlTransport(), retry: .none), options: RegistryOptions(side: "source"))
    let dst = RegistryClient(registry: "127.0.0.1:\(target.port)", http: HTTPClient(transport: CurlTransport(), retry: .none))
    var options = CopyOptions()
    options.retries = 0
    let copier = Copier(source: src, sourceRepository: "src", target: dst, targetRepository: "dst", options: options)
    let graph = ImageGraph(root: manifest, children: [], platforms: [:])
    if fault == .none {
      let report = try await copier.copy(graph, rootPresent: false)
      #expect(report.blobsCopied == 1)
      let put = try #require(try target.received().first { $0.method == "PUT" && $0.path.hasPrefix("/upload/1") })
      #expect(put.bodyComplete && put.bodyBytes == Self.blob.count)
      return
    }
    await #expect(throws: RegistryError.self) { _ = try await copier.copy(graph, rootPresent: false) }
    // Let the target finish reading whatever the aborted PUT sent.
    try await Task.sleep(for: .milliseconds(200))
    let received = try target.received()
    let puts = received.filter { $0.method == "PUT" && $0.path.hasPrefix("/upload/1") }
    #expect(puts.allSatisfy { !$0.bodyComplete })
    #expect(!received.contains { $0.path.contains("/manifests/") && $0.method == "PUT" })
  }
}
