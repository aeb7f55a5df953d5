import ActionsCore
import Basics
import FoundationEssentials
import GitHub

/// Records promotions and rollbacks as GitHub deployments, so the repository's Environments
/// page shows which image each environment runs.
///
/// The registry (tags and Gantry's history records) is the truth; a deployment is a view of it.
/// So nothing here fails a stage: when GitHub refuses or is unreachable, a warning says what to
/// fix and the promotion or rollback goes on (before the tags move as after), with an empty
/// `deployment-id`. Re-runs reuse the deployment they made instead of adding one.
struct DeploymentRecorder: Sendable {
  /// The task of a promotion's deployment (GitHub's default).
  static let promoteTask = "deploy"
  /// The task of the deployment a rollback makes for the image it restores: its own, so a
  /// re-run of the original promotion never picks it up, and the other way round.
  static let rollbackTask = "deploy:rollback"

  var settings: DeploymentSettings
  var log: Log

  /// Finds the deployment of `payload.digest` to `environment` made for `ref` by `task` (and,
  /// for a rollback, by this run), or creates it; then marks it `in_progress`.
  /// - Returns: its id, or nil (with a warning) when GitHub refused.
  func begin(environment: String, ref: String, task: String, payload: DeploymentPayload, description: String, sameRunOnly: Bool) async -> Int64? {
    let (digest, image, run) = (payload.digest, payload.image, payload.run)
    // The same digest promoted to another repository (same commit) is another deployment.
    return await begin(environment: environment, ref: ref, task: task, payload: payload, description: description, what: digest ?? "the image") { d in
      digest != nil && d.payload?.digest == digest && d.payload?.image == image && (!sameRunOnly || run == nil || d.payload?.run == run)
    }
  }

  /// Finds the deployment to `environment` made for `ref` by `task` that `matches` accepts
  /// (`what` names it in the log), or creates it with `payload`; then marks it `in_progress`.
  /// - Returns: its id, or nil (with a warning) when GitHub refused.
  private func begin(
    environment: String, ref: String, task: String, payload: DeploymentPayload, description: String, what: String, matching matches: (GitHubDeployment) -> Bool
  ) async -> Int64? {
    do {
      let existing = try await settings.deployments.first(environment: environment, sha: ref, task: task, where: matches)
      let deployment: GitHubDeployment
      if let existing {
        log.info("GitHub deployment \(existing.id) of \(what) to \(environment) exists (a re-run): reusing it")
        deployment = existing
      } else {
        let (sent, leftOut) = payload.bounded()
        if let leftOut { log.warning("\(leftOut); the run's summary lists every image", title: "GitHub deployment") }
        deployment = try await settings.deployments.create(ref: ref, environment: environment, task: task, payload: sent, description: description)
        log.info("GitHub deployment \(deployment.id) of \(what) to \(environment) created")
      }
      try await settings.statuses.create(deployment: deployment.id, state: .inProgress, description: description, logURL: settings.runURL, environmentURL: settings.environmentURL)
      return deployment.id
    } catch {
      warn(error, doing: "record the deployment to \(environment)")
      return nil
    }
  }

  /// Adds `state` to deployment `id`. A refusal is a warning.
  func mark(_ id: Int64, _ state: DeploymentState, description: String) async {
    do {
      // To the end even when the stage is being stopped (its timeout, a cancelled run), as its
      // history records are: a deployment left `in_progress` would read as still deploying.
      let settings = self.settings
      try await uncancelled {
        try await settings.statuses.create(deployment: id, state: state, description: description, logURL: settings.runURL, environmentURL: settings.environmentURL)
      }
    } catch {
      warn(error, doing: "mark deployment \(id) \(state.rawValue)")
    }
  }

  /// Marks the newest of Gantry's deployments of `digest` to `environment` (made by promote)
  /// `failure`: the image was rolled back from it.
  /// - Returns: its id, or nil when there is none (promoted without `deployment: true`) or GitHub refused.
  /// The newest such deployment may be a release's that put `digest` on `repository` (one
  /// image of the release rolled back): it is marked too, naming the image.
  /// Marks deployment `id` failed with what went wrong, cut so that the pointer to the run
  /// (where the whole story is) survives GitHub's 140 characters: a 64-character release id
  /// left no room for it.
  func markFailed(_ id: Int64, _ what: String) async {
    let pointer = " (see the run)"
    let room = GitHubDeploymentStatuses.maxDescription - pointer.unicodeScalars.count
    await mark(id, .failure, description: GitHubDeploymentStatuses.capped(what, max: room) + pointer)
  }

  func markRolledBack(digest: String, repository: String, environment: String, reason: String) async -> Int64? {
    await markRolledBack(environment: environment, what: digest, reason: reason) { d in
      guard let payload = d.payload else { return nil }
      // The same digest may be live in another repository: only this one's deployment.
      if payload.digest == digest && payload.image == "\(repository)@\(digest)" { return "rolled back: \(reason)" }
      let inRelease = payload.release != nil && payload.images.contains { $0.digest == digest && $0.image == repository }
      return inRelease ? "\(repository) rolled back: \(reason)" : nil
    }
  }

