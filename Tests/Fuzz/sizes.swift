// Target: duration and size inputs (Stages: DurationInput, ByteSize). Bad text must throw,
// never trap, and an accepted value must lie within the documented range.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let text = fuzzText(data, size)
  if let d = try? DurationInput.parse(text, input: "interval", max: .seconds(3600)), d > .seconds(3600) || d < .zero {
    fatalError("duration out of range: \(text.debugDescription)")
  }
  if let n = try? ByteSize.parse(text, input: "max-size"), n < 0 || n > ByteSize.maximum { fatalError("size out of range: \(text.debugDescription)") }
  return 0
}
