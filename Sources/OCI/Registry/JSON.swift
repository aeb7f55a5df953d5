import Basics
import FoundationEssentials

/// Shared decoding helpers (JSONDecoder is cheap, but one place keeps options consistent).
enum JSONDecoderShared {
  static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
    try JSONDecoder().decode(type, from: Data(bytes))
  }
  static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
    try JSONDecoder().decode(type, from: data)
  }
}

/// The list documents of the distribution API, read by hand from the parsed value (see
/// ``JSONValue/parse(bytes:)`` for why): tag list pages and referrers indexes.
enum RegistryJSON {
  /// `{"name": …, "tags": [ … ]}` ([spec: listing tags](https://github.com/opencontainers/distribution-spec/blob/main/spec.md#listing-tags)); nil `tags` is none.
  static func tags(_ body: Data, registry: String) throws -> [String] {
    try read(body, registry: registry, what: "tag list") { o throws(JSONShapeError) in try o.strings("tags") ?? [] }
  }

  /// The `manifests` of a referrers index ([spec: listing referrers](https://github.com/opencontainers/distribution-spec/blob/main/spec.md#listing-referrers)).
  static func manifests(_ body: Data, registry: String) throws -> [Descriptor] {
    try read(body, registry: registry, what: "referrers index") { o throws(JSONShapeError) in try o.array("manifests", Descriptor.init(json:path:)) ?? [] }
  }

  private static func read<T>(_ body: Data, registry: String, what: String, _ fields: (JSONObject) throws(JSONShapeError) -> T) throws(RegistryError) -> T {
    let json: JSONValue
    do throws(JSONParseError) { json = try JSONValue.parse(bytes: body) } catch { throw RegistryError.invalidResponse(registry: registry, why: "\(what) is not JSON: \(error)") }
    do throws(JSONShapeError) { return try fields(JSONObject(json)) } catch { throw RegistryError.invalidResponse(registry: registry, why: "\(what): \(error)") }
  }
}
