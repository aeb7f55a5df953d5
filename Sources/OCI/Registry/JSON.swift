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
