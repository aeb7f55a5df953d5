import Foundation
import HTTP
import TestSupport
import Testing

@testable import OCI
@testable import Stages

/// Validation reads every config whole (labels, platform) and holds it: what a registry's
/// manifests declare bounds that, each config read up to its declared size and all of an
/// image's together up to `Validator.configBudget`. A hostile registry on a real socket plays it.
@Suite("Hostile registries: what validation reads is bounded", .serialized)
struct ValidationBoundsTests {
  /// A single image whose config descriptor declares `size` bytes for `digest`.
  func graph(config digest: Digest, size: Int64) throws -> ImageGraph {
    let bytes = Data(
      #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(digest)","size":\#(size)},"layers":[]}"#
        .utf8)
    return ImageGraph(root: try RawManifest(bytes: bytes, mediaType: nil), children: [], platforms: [:])
  }

  func client(_ server: HostileServer) -> RegistryClient { testRegistryClient("127.0.0.1:\(server.port)", side: "source") }

  func validator(_ server: HostileServer) -> Validator {
    Validator(client: client(server), repository: "app", maxSize: 1 << 40, requiredLabels: [], platforms: [])
  }

  @Test func configsDeclaringMoreThanTheBudgetAreAskedForNotRead() async throws {
    let server = try await HostileServer()
    defer { server.stop() }
    let digest = Digest.sha256(Data("a config said to be 70 MB".utf8))
    let size = Int64(70 << 20)
    try await server.script([.init("HEAD", "/v2/app/blobs/\(digest)", headers: ["Content-Type": "application/octet-stream"], length: Int(size))])
    let outcome = try await validator(server).validate(graph(config: digest, size: size))
    let configs = try #require(outcome.checks.first { $0.name == "configs decode" })
    #expect(!configs.passed)
    #expect(configs.detail.contains("not read, the configs declare 73.4 MB together"), "\(configs.detail)")
    #expect(outcome.checks.first { $0.name == "blobs present" }?.passed == true)
    #expect(try await server.received().allSatisfy { $0.method != "GET" })
  }

  /// A config larger than its descriptor says stops the stage naming the registry, once the
  /// declared size is passed (it was read up to 16 MiB whatever the descriptor said).
  @Test func aConfigIsReadNoFurtherThanItsDeclaredSize() async throws {
    let server = try await HostileServer()
    defer { server.stop() }
    let body = Data(repeating: UInt8(ascii: "{"), count: 60_000)
    let digest = Digest.sha256(body)
    try await server.script([.init("GET", "/v2/app/blobs/\(digest)", body: body)])
    await #expect {
      _ = try await validator(server).validate(graph(config: digest, size: 100))
    } throws: { error in
      "\(error)".contains("127.0.0.1:\(server.port)") && "\(error)".contains("larger than 100 bytes")
    }
  }

  /// A `.sig` manifest of made-up signature layers: at most `SignatureGate.maxLayers` payloads
  /// are read, and the summary says the rest were not checked.
  @Test func signatureLayersAreCheckedUpToTheLimit() async throws {
    let server = try await HostileServer()
    defer { server.stop() }
    let signer = CosignSigner()
    let image = Digest.sha256(Data("image".utf8))
    let payload = CosignSigner.payload(digest: image.description, reference: "r")
    let layer = #"{"mediaType":"\#(Cosign.simpleSigning)","digest":"\#(Digest.sha256(payload))","size":\#(payload.count),"annotations":{"\#(Cosign.signatureAnnotation)":"AAAA"}}"#
    let config = #"{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(Digest.sha256(Data("{}".utf8)))","size":2}"#
    let sig = try RawManifest(
      bytes: Data(
        #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":\#(config),"layers":[\#(Array(repeating: layer, count: 300).joined(separator: ","))]}"#.utf8),
      mediaType: nil)
    try await server.script([.init("GET", "/v2/app/blobs/\(Digest.sha256(payload))", body: payload)])
    let gate = SignatureGate(
      client: client(server), repository: "app", verifier: SignatureVerifier(keys: [try CosignPublicKey(pem: signer.publicKeyPEM, name: "k")]), required: true)
    let attachment = Attachment(kind: .tag(.signature), subject: image, manifest: sig, descriptor: sig.descriptor)
    let (rows, check) = try await gate.evaluate(image, attachments: [attachment])
    #expect(rows.count == SignatureGate.maxLayers + 1)
    #expect(rows.last?.detail.contains("not checked: more than 256 signature layers") == true, "\(rows.last?.detail ?? "")")
    #expect(check?.passed == false)
    #expect(try await server.received().filter { $0.method == "GET" }.count == SignatureGate.maxLayers)
  }
}
