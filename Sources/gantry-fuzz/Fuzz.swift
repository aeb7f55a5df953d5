import Foundation
import FuzzTargets

// Two builds of one file. `scripts/fuzz` builds it with `--sanitize fuzzer -DFUZZING`: libFuzzer
// provides `main` and calls the entry point below for the target named by GANTRY_FUZZ_TARGET.
// Every other build makes a replayer: `gantry-fuzz <target> <file or folder>…` runs saved
// inputs (a crash a fuzzer found, or a corpus) through a target without libFuzzer.

#if FUZZING
  private let selected: FuzzTargets.Target = {
    let name = ProcessInfo.processInfo.environment["GANTRY_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTargets.all[name] else {
      FileHandle.standardError.write(Data("GANTRY_FUZZ_TARGET must be one of: \(FuzzTargets.all.keys.sorted().joined(separator: ", "))\n".utf8))
      exit(2)
    }
    return target
  }()

  @_cdecl("LLVMFuzzerTestOneInput")
  public func fuzzOne(_ bytes: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    selected(Data(bytes: bytes, count: size))
    return 0
  }
#else
  @main
  struct Replay {
    static func main() {
      let args = CommandLine.arguments.dropFirst()
      guard let name = args.first, let target = FuzzTargets.all[name] else {
        print("usage: gantry-fuzz <target> <file or folder>…  targets: \(FuzzTargets.all.keys.sorted().joined(separator: " "))")
        exit(2)
      }
      var count = 0
      for path in args.dropFirst() {
        for file in FuzzTargets.files(at: path) {
          guard let data = FileManager.default.contents(atPath: file) else { continue }
          target(data)
          count += 1
        }
      }
      print("\(name): \(count) inputs ran clean")
    }
  }
#endif
