import Foundation
import OCI
import Sigstore
import TestSupport
import Testing

/// The signed image scripts/bench-keyless times `promote` on (runs only when it sets
/// GANTRY_BENCH_REGISTRY and GANTRY_BENCH_OUT): an image in the benchmark's registry with a
/// keyless cosign signature and a SLSA provenance bundle (as an OCI referrer) from a private
/// Sigstore, whose trusted root is written to GANTRY_BENCH_OUT/trusted_root.json.
@Suite struct KeylessBenchFixture {
  static let env = ProcessInfo.processInfo.environment

  @Test(.enabled(if: env["GANTRY_BENCH_REGISTRY"] != nil && env["GANTRY_BENCH_OUT"] != nil))
  func signTheBenchmarkImage() async throws {
    let host = try #require(Self.env["GANTRY_BENCH_REGISTRY"])
    let out = URL(fileURLWithPath: try #require(Self.env["GANTRY_BENCH_OUT"]))
    let factory = ImageFactory(client: testRegistryClient(host, side: "source"), repository: "bench/app")
    let image = try await factory.pushImage(tag: "signed", layerSizes: [4_000_000, 2_000_000, 1_000_000])
    let pki = try TestSigstore()
    let id = TestSigstore.Identity.github("acme/app", ref: "refs/tags/v1.2.0")
    let payload = CosignSigner.payload(digest: image.digest.description, reference: "\(host)/bench/app")
    try await CosignSigner.attach(factory, to: image.digest, suffix: .signature, layer: payload, mediaType: Cosign.simpleSigning, annotations: try pki.cosignKeyless(payload, as: id))
    let statement = try TestSigstore.statement(digest: image.digest, predicateType: Provenance.v1, predicate: TestSigstore.slsaV1(repo: "acme/app", ref: "refs/tags/v1.2.0"))
    let bundleType = "application/vnd.dev.sigstore.bundle.v0.3+json"
    try await CosignSigner.attachReferrer(factory, to: image, artifactType: bundleType, content: try pki.attest(statement, as: id).bundle, layerMediaType: bundleType)
    try pki.trustedRootJSON().write(to: out.appendingPathComponent("trusted_root.json"))
    #expect(try await factory.client.resolve("bench/app", "signed")?.digest == image.digest)
  }
}
