import Foundation
import GantryCLI

// Everything lives in GantryCLI so tests can reach it; this only connects the process.
let status = await GantryCLI.run(arguments: Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
exit(status)
