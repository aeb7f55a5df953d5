// Target: Link headers (HTTP/LinkHeader).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  _ = LinkHeader.next(fuzzText(data, size))
  return 0
}
