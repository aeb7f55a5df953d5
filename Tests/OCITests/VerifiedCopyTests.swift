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
    let source = try await HostileServer()
    let target = try await HostileServer()
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
    try await source.script([.init("GET", "/v2/src/blobs/\(digest)", body: served, length: length)])
    try await target.script([
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
      let put = try #require(try await target.received().first { $0.method == "PUT" && $0.path.hasPrefix("/upload/1") })
      #expect(put.bodyComplete && put.bodyBytes == Self.blob.count)
      return
    }
    await #expect(throws: RegistryError.self) { _ = try await copier.copy(graph, rootPresent: false) }
    // Let the target finish reading whatever the aborted PUT sent.
    try await Task.sleep(for: .milliseconds(200))
    let received = try await target.received()
    let puts = received.filter { $0.method == "PUT" && $0.path.hasPrefix("/upload/1") }
    #expect(puts.allSatisfy { !$0.bodyComplete })
    #expect(!received.contains { $0.path.contains("/manifests/") && $0.method == "PUT" })
  }
}

/// A registry handing out tag pages without end: reading stops at a cap on tags held (memory)
/// or on pages read, with a clear error, instead of growing memory for ever.
@Suite("Endless tag pages are capped", .serialized)
struct EndlessPagesTests {
  func client(_ server: HostileServer, maxTags: Int, maxPages: Int) -> RegistryClient {
    var options = RegistryOptions()
    options.maxTags = maxTags
    options.maxPages = maxPages
    return RegistryClient(registry: "127.0.0.1:\(server.port)", http: HTTPClient(transport: CurlTransport(), retry: .none), options: options)
  }

  @Test func tagsHeldAreCapped() async throws {
    let server = try await HostileServer()
    defer { server.stop() }
    var rule = HostileServer.Rule("GET", "/v2/app/tags/list")
    rule.endlessTags = 1000
    try await server.script([rule])
    await #expect {
      _ = try await client(server, maxTags: 5000, maxPages: 1000).tags("app")
    } throws: { error in
      "\(error)".contains("more than 5000 tags")
    }
    // Six pages of 1000 passed the cap: no more were asked for.
    #expect(try await server.received().count == 6)
  }

  @Test func pagesReadAreCapped() async throws {
    let server = try await HostileServer()
    defer { server.stop() }
    var rule = HostileServer.Rule("GET", "/v2/app/tags/list")
    rule.endlessTags = 2
    try await server.script([rule])
    await #expect {
      _ = try await client(server, maxTags: 100_000, maxPages: 5).tags("app")
    } throws: { error in
      "\(error)".contains("more than 5 pages")
    }
    #expect(try await server.received().count == 5)
  }
}
