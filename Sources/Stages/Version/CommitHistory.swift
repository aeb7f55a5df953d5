import ActionsCore
import Foundation
import GitHub
import HTTP
import Versioning

/// The last release tag and the commits since it, from wherever the history is.
struct ReleaseHistory {
  var last: (tag: String, version: SemVer)?
  var commits: [ConventionalCommit]
}

/// Where the version stage reads tags and commits: the checkout, or the GitHub API when the
/// checkout is shallow or absent. Both answer the same question the same way.
protocol CommitHistory: Sendable {
  /// `git` or `github-api`, for the output and the summary.
  var kind: String { get }
  func release(prefix: String) async throws -> ReleaseHistory
}

struct LocalCommitHistory: CommitHistory {
  let repo: GitRepository
  var kind: String { "git" }

  func release(prefix: String) async throws -> ReleaseHistory {
    let last = try repo.latestTag(prefix: prefix)
    return ReleaseHistory(last: last, commits: try repo.commits(since: last?.tag))
  }
}

/// `git tag --merged HEAD` and `git log tag..HEAD` through the REST API: the highest semver
/// tag whose commit is an ancestor of head (compare status `ahead` or `identical`), then every
/// commit of that comparison.
struct GitHubCommitHistory: CommitHistory {
  let repo: GitHubRepository
  let head: String
  /// Candidate tags checked for ancestry, highest first; bounds the requests on repositories
  /// with many release branches.
  var maxCandidates = 30
  var kind: String { "github-api" }

  func release(prefix: String) async throws -> ReleaseHistory {
    let candidates = try await repo.tags().compactMap { t -> (String, SemVer)? in
      guard let v = SemVer.parse(t.name, prefix: prefix), !v.isPrerelease else { return nil }
      return (t.name, v)
    }.sorted { $0.1 > $1.1 }
    for (tag, version) in candidates.prefix(maxCandidates) {
      let comparison = try await repo.compare(tag, head)
      guard comparison.status == "ahead" || comparison.status == "identical" else { continue }
      return ReleaseHistory(last: (tag, version), commits: comparison.commits.map(Self.commit))
    }
    return ReleaseHistory(last: nil, commits: try await repo.history(head).map(Self.commit))
  }

  static func commit(_ c: GitHubCommit) -> ConventionalCommit {
    ConventionalCommit(sha: c.sha, message: c.message.trimmingCharacters(in: .whitespacesAndNewlines))
  }
}

extension GitHubRepository {
  /// The repository of this run through the API: `GITHUB_API_URL` (GitHub Enterprise
  /// included), `GITHUB_REPOSITORY`, the `github-token` input. Nil without a token or repository.
  static func from(_ context: StageContext) -> GitHubRepository? {
    let env = context.environment
    guard let token = context.inputs.string("github-token"), let repository = env.repository, let api = URL(string: env.apiURL) else { return nil }
    var client = GitHubClient(configuration: GitHubConfiguration(apiURL: api, repository: repository, token: token), transport: CurlTransport(configuration: .fromEnvironment(env.variables)))
    let log = context.log
    client.onRateLimit = { wait, operation in log.warning("GitHub API rate limit during \(operation): waiting \(wait.formatted())") }
    return GitHubRepository(client: client)
  }
}
