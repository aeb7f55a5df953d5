import Crypto
import Foundation
import OCI

/// Makes cosign-format signatures, attestations and SBOM attachments with swift-crypto, laid out
/// as cosign writes them ([SIGNATURE_SPEC.md](https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md)):
/// an OCI manifest under `sha256-<hex>.sig` whose layers are simple-signing payloads carrying a
/// base64 DER ECDSA signature in `dev.cosignproject.cosign/signature`.
public struct CosignSigner: Sendable {
  /// The raw private scalar (swift-crypto's key type is not Sendable).
  private let raw: Data

  public init() { raw = P256.Signing.PrivateKey().rawRepresentation }

  private var key: P256.Signing.PrivateKey { try! P256.Signing.PrivateKey(rawRepresentation: raw) }

  /// `cosign.pub`: the PEM public key.
  public var publicKeyPEM: String { key.publicKey.pemRepresentation }

  /// The payload `cosign sign` makes for `digest` pushed as `reference`.
  public static func payload(digest: String, reference: String) -> Data {
    Data(#"{"critical":{"identity":{"docker-reference":"\#(reference)"},"image":{"docker-manifest-digest":"\#(digest)"},"type":"cosign container image signature"},"optional":null}"#.utf8)
  }

  /// Base64 of the DER ECDSA-P256-SHA256 signature over `payload`.
  public func sign(_ payload: Data) -> String {
    try! key.signature(for: payload).derRepresentation.base64EncodedString()
  }

  /// Pushes a `.sig` manifest for `digest`. `payload` and `signature` default to a valid pair;
  /// pass others to make the bad cases.
  @discardableResult
  public func attachSignature(
    _ factory: ImageFactory, to digest: OCI.Digest, reference: String, payload: Data? = nil, signature: String? = nil, annotations: [String: String] = [:]
  ) async throws -> RawManifest {
    let body = payload ?? Self.payload(digest: digest.description, reference: reference)
    var ann = annotations
    ann[Cosign.signatureAnnotation] = signature ?? sign(body)
    return try await Self.attach(factory, to: digest, suffix: .signature, layer: body, mediaType: Cosign.simpleSigning, annotations: ann)
  }

  /// Pushes a cosign attachment manifest (`.sig`, `.att`, `.sbom`) with one layer.
  @discardableResult
  public static func attach(
    _ factory: ImageFactory, to digest: OCI.Digest, suffix: Cosign.Attachment, layer: Data, mediaType: String, annotations: [String: String] = [:]
  ) async throws -> RawManifest {
    let layerDescriptor = try await factory.client.pushBlob(factory.repository, layer, mediaType: mediaType)
    let config = Data(#"{"architecture":"","created":"0001-01-01T00:00:00Z","os":"","rootfs":{"type":"layers","diff_ids":["\#(layerDescriptor.digest)"]},"config":{}}"#.utf8)
    let configDescriptor = try await factory.client.pushBlob(factory.repository, config, mediaType: MediaType.ociConfig)
    var l = factory.descriptorJSON(layerDescriptor)
    if !annotations.isEmpty { l["annotations"] = annotations }
    return try await factory.pushManifest(
      tag: Cosign.tag(digest, suffix),
      document: [
        "schemaVersion": 2, "mediaType": MediaType.ociManifest, "config": factory.descriptorJSON(configDescriptor), "layers": [l],
      ])
  }

  /// Pushes an OCI 1.1 artifact whose `subject` is `subject`, and lists it in the `sha256-<hex>`
  /// fallback index, as clients do on registries without the referrers API.
  @discardableResult
  public static func attachReferrer(
    _ factory: ImageFactory, to subject: RawManifest, artifactType: String, content: Data, layerMediaType: String = "application/json"
  ) async throws -> RawManifest {
    let layer = try await factory.client.pushBlob(factory.repository, content, mediaType: layerMediaType)
    let empty = try await factory.client.pushBlob(factory.repository, Data("{}".utf8), mediaType: MediaType.ociEmpty)
    let manifest = try await factory.pushManifest(
      tag: nil,
      document: [
        "schemaVersion": 2, "mediaType": MediaType.ociManifest, "artifactType": artifactType,
        "config": factory.descriptorJSON(empty), "layers": [factory.descriptorJSON(layer)], "subject": factory.descriptorJSON(subject.descriptor),
      ])
    var entry = factory.descriptorJSON(manifest.descriptor)
    entry["artifactType"] = artifactType
    _ = try await factory.pushManifest(tag: Cosign.referrersTag(subject.digest), document: ["schemaVersion": 2, "mediaType": MediaType.ociIndex, "manifests": [entry]])
    return manifest
  }
}
