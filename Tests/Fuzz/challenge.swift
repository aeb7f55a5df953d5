// Target: WWW-Authenticate challenges (OCI/Registry/Challenge).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  _ = AuthChallenge.parse(fuzzText(data, size))
  return 0
}
