import ActionsCore
import Basics
import FoundationEssentials
import HTTP
import OCI

/// The last step of a promotion, a release or a rollback: every image is at its target by
/// digest; now its tags move (a single image is a release of one).
///
/// Tag writes are not atomic in any registry, and a release is many of them, so they go in
/// an order that keeps a half-done release visible for the shortest time and undoable:
/// 1. every environment tag is re-read; one that moved since the plan stops the release
///    before any tag moves (another run changed the environment);
/// 2. the other tags of every image, then 3. the environment tags of every image: what
///    deploys follows last;
/// 4. every moved tag is read back.
/// When a put or a read-back fails, every tag this run moved (and the failed ones, which a
/// registry may have applied before failing) is put back on the digest it had, or deleted
/// when it did not exist before and the registry allows it; the error says exactly which.
struct TagMoves {
  /// The tags of one image of the release: where they go, and where they pointed when read.
  struct TagSet: Sendable {
    var dst: RegistryClient
    /// The target repository.
    var target: Reference
    var manifest: RawManifest
    var tags: [String]
    var current: [String: Digest]
    var environment: String?
  }

  let plans: [TagSet]
  let concurrency: Int
  /// promote or rollback, for messages.
  var stage = "promote"
  /// The tags of a release (several images), or of one image (promote, rollback): for messages.
  var isRelease = true
  /// Whether ``run(log:)`` re-reads the environment tags first (the caller may have).
  var checksEnvironments = true

  init(_ sets: [TagSet], concurrency: Int) {
    self.plans = sets
    self.concurrency = concurrency
  }

  /// A failed tag move after which the tags were put back: the stage's failure, and how many
  /// tags went back (for the GitHub deployment's status, which has 140 characters).
  struct Failed: Error, Sendable, CustomStringConvertible {
    var failure: StageFailure
    /// Tags put back where they were (restored, deleted, or never changed).
    var restored: Int
    /// Tags that could not be put back.
    var notRestored: Int
    /// The failure's message: a history record's reason quotes it.
    var description: String { failure.message }
  }

  /// One tag of one image that changes.
  struct Move: Sendable {
    var plan: Int
    var tag: String
    var from: Digest?
  }

  /// Moves every tag; returns, per image, the tags that already pointed at the image.
  /// - Throws: ``Failed`` when a put or a read-back failed (the tags were put back), a
  ///   ``StageFailure`` when an environment changed since the plan (no tag moved).
  func run(log: Log) async throws -> [Set<String>] {
    var other: [Move] = []
    var environment: [Move] = []
    var unchanged: [Set<String>] = []
    for (i, plan) in plans.enumerated() {
      var same = Set<String>()
      for tag in plan.tags {
        let from = plan.current[tag]
        if from == plan.manifest.digest {
          same.insert(tag)
          continue
        }
        let move = Move(plan: i, tag: tag, from: from)
        if tag == plan.environment { environment.append(move) } else { other.append(move) }
      }
      unchanged.append(same)
    }
    // 1. Nobody changed an environment since the plan read it.
    let plans = self.plans
    let now =
      checksEnvironments
      ? try await boundedMap(environment, concurrency: concurrency) { m in try await plans[m.plan].dst.resolve(plans[m.plan].target.repository, m.tag)?.digest } : environment.map(\.from)
    for (m, digest) in zip(environment, now) where digest != m.from {
      let target = plans[m.plan].target
      throw StageFailure(
        "race: \(target):\(m.tag) moved from \(m.from?.description ?? "nothing") to \(digest?.description ?? "nothing") while this release ran; no tag of the release was moved",
        title: "\(stage) failed")
    }
    // 2., 3. and 4.
    var moved: [Move] = []
    for phase in [other, environment] {
      let results = await put(phase)
      moved += zip(phase, results).filter { $0.1 == nil }.map(\.0)
      let failed = zip(phase, results).compactMap { m, error in error.map { (m, $0) } }
      // Every failed put too: a registry may have applied one before failing. A put never
      // sent (stopped first) changed nothing: it is not read back.
      let sent = failed.filter { $0.1 != Self.notSent }
      if let (first, error) = sent.first ?? failed.first {
        throw await restore(moved + sent.map(\.0), cause: "\(label(first)): \(error)")
      }
    }
    // Stopped (a timeout, a cancelled run) with the puts answered: the tags go back, as after
    // any failure. A read-back cut short would say "gave nothing" of a tag that moved.
    if Task.isCancelled { throw await restore(moved, cause: "stopped before the moved tags were read back") }
    let readBack: [Digest?]
    do {
      readBack = try await boundedMap(moved, concurrency: concurrency) { m in try? await plans[m.plan].dst.resolve(plans[m.plan].target.repository, m.tag)?.digest }
    } catch {
      throw await restore(moved, cause: "read-back: \(error)")
    }
    for (m, digest) in zip(moved, readBack) where digest != plans[m.plan].manifest.digest {
      throw await restore(moved, cause: "read-back of \(label(m)) gave \(digest?.description ?? "nothing"), expected \(plans[m.plan].manifest.digest)")
    }
    log.info(Self.movedLine(moved: moved.count, environment: environment.count))
    return unchanged
  }

