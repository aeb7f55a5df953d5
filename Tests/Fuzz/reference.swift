// Target: image references and digests (OCI/Reference).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let text = fuzzText(data, size)
  if let r = try? Reference(parsing: text) {
    // A parsed reference prints as one that parses again to the same value.
    guard let again = try? Reference(parsing: r.description), again == r else { fatalError("round trip: \(text.debugDescription) → \(r)") }
    if r.registry != Reference.dockerHub, !Reference.isValidHost(r.registry) { fatalError("invalid host accepted: \(r.registry.debugDescription)") }
  }
  _ = try? Digest(parsing: text)
  return 0
}
