import ActionsCore
import Basics
import FoundationEssentials

/// One pipeline stage: declared inputs and outputs, and a `run` that turns resolved inputs
/// into a ``StageResult``. A stage does no output-file or summary I/O of its own: the CLI
/// writes what it returns, which keeps stages testable and their output exact.
public protocol Stage: Sendable {
  /// The name used for `INPUT_STAGE` and the first CLI argument.
  static var name: String { get }
  /// One line for `gantry --help`.
  static var abstract: String { get }
  static var inputs: [InputDeclaration] { get }
  static var outputs: [OutputDeclaration] { get }
  init()
  func run(_ context: StageContext) async throws -> StageResult
}

/// What a stage gets to work with.
public struct StageContext: Sendable {
  public var inputs: Inputs
  public var environment: ActionEnvironment
  public var log: Log
  /// "Now", fixed per run so outputs agree with each other (and tests can pin it).
  public var now: Date
  /// The network: every client the stage builds is built on it (``Connections``).
  public var connections: Connections
  /// What the stage is doing now, for the message of a stage that runs out of time.
  public let activity: StageActivity

  public init(inputs: Inputs, environment: ActionEnvironment, log: Log, now: Date = Date(), connections: Connections, activity: StageActivity = StageActivity()) {
    self.inputs = inputs
    self.environment = environment
    self.log = log
    self.now = now
    self.connections = connections
    self.activity = activity
  }

  /// Notes what the stage does from now on ("copying 3 blobs to …"): a `timeout` names it.
  public func doing(_ what: String) { activity.set(what) }
}

/// What a stage produced. `failure` set means the stage ran to the end but the result is a
/// failure (exit 1) — its outputs and summary still describe what was found.
public struct StageResult: Sendable, Equatable {
  public var outputs: Outputs
  public var summary: StepSummary
  public var failure: String?

  public init(outputs: Outputs = Outputs(), summary: StepSummary = StepSummary(), failure: String? = nil) {
    self.outputs = outputs
    self.summary = summary
    self.failure = failure
  }
}

/// A stage could not do its work (exit 1). Bad input is an ``InputError`` instead (exit 2).
public struct StageFailure: Error, Sendable, Equatable, CustomStringConvertible {
  public var title: String
  public var message: String

  public init(_ message: String, title: String = "Stage failed") {
    self.title = title
    self.message = message
  }

  public var description: String { message }
}
