import ActionsCore
import Basics
import FoundationEssentials
import GitHub

/// The version stage's only writes, each asked for explicitly: the release tag and a GitHub
/// release. Idempotent: a tag already at the same commit, or a release that exists, is reported,
/// not recreated; a tag at another commit stops the stage.
struct ReleaseWriter {
  let repo: GitHubRepository
  let dryRun: Bool
  let log: Log

  /// created, exists, or dry-run.
  func tag(_ tag: String, at sha: String, message: String?) async throws -> String {
    if let existing = try await repo.commit(ofTag: tag) {
      try ensure(tag, existing, sha)
      log.info("tag \(tag) already exists at \(sha.prefix(7))")
      return "exists"
    }
    if dryRun {
      log.info("dry-run: would create \(message == nil ? "lightweight" : "annotated") tag \(tag) at \(sha.prefix(7))")
      return "dry-run"
    }
    do {
      try await repo.createTag(tag, at: sha, message: message)
    } catch GitHubError.unprocessable {
      // Created meanwhile by another run: fine if it is the same commit.
      guard let existing = try await repo.commit(ofTag: tag) else { throw StageFailure("could not create tag \(tag)", title: "version failed") }
      try ensure(tag, existing, sha)
      return "exists"
    }
    log.notice("created tag \(tag) at \(sha.prefix(7))", title: "Tag created")
    return "created"
  }

  private func ensure(_ tag: String, _ existing: String, _ sha: String) throws {
    guard existing == sha else {
      throw StageFailure(
        "tag \(tag) already exists at \(existing.prefix(7)), not at \(sha.prefix(7)): the version was already released from another commit; bump the version (release-as) or delete the tag",
        title: "version failed")
    }
  }

  /// The release URL (new or existing), when it is a plain web address (``OutputValue/webURL(_:what:log:)``);
  /// empty in a dry run.
  func release(_ tag: String, sha: String, body: String?, prerelease: Bool) async throws -> (url: String, state: String) {
    if let existing = try await repo.release(tag: tag) {
      let url = OutputValue.webURL(existing.html_url, what: "the release's html_url", log: log)
      log.info("release \(tag) already exists: \(url)")
      return (url, "exists")
    }
    if dryRun {
      log.info("dry-run: would create release \(tag)")
      return ("", "dry-run")
    }
    let release = try await repo.createRelease(tag: tag, sha: sha, name: tag, body: body, prerelease: prerelease)
    let url = OutputValue.webURL(release.html_url, what: "the release's html_url", log: log)
    log.notice("created release \(tag): \(url)", title: "Release created")
    return (url, "created")
  }
}