  /// "moved 2 tags, the environment tag last; each read back" (before: "moved 1 tags (1
  /// environment tags last)", even when the environment tag was the only one).
  static func movedLine(moved: Int, environment: Int) -> String {
    guard moved > 0 else { return "no tag moved: each already pointed at its image" }
    let tags = moved == 1 ? "1 tag" : "\(moved) tags"
    let order =
      environment == 0 || environment == moved ? "" : environment == 1 ? ", the environment tag last" : ", the \(environment) environment tags last"
    return "moved \(tags)\(order); \(moved == 1 ? "it was" : "each") read back"
  }

  private func label(_ m: Move) -> String { "\(plans[m.plan].target):\(m.tag)" }

  /// Why a tag could not be read back for its restore.
  struct RestoreError: Error, CustomStringConvertible {
    var text: String
    var description: String { text }
  }

  /// `work`, once more if it fails (not when stopped).
  private static func twice<T: Sendable>(_ work: @Sendable () async throws -> T) async throws -> T {
    do { return try await work() } catch {
      guard !Task.isCancelled else { throw error }
      return try await work()
    }
  }

  /// Puts each tag; nil where it succeeded, else the error's text.
  ///
  /// Once stopped (a timeout, a cancelled run) no put starts, but a put already sent runs to
  /// its answer: aborted, it may still reach the registry after the restore read the tag, and
  /// move it behind the restore's back.
  private func put(_ moves: [Move]) async -> [String?] {
    let plans = self.plans
    return
      (try? await boundedMap(moves, concurrency: concurrency) { m -> String? in
        guard !Task.isCancelled else { return Self.notSent }
        let plan = plans[m.plan]
        do {
          try await uncancelled { try await plan.dst.putManifest(plan.target.repository, m.tag, plan.manifest) }
          return nil
        } catch {
          return "\(error)"
        }
      }) ?? moves.map { _ in "cancelled" }
  }

  /// A put not sent because the stage was stopped first.
  static let notSent = "stopped before it was sent"

  /// Puts every tag of `attempted` back where it was; the failure, saying what was restored and
  /// what could not be.
  private func restore(_ moves: [Move], cause: String) async -> Failed {
    let plans = self.plans
    // Environment tags first: what deploys goes back first if the time to unwind runs out.
    let attempted = moves.filter { plans[$0.plan].environment == $0.tag } + moves.filter { plans[$0.plan].environment != $0.tag }
    // Each tag's outcome, and whether it is back where it was. Reads first, then writes: a
    // registry may answer a read of a manifest with an error while a tag write of the same
    // manifest is under way (docker-registry's filesystem storage rewrites the link files in
    // place). Each tag is tried twice, whatever `retries` says: what is not put back here
    // stays half-moved.
    let outcomes: [(text: String, back: Bool)] =
      (try? await uncancelled {
        // 1. Where each tag is now, and the manifest it goes back to (each read once).
        let reads = try await boundedMap(attempted, concurrency: 8) { m -> Result<(now: Digest?, previous: RawManifest?), RestoreError> in
          let plan = plans[m.plan]
          do {
            return .success(
              try await Self.twice {
                let now = try await plan.dst.resolve(plan.target.repository, m.tag)?.digest
                guard now != m.from, let from = m.from else { return (now, nil) }
                return (now, try await plan.dst.manifest(plan.target.repository, from.description))
              })
          } catch { return .failure(RestoreError(text: "\(error)")) }
        }
        // 2. The writes.
        return try await boundedMap(Array(zip(attempted, reads)), concurrency: 8) { m, read -> (text: String, back: Bool) in
          let plan = plans[m.plan]
          let repo = plan.target.repository
          let name = "\(plan.target):\(m.tag)"
          do {
            let (now, previous) = try read.get()
            // A tag whose put failed may still be where it was: nothing to restore then.
            if now == m.from { return ("\(name) unchanged", true) }
            if let from = m.from, let previous {
              try await Self.twice { try await plan.dst.putManifest(repo, m.tag, previous) }
              return ("\(name) restored to \(from.short)", true)
            }
            do {
              try await plan.dst.deleteTag(repo, m.tag)
              return ("\(name) deleted (it did not exist before)", true)
            } catch {
              return ("\(name) NOT restored: it did not exist before and the registry refused to delete it (\(error)); it points at \(plan.manifest.digest.short)", false)
            }
          } catch {
            return ("\(name) NOT restored (\(error)); it may point at \(plan.manifest.digest.short)", false)
          }
        }
      }) ?? attempted.map { ("\(plans[$0.plan].target):\($0.tag) NOT restored (stopped)", false) }
    let notRestored = outcomes.filter { !$0.back }.count
    return Failed(
      failure: StageFailure(
        "\(isRelease ? "release: " : "")\(cause); tags put back: \(outcomes.map(\.text).joined(separator: ", ")); the image\(isRelease ? "s stay" : " stays") at the target by digest",
        title: "\(stage) failed"),
      restored: outcomes.count - notRestored, notRestored: notRestored)
  }
}

/// What a failed tag move left, for a GitHub deployment's status (140 characters).
func tagMoveOutcome(_ error: any Error) -> String {
  guard let failed = error as? TagMoves.Failed else { return "no tag moved" }
  return "\(failed.restored) \(failed.restored == 1 ? "tag" : "tags") put back" + (failed.notRestored > 0 ? ", \(failed.notRestored) NOT restored" : "")
}
