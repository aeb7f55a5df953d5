import Foundation
import Testing

@testable import OCI

/// Documents written so that Gantry and the Go programs after it (the registry that takes the
/// manifest, containerd and docker that run it) would read different values: Go's
/// `encoding/json` matches member names to fields without case, the last match winning.
/// Gantry must refuse them rather than check one blob while the runtime pulls another.
@Suite("Manifests a Go reader would read differently are refused")
struct CaseFoldedMemberTests {
  static let a = "sha256:" + String(repeating: "a", count: 64)
  static let b = "sha256:" + String(repeating: "b", count: 64)

  func manifest(config: String, layers: String = "[]", annotations: String = "{}") -> String {
    #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":\#(config),"layers":\#(layers),"annotations":\#(annotations)}"#
  }

  func refused(_ json: String, naming path: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(sourceLocation: sourceLocation) {
      _ = try RawManifest(bytes: Data(json.utf8), mediaType: nil)
    } throws: { error in
      "\(error)".contains(path) && "\(error)".contains("differ in case only")
    }
  }

  /// Before: Gantry read layer A (copied it, checked its size) while Go's reader took B.
  @Test func aDescriptorWithTwoDigestsInDifferentCaseIsRefused() {
    let config = #"{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(Self.a)","size":2}"#
    refused(manifest(config: config, layers: #"[{"mediaType":"x","digest":"\#(Self.a)","Digest":"\#(Self.b)","size":1}]"#), naming: "layers[0].digest")
    // The long s (U+017F) folds to s, as in Go: `ſize` is `size` there.
    refused(manifest(config: config, layers: #"[{"mediaType":"x","digest":"\#(Self.a)","size":1,"ſize":99999999999}]"#), naming: "layers[0].size")
    refused(manifest(config: #"{"mediaType":"x","digest":"\#(Self.a)","size":2,"SIZE":1}"#), naming: "config.size")
  }

  @Test func aTopLevelFieldInTwoCasesIsRefused() {
    let config = #"{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(Self.a)","size":2}"#
    let twoConfigs = #"{"schemaVersion":2,"config":\#(config),"Config":{"mediaType":"x","digest":"\#(Self.b)","size":2},"layers":[]}"#
    refused(twoConfigs, naming: "config")
    #expect(throws: (any Error).self) {
      _ = try ImageConfig(bytes: Data(#"{"architecture":"amd64","Architecture":"arm64","os":"linux"}"#.utf8))
    }
    #expect(throws: (any Error).self) {
      _ = try ImageConfig(bytes: Data(#"{"os":"linux","config":{"Labels":{"a":"1"},"labels":{"a":"2"}}}"#.utf8))
    }
  }

  /// The control: keys of a map (annotations, labels) are Go map keys, matched exactly there
  /// too, and may differ in case only.
  @Test func mapKeysThatDifferInCaseOnlyAreKept() throws {
    let config = #"{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(Self.a)","size":2}"#
    let m = try RawManifest(bytes: Data(manifest(config: config, annotations: #"{"Version":"1","version":"2"}"#).utf8), mediaType: nil)
    guard case .image(let c, _, _, _) = m.content else { Issue.record("not an image"); return }
    #expect(c.size == 2)
    let image = try ImageConfig(bytes: Data(#"{"os":"linux","architecture":"amd64","config":{"Labels":{"Team":"a","team":"b"}}}"#.utf8))
    #expect(image.labels == ["Team": "a", "team": "b"])
  }

  /// `Character.isHexDigit` holds for fullwidth digits: such a digest passed as 64 hex digits.
  @Test func aDigestOfFullwidthDigitsIsNotADigest() {
    let fullwidth = "sha256:" + String(repeating: "\u{FF41}", count: 64)
    #expect(throws: (any Error).self) { try Digest(parsing: fullwidth) }
    #expect {
      _ = try RawManifest(bytes: Data(manifest(config: #"{"mediaType":"x","digest":"\#(fullwidth)","size":2}"#).utf8), mediaType: nil)
    } throws: { error in
      "\(error)".contains("config.digest") && "\(error)".contains("64 lower-case hex digits")
    }
  }
}
