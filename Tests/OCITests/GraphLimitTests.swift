import Foundation
import HTTP
import TestSupport
import Testing

@testable import OCI

/// A registry decides what an image's graph holds: an index can list digests of manifests the
/// registry makes up as it goes, each up to 4 MiB, nested without end. Loading stops at
/// ``ImageGraph/Limits`` with an error naming the registry, before memory runs out; a hostile
/// registry on a real socket plays it.
@Suite("Hostile registries: an image graph is bounded", .serialized)
struct GraphLimitTests {
  static let config = Data(#"{"architecture":"amd64","os":"linux"}"#.utf8)

  /// An image manifest (no layers) made unique by `note`, padded with `pad` bytes.
  static func image(_ note: String, pad: Int = 0) -> Data {
    let annotation = note + String(repeating: "x", count: pad)
    return Data(
      #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(Digest.sha256(config))","size":\#(config.count)},"layers":[],"annotations":{"n":"\#(annotation)"}}"#
        .utf8)
  }

  static func index(_ children: [(Data, String)]) -> Data {
    let entries = children.map { #"{"mediaType":"\#($0.1)","digest":"\#(Digest.sha256($0.0))","size":\#($0.0.count)}"# }
    return Data(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[\#(entries.joined(separator: ","))]}"#.utf8)
  }

  static let imageType = "application/vnd.oci.image.manifest.v1+json"
  static let indexType = "application/vnd.oci.image.index.v1+json"

  /// Rules serving each manifest at its digest.
  static func serving(_ manifests: [(Data, String)]) -> [HostileServer.Rule] {
    manifests.map { m in
      HostileServer.Rule("GET", "/v2/app/manifests/\(Digest.sha256(m.0))", headers: ["Content-Type": m.1, "Docker-Content-Digest": Digest.sha256(m.0).description], body: m.0)
    }
  }

  func client(_ server: HostileServer) -> RegistryClient { testRegistryClient("127.0.0.1:\(server.port)", side: "source") }

  func manifestGETs(_ server: HostileServer) async throws -> Int {
    try await server.received().filter { $0.method == "GET" && $0.path.contains("/manifests/") }.count
  }

  @Test func anIndexOfMoreThanAThousandManifestsIsRefusedBeforeAnyIsFetched() async throws {
    let server = try await HostileServer()
    defer { server.stop() }
    let children = (0...1000).map { (Self.image("\($0)"), Self.imageType) }
    let root = try RawManifest(bytes: Self.index(children), mediaType: Self.indexType)
    await #expect {
      _ = try await ImageGraph.load(from: client(server), repository: "app", root: root)
    } throws: { error in
      "\(error)".contains("127.0.0.1:\(server.port)") && "\(error)".contains("lists more than 1000 manifests")
    }
    #expect(try await manifestGETs(server) == 0)
  }

  @Test func indexesNestedPastTheLimitAreRefusedAndAtTheLimitLoad() async throws {
    let server = try await HostileServer()
    defer { server.stop() }
    // A chain: root → index 1 → … → index `nested` → one image.
    func chain(_ nested: Int) throws -> (root: RawManifest, served: [(Data, String)]) {
      var below: (Data, String) = (Self.image("leaf-\(nested)"), Self.imageType)
      var served = [below]
      for _ in 0..<nested {
        below = (Self.index([below]), Self.indexType)
        served.append(below)
      }
      return (try RawManifest(bytes: Self.index([below]), mediaType: Self.indexType), served)
    }
    let deep = try chain(5)
    let fine = try chain(4)
    try await server.script(Self.serving(deep.served + fine.served))
    await #expect {
      _ = try await ImageGraph.load(from: client(server), repository: "app", root: deep.root)
    } throws: { error in
      "\(error)".contains("nests indexes more than 4 deep")
    }
    let graph = try await ImageGraph.load(from: client(server), repository: "app", root: fine.root)
    #expect(graph.children.count == 5)
    #expect(graph.images.count == 1)
  }

  @Test func manifestsPastTheByteLimitStopTheLoadAsTheyArrive() async throws {
    let server = try await HostileServer()
    defer { server.stop() }
    let children = (0..<40).map { (Self.image("\($0)", pad: 3000), Self.imageType) }
    try await server.script(Self.serving(children))
    let root = try RawManifest(bytes: Self.index(children), mediaType: Self.indexType)
    var limits = ImageGraph.Limits()
    limits.bytes = 20_000
    await #expect {
      _ = try await ImageGraph.load(from: client(server), repository: "app", root: root, limits: limits)
    } throws: { error in
      "\(error)".contains("holds more than 20000 bytes of manifests")
    }
    // Counted as they arrive: at most the 8 in flight past the 7th that crossed the limit.
    #expect(try await manifestGETs(server) <= 7 + 8)
    limits.bytes = 200_000
    #expect(try await ImageGraph.load(from: client(server), repository: "app", root: root, limits: limits).children.count == 40)
  }

  /// The same bounds hold for what is attached to the image: a referrers list of more than a
  /// thousand is refused before any is fetched, and their manifests are counted as they arrive.
  @Test func attachmentsAreBoundedLikeTheGraph() async throws {
    let server = try await HostileServer()
    defer { server.stop() }
    let subject = Digest.sha256(Data("the image".utf8))
    let many = (0...1000).map { (Self.image("sig-\($0)"), Self.imageType) }
    let few = (0..<40).map { (Self.image("att-\($0)", pad: 3000), Self.imageType) }
    func referrers(_ list: [(Data, String)]) -> HostileServer.Rule {
      .init("GET", "/v2/app/referrers/\(subject)", headers: ["Content-Type": Self.indexType], body: Self.index(list), times: 1)
    }
    try await server.script([referrers(many)])
    await #expect {
      _ = try await AttachmentFinder(client: client(server), repository: "app").find(for: [subject])
    } throws: { error in
      "\(error)".contains("127.0.0.1:\(server.port)") && "\(error)".contains("number more than 1000")
    }
    #expect(try await server.received().filter { $0.path.contains("/manifests/sha256:") }.isEmpty)

    try await server.script([referrers(few)] + Self.serving(few))
    var limits = ImageGraph.Limits()
    limits.bytes = 20_000
    await #expect {
      _ = try await AttachmentFinder(client: client(server), repository: "app").find(for: [subject], limits: limits)
    } throws: { error in
      "\(error)".contains("hold more than 20000 bytes of manifests")
    }
  }

  /// A release's images share one total: each image alone fits, together they do not.
  @Test func imagesSharingATallyCountTogether() async throws {
    let server = try await HostileServer()
    defer { server.stop() }
    let first = (0..<4).map { (Self.image("a\($0)", pad: 3000), Self.imageType) }
    let second = (0..<4).map { (Self.image("b\($0)", pad: 3000), Self.imageType) }
    try await server.script(Self.serving(first + second))
    var limits = ImageGraph.Limits()
    limits.bytes = 20_000
    limits.tally = ByteTally()
    let a = try await ImageGraph.load(from: client(server), repository: "app", root: RawManifest(bytes: Self.index(first), mediaType: Self.indexType), limits: limits)
    #expect(a.children.count == 4)
    await #expect {
      _ = try await ImageGraph.load(from: client(server), repository: "app", root: RawManifest(bytes: Self.index(second), mediaType: Self.indexType), limits: limits)
    } throws: { error in
      "\(error)".contains("holds more than 20000 bytes of manifests")
    }
    // Alone, the second fits.
    limits.tally = nil
    #expect(try await ImageGraph.load(from: client(server), repository: "app", root: RawManifest(bytes: Self.index(second), mediaType: Self.indexType), limits: limits).children.count == 4)
    // What is reserved only when it fits.
    let tally = ByteTally()
    #expect(tally.reserve(15, within: 20) && !tally.reserve(6, within: 20) && tally.reserve(5, within: 20))
    #expect(!tally.reserve(.max, within: .max))
  }
}
