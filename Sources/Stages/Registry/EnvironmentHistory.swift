import ActionsCore
import Foundation
import HTTP
import OCI

/// Writing history records with the GitHub context filled in, shared by promote and rollback.
struct RecordWriter {
  let history: History
  let context: StageContext

  func append(_ state: PromotionState, digest: Descriptor, previous: Digest?, version: String?, tags: [String], source: String?, reason: String? = nil) async throws -> String {
    let env = context.environment
    let record = PromotionRecord(
      environment: history.environment, state: state, digest: digest.digest, previousDigest: previous, version: version, tags: tags,
      source: source, time: Date(), reason: reason, runURL: env.runURL, actor: env.actor, sha: env.sha)
    let tag = try await history.append(record, subject: digest)
    context.log.info("history: \(state.rawValue) \(digest.digest.short) recorded as \(tag)")
    return tag
  }
}

/// Points `tags` at `manifest`, the last step of promote and rollback: first re-reads the
/// environment tag and stops, moving nothing, if another run moved it away from `expected`;
/// then puts every tag and reads every tag back (tags are independent: all at once).
///
/// `current` holds what tags were read to point at during this run: a tag already at
/// `manifest` is neither put again nor re-read (that read is its read-back), as crane skips a
/// manifest the registry already has under the tag. Returns the tags that were put.
@discardableResult
func moveTags(
  _ tags: [String], to manifest: RawManifest, of target: Reference, client: RegistryClient, environment: String?, expected: Digest?, stage: String,
  current: [String: Digest] = [:]
) async throws -> [String] {
  let repository = target.repository
  let moving = tags.filter { current[$0] != manifest.digest }
  if let environment, moving.contains(environment) {
    let now = try await client.resolve(repository, environment)?.digest
    guard now == expected else {
      throw StageFailure(
        "race: \(target):\(environment) moved from \(expected?.description ?? "nothing") to \(now?.description ?? "nothing") while this \(stage) ran; no tag was moved",
        title: "\(stage) failed")
    }
  }
  _ = try await boundedMap(moving, concurrency: 8) { try await client.putManifest(repository, $0, manifest) }
  let readBack = try await boundedMap(moving, concurrency: 8) { try await client.resolve(repository, $0)?.digest }
  for (tag, now) in zip(moving, readBack) where now != manifest.digest {
    throw StageFailure("read-back of \(target):\(tag) gave \(now?.description ?? "nothing"), expected \(manifest.digest)", title: "\(stage) failed")
  }
  return moving
}

/// The environment's recent history as a summary table.
func historyTable(_ entries: [History.Entry], into summary: inout StepSummary, limit: Int = 10) {
  guard !entries.isEmpty else { return }
  summary.table(
    ["Time (UTC)", "State", "Digest", "Version", "Actor", "Reason"],
    entries.prefix(limit).map { e in
      [
        OCILabelsTime.format(e.record.time), e.record.state.rawValue, Markdown.code(e.record.digest.short), Markdown.cell(e.record.version ?? ""),
        Markdown.cell(e.record.actor ?? ""), Markdown.cell(e.record.reason ?? ""),
      ]
    })
}

enum OCILabelsTime {
  static func format(_ date: Date) -> String {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = "yyyy-MM-dd HH:mm:ss"
    return f.string(from: date)
  }
}

/// Environment names become tags: they must be valid tags themselves.
func environmentTag(_ name: String) throws -> String {
  guard Reference.isValidTag(name), !name.hasPrefix("gantry-") else {
    throw InputError("environment", "'\(name)' cannot be a tag name ([A-Za-z0-9_][A-Za-z0-9._-]{0,127}, not starting with gantry-)")
  }
  return name
}

extension Optional {
  func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
    guard let self else { return nil }
    return try await transform(self)
  }
}
