// Target: conventional commit messages (Versioning/ConventionalCommit).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let c = ConventionalCommit(sha: "0000000", message: fuzzText(data, size))
  _ = c.bump
  return 0
}
