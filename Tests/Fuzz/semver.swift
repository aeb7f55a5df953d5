// Target: SemVer 2.0.0 parsing, ordering and printing (Versioning/SemVer).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let text = fuzzText(data, size)
  if let v = SemVer.parse(text, prefix: "v") {
    guard SemVer.parse(v.description) == v else { fatalError("round trip: \(text.debugDescription)") }
    _ = v < v
  }
  return 0
}
