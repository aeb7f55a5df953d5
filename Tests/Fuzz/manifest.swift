// Target: manifest and index JSON (OCI/Types/Manifest), as a registry would send it.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Data(UnsafeBufferPointer(start: data, count: size))
  for type in [nil, "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json"] {
    if let m = try? RawManifest(bytes: bytes, mediaType: type) {
      if case .image(let config, let layers, _, _) = m.content { _ = Descriptor.totalSize([config] + layers) }
    }
  }
  return 0
}
