import Dispatch
import FoundationEssentials
import GantryCLI

#if canImport(Glibc)
  import Glibc
#endif

// Everything lives in GantryCLI so tests can reach it; this only connects the process.
//
// Not an async top-level: that ends the main thread in dispatch_main(), whose pthread_exit
// unwinds it, and in the static binary the first unwind sorts every FDE of the image
// (~25 ms, most of a warm promotion). The work runs on a detached task that exits the
// process; the main thread only waits.
let arguments = Array(CommandLine.arguments.dropFirst())
let environment = ProcessInfo.processInfo.environment
GantryCLI.isolateParsers()
// Before any other thread starts: every thread inherits the mask that routes SIGINT and
// SIGTERM to the stage's cancellation.
Interruptions.install()
Task.detached {
  exit(await GantryCLI.run(arguments: arguments, environment: environment))
}
while true { DispatchSemaphore(value: 0).wait() }