  /// Marks the deployment of release `releaseID` to `environment` (made by promote) `failure`:
  /// the release was rolled back.
  /// - Returns: its id, or nil when there is none (promoted without `deployment: true`) or GitHub refused.
  /// `live`: the images the rollback found live (the release's, as its records say): the
  /// deployment marked lists them at those digests, so one that merely names the release id
  /// (another tool's, a planted one) is passed over. A payload cut to fit lists some of them.
  func markReleaseRolledBack(releaseID: String, live: [DeploymentPayload.Image], environment: String, reason: String) async -> Int64? {
    let digests = Dictionary(live.map { ($0.image, $0.digest) }, uniquingKeysWith: { a, _ in a })
    return await markRolledBack(environment: environment, what: "release \(releaseID)", reason: reason) { d in
      guard let p = d.payload, p.release == releaseID else { return nil }
      let listed = p.images.filter { digests[$0.image] != nil }
      return !listed.isEmpty && listed.allSatisfy({ digests[$0.image] == $0.digest }) ? "rolled back: \(reason)" : nil
    }
  }

  /// `status`: the failure's description for a deployment to mark, nil for one to pass over.
  private func markRolledBack(environment: String, what: String, reason: String, status: @escaping @Sendable (GitHubDeployment) -> String?) async -> Int64? {
    let (settings, log) = (self.settings, self.log)
    do {
      // After the tags moved: to the end even when the stage is being stopped (see mark).
      return try await uncancelled {
        guard let bad = try await settings.deployments.first(environment: environment, task: Self.promoteTask, where: { status($0) != nil }) else {
          log.info("no GitHub deployment of \(what) to \(environment) to mark as rolled back")
          return nil
        }
        try await settings.statuses.create(
          deployment: bad.id, state: .failure, description: status(bad) ?? "rolled back: \(reason)", logURL: settings.runURL, environmentURL: settings.environmentURL)
        return bad.id
      }
    } catch {
      warn(error, doing: "mark the rolled-back deployment of \(environment)")
      return nil
    }
  }

  /// Promote: the deployment of this commit (`GITHUB_SHA`), in progress while the tags move.
  func beginPromotion(environment: String, image: String, digest: String, tags: [String], version: String?) async -> Int64? {
    await begin(
      environment: environment, ref: settings.sha, task: Self.promoteTask, payload: DeploymentPayload(digest: digest, image: image, tags: tags, run: settings.runURL),
      description: "Gantry: promote \(version ?? digest)", sameRunOnly: false)
  }

  /// Rollback: a deployment of the restored image, for the commit that first promoted it when
  /// its record says which (else `GITHUB_SHA`); one per run, so a later rollback to the same
  /// image is its own deployment.
  func beginRestore(environment: String, image: String, digest: String, tags: [String], version: String?, recordedSHA: String?) async -> Int64? {
    await begin(
      environment: environment, ref: DeploymentPayload.commit(recordedSHA) ?? settings.sha, task: Self.rollbackTask,
      payload: DeploymentPayload(digest: digest, image: image, tags: tags, run: settings.runURL), description: "Gantry: roll back to \(version ?? digest)", sameRunOnly: true)
  }

  /// Promote of a set: ONE deployment of the whole release (deployments of single images to
  /// one environment would mark each other inactive, and the Environments page would show one
  /// image). A re-run of the release finds it by the release id.
  func beginRelease(environment: String, releaseID: String, images: [DeploymentPayload.Image]) async -> Int64? {
    let payload = DeploymentPayload(release: releaseID, images: images, run: settings.runURL)
    // Fitted once, not for every deployment listed (each fit encodes the payload).
    let sent = payload.bounded().payload
    return await begin(
      environment: environment, ref: settings.sha, task: Self.promoteTask, payload: payload,
      description: "Gantry: release \(releaseID) (\(images.count) image\(images.count == 1 ? "" : "s"))", what: "release \(releaseID)"
    ) { d in
      // A deployment naming this release id but other images or digests (another tool's, or an
      // earlier promotion of a reused id) is not this release's: a new one is made.
      guard let p = d.payload, p.release == releaseID else { return false }
      return sent.deploysSameImages(as: p)
    }
  }

  /// Rollback of a set: one deployment of every image restored, for the commit that first
  /// promoted them when their records agree on one (else `GITHUB_SHA`); one per run.
  func beginReleaseRestore(environment: String, releaseID: String, images: [DeploymentPayload.Image], recordedSHA: String?) async -> Int64? {
    let run = settings.runURL
    let payload = DeploymentPayload(release: releaseID, rolledBack: true, images: images, run: run)
    let sent = payload.bounded().payload
    return await begin(
      environment: environment, ref: DeploymentPayload.commit(recordedSHA) ?? settings.sha, task: Self.rollbackTask, payload: payload,
      description: "Gantry: roll back release \(releaseID)", what: "the rollback of release \(releaseID)"
    ) { d in
      // A run URL is easy to guess: the images restored, at their digests, must match too.
      guard let p = d.payload, p.rolledBackRelease == releaseID, run == nil || p.run == run else { return false }
      return sent.deploysSameImages(as: p)
    }
  }

  private func warn(_ error: any Error, doing what: String) {
    let why: String
    if case GitHubError.forbidden(let operation, let message) = error {
      why = "GitHub API: \(operation) is forbidden (\(message)): the token needs `permissions: deployments: write`"
    } else {
      why = "\(error)"
    }
    log.warning("could not \(what): \(why); the registry is unaffected", title: "GitHub deployment")
  }
}

extension DeploymentPayload {
  /// A commit SHA from a history record (registry data): used as a deployment's ref only
  /// when it looks like one.
  static func commit(_ sha: String?) -> String? {
    guard let sha, (40...64).contains(sha.count), sha.isASCIIHex else { return nil }
    return sha.lowercased()
  }
}
