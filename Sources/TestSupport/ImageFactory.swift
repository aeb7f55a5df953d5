import Foundation
import HTTP
import OCI

/// Makes test images (random layers, a config with labels, OCI manifests and indexes) and
/// pushes them through the registry client.
public struct ImageFactory: Sendable {
  public let client: RegistryClient
  public let repository: String

  public init(client: RegistryClient, repository: String) {
    self.client = client
    self.repository = repository
  }

  /// Random bytes (a layer needs no valid tar for the registry).
  public static func randomBytes(_ count: Int) -> Data {
    var g = SystemRandomNumberGenerator()
    var data = Data(count: count)
    data.withUnsafeMutableBytes { buf in
      var i = 0
      while i + 8 <= buf.count {
        buf.storeBytes(of: g.next(), toByteOffset: i, as: UInt64.self)
        i += 8
      }
      while i < buf.count { buf[i] = UInt8.random(in: 0...255); i += 1 }
    }
    return data
  }

  /// Pushes one image: `layerSizes` random layers and a config; tags it when `tag` is given.
  @discardableResult
  public func pushImage(
    tag: String?, layerSizes: [Int] = [2048, 4096], labels: [String: String] = [:], platform: Platform = Platform(os: "linux", architecture: "amd64")
  ) async throws -> RawManifest {
    var layers: [Descriptor] = []
    for size in layerSizes {
      let d = try await client.pushBlob(repository, Self.randomBytes(size), mediaType: MediaType.ociLayerGzip)
      layers.append(d)
    }
    let config: [String: Any] = [
      "architecture": platform.architecture, "os": platform.os, "config": ["Labels": labels],
      "rootfs": ["type": "layers", "diff_ids": layers.map { $0.digest.description }],
      "created": "2026-11-22T00:00:00Z", "nonce": UUID().uuidString,
    ]
    let configData = try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys])
    let configDescriptor = try await client.pushBlob(repository, configData, mediaType: MediaType.ociConfig)
    return try await pushManifest(tag: tag, document: ["schemaVersion": 2, "mediaType": MediaType.ociManifest, "config": descriptorJSON(configDescriptor), "layers": layers.map(descriptorJSON)])
  }

  /// Pushes an index of one image per platform.
  @discardableResult
  public func pushIndex(tag: String?, platforms: [Platform], layerSizes: [Int] = [1024], labels: [String: String] = [:]) async throws -> (index: RawManifest, images: [RawManifest]) {
    var images: [RawManifest] = []
    var entries: [[String: Any]] = []
    for p in platforms {
      let m = try await pushImage(tag: nil, layerSizes: layerSizes, labels: labels, platform: p)
      images.append(m)
      var e = descriptorJSON(m.descriptor)
      var pj: [String: Any] = ["os": p.os, "architecture": p.architecture]
      if let v = p.variant { pj["variant"] = v }
      e["platform"] = pj
      entries.append(e)
    }
    let index = try await pushManifest(tag: tag, document: ["schemaVersion": 2, "mediaType": MediaType.ociIndex, "manifests": entries])
    return (index, images)
  }

  /// Pushes a manifest document by digest, then under `tag`.
  public func pushManifest(tag: String?, document: [String: Any]) async throws -> RawManifest {
    let bytes = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
    let manifest = try RawManifest(bytes: bytes, mediaType: document["mediaType"] as? String)
    try await client.putManifest(repository, manifest.digest.description, manifest)
    if let tag { try await client.putManifest(repository, tag, manifest) }
    return manifest
  }

  public func descriptorJSON(_ d: Descriptor) -> [String: Any] {
    ["mediaType": d.mediaType, "digest": d.digest.description, "size": d.size]
  }
}

/// A registry client for tests, over the real libcurl transport: the process's shared one for
/// the configuration, as the CLI's clients use (a transport per call kept its worker threads
/// for the rest of the run).
public func testRegistryClient(_ host: String, credentials: Credentials? = nil, side: String = "target", caFile: String? = nil) -> RegistryClient {
  var config = TransportConfiguration()
  config.caFile = caFile
  var http = HTTPClient(transport: CurlTransport.shared(config), retry: RetryPolicy(retries: 2, baseDelay: .milliseconds(20)))
  http.maxRedirects = 5
  return RegistryClient(registry: host, http: http, options: RegistryOptions(credentials: credentials, insecure: true, side: side))
}
