// Shared by every fuzz target (compiled into each by scripts/fuzz, never by SwiftPM).
import Foundation

/// The fuzzer's bytes as text (invalid UTF-8 repaired, as Gantry's readers do).
func fuzzText(_ data: UnsafePointer<UInt8>, _ size: Int) -> String {
  String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
}

/// A stand-in for swift-crypto's SHA256 (only Digest.sha256 uses it): the parsers are under
/// test, not the hash, and the fuzz build then needs no package.
enum SHA256 {
  static func hash(data: Data) -> [UInt8] { [UInt8](repeating: UInt8(truncatingIfNeeded: data.count), count: 32) }
}
