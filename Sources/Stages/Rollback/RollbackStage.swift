import ActionsCore
import Foundation
import OCI

/// `rollback`: put the environment tag back on the newest earlier image recorded for it that
/// still exists (or on `to`), read it back, and record the bad image as rolled back so
/// `promote` refuses it later (unless forced).
public struct RollbackStage: Stage {
  public static let name = "rollback"
  public static let abstract = "Re-point the environment tag to the previous recorded image and quarantine the bad one"

  public static let inputs: [InputDeclaration] =
    [
      RegistryInputs.target,
      RegistryInputs.environment.asRequired(),
      InputDeclaration("to", "rollback: version tag or digest to restore (default: the newest earlier recorded image that still exists)"),
      InputDeclaration("reason", "rollback: why, recorded in the history and the summary", default: "health check failed"),
      RegistryInputs.tags,
      RegistryInputs.dryRun,
    ] + RegistryInputs.credentials("target") + RegistryInputs.connection

  public static let outputs: [OutputDeclaration] = [
    RegistryInputs.digestOutput,
    RegistryInputs.imageOutput,
    OutputDeclaration("previous-digest", "rollback: what was live before"),
    OutputDeclaration("rolled-back-digest", "rollback: the digest now quarantined for this environment"),
    RegistryInputs.versionOutput,
  ]

  public init() {}

  public func run(_ context: StageContext) async throws -> StageResult {
    let inputs = context.inputs
    let log = context.log
    let target = try RegistryInputs.reference("target", try inputs.require("target")).with(tag: nil)
    let environment = try environmentTag(try inputs.require("environment"))
    let reason = inputs.string("reason", default: "health check failed")
    let dryRun = try inputs.bool("dry-run")
    let extraTags = inputs.list("tags")
    for t in extraTags where !Reference.isValidTag(t) { throw InputError("tags", "'\(t)' is not a valid tag") }
    let client = try RegistryInputs.client(for: target.registry, side: "target", context: context)
    let history = History(client: client, repository: target.repository, environment: environment)
    let repo = target.repository

    let entries = try await history.entries()
    guard let live = try await client.resolve(repo, environment) else {
      throw StageFailure("\(target):\(environment) does not exist: nothing is live in \(environment) to roll back", title: "rollback failed")
    }

    // Choose what to restore.
    var notes: [String] = []
    var chosen: (digest: Digest, version: String?)?
    if let to = inputs.string("to") {
      if to.hasPrefix("sha256:") {
        do { _ = try Digest(parsing: to) } catch { throw InputError("to", error.description) }
      } else if !Reference.isValidTag(to) {
        throw InputError("to", "'\(to)' is neither a tag nor a sha256 digest")
      }
      guard let d = try await client.resolve(repo, to) else {
        throw StageFailure("\(target):\(to) does not exist; nothing was changed", title: "rollback failed")
      }
      chosen = (d.digest, entries.first { $0.record.digest == d.digest }?.record.version ?? (to.hasPrefix("sha256:") ? nil : to))
    } else {
      for candidate in History.candidates(entries, current: live.digest) {
        if try await client.resolve(repo, candidate.record.digest.description) != nil {
          chosen = (candidate.record.digest, candidate.record.version)
          break
        }
        let note = "skipped \(candidate.record.digest.short) (\(candidate.record.version ?? "no version"), promoted \(OCILabelsTime.format(candidate.record.time))): it no longer exists in \(target)"
        log.warning(note)
        notes.append(note)
      }
    }
    guard let chosen else {
      let why = entries.isEmpty ? "no earlier promotion of \(environment) recorded in \(target)" : "no earlier image of \(environment) recorded in \(target) still exists and is not quarantined"
      throw StageFailure("\(why); nothing was changed", title: "rollback failed")
    }
    guard chosen.digest != live.digest else {
      throw StageFailure("\(chosen.digest) is already live in \(environment); nothing was changed", title: "rollback failed")
    }
    let manifest = try await client.manifest(repo, chosen.digest.description)
    let tags = [environment] + extraTags.filter { $0 != environment }

    var outputs = Outputs()
    outputs["digest"] = chosen.digest.description
    outputs["image"] = target.with(digest: chosen.digest).description
    outputs["previous-digest"] = live.digest.description
    outputs["rolled-back-digest"] = live.digest.description
    outputs["version"] = OutputValue.version(chosen.version, log: log)

    if !dryRun {
      // A concurrent promotion wins: we change nothing.
      try await moveTags(tags, to: manifest, of: target, client: client, environment: environment, expected: live.digest, stage: "rollback")
      let writer = RecordWriter(history: history, context: context)
      let bad = entries.first { $0.record.digest == live.digest }?.record
      _ = try await writer.append(.rolledBack, digest: live, previous: live.digest, version: bad?.version, tags: tags, source: nil, reason: reason)
      _ = try await writer.append(.completed, digest: manifest.descriptor, previous: live.digest, version: chosen.version, tags: tags, source: nil, reason: "rollback: \(reason)")
      log.notice("\(environment) rolled back from \(live.digest.short) to \(chosen.digest.short) (\(chosen.version ?? "no version"))", title: "Rolled back")
    }

    var s = StepSummary()
    s.heading(dryRun ? "Rollback of \(environment) (dry run)" : "Rolled back \(environment)")
    s.table(
      ["", "Digest", "Version"],
      [
        ["Was live", Markdown.code(live.digest.description), Markdown.cell(entries.first { $0.record.digest == live.digest }?.record.version ?? "")],
        [dryRun ? "Would be live" : "Live now", Markdown.code(chosen.digest.description), Markdown.cell(chosen.version ?? "")],
      ])
    s.paragraph("Reason: \(reason)")
    if !notes.isEmpty { s.list(notes.map(Markdown.text)) }
    s.heading("Recent history of \(environment)", level: 3)
    historyTable(dryRun ? entries : try await history.entries(limit: 10), into: &s)
    return StageResult(outputs: outputs, summary: s)
  }
}
