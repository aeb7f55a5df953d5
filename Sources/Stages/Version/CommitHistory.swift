import ActionsCore
import Basics
import FoundationEssentials
import GitHub
import HTTP
import Versioning

/// The last release tag and the commits since it, from wherever the history is.
struct ReleaseHistory: Sendable {
  var last: (tag: String, version: SemVer)?
  var commits: [ConventionalCommit]
  /// Tags passed over because they could not be read (named, for a warning each).
  var warnings: [String] = []

  /// The other spelling of release tags users have: `v1.2.3` or a bare `1.2.3`.
  static func otherPrefix(than prefix: String) -> String { prefix.isEmpty ? "v" : "" }

  /// When no tag has `prefix` but `tag` has the other spelling: the silent `initial-version`
  /// (0.0.0) that follows is rarely what a repository tagged `0.1.6` wants.
  static func prefixHint(prefix: String, tag: String) -> String {
    let other = otherPrefix(than: prefix)
    return "no \(prefix)* release tag found, but \(tag) would be one with tag-prefix: \(other.isEmpty ? "none" : other); the version starts from initial-version"
  }
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
  /// The commit whose history is read (the `sha` input, or HEAD).
  let tip: String
  var kind: String { "git" }

  func release(prefix: String) async throws -> ReleaseHistory {
    // `git` runs (or packs are read) to the end: on a thread of its own, not the cooperative pool.
    let (repo, tip) = (self.repo, self.tip)
    return try await BlockingWork.run {
      var warnings: [String] = []
      let last = try repo.latestTag(prefix: prefix, from: tip) { warnings.append($0) }
      if last == nil, let other = try repo.latestTag(prefix: ReleaseHistory.otherPrefix(than: prefix), from: tip) {
        warnings.append(ReleaseHistory.prefixHint(prefix: prefix, tag: other.tag))
      }
      let commits = try repo.commits(since: last?.commit, to: tip)
      return ReleaseHistory(last: last.map { ($0.tag, $0.version) }, commits: commits, warnings: warnings)
    }
  }
}

/// `git tag --merged HEAD` and `git log tag..HEAD` through the REST API: the highest semver
/// tag whose commit is an ancestor of head (compare status `ahead` or `identical`), then every
/// commit of that comparison.
struct GitHubCommitHistory: CommitHistory {
  let repo: GitHubRepository
  let head: String
  /// Commits checked for ancestry (candidate tags highest first, one request per distinct
  /// commit); bounds the requests on repositories with many release branches.
  var maxCandidates = 30
  var kind: String { "github-api" }

  func release(prefix: String) async throws -> ReleaseHistory {
    let tags = try await repo.tags()
    let commitOf = Dictionary(tags.map { ($0.name, $0.commit.sha) }) { first, _ in first }
    let candidates = ReleaseTags.candidates(tags.map(\.name), prefix: prefix)
    var warnings: [String] = []
    // Commits already found not to be ancestors: thousands of tags on one unmerged commit
    // cost one request, as they cost one lookup locally.
    var passed: Set<String> = []
    var requests = 0
    for (tag, version) in candidates {
      if let commit = commitOf[tag], passed.contains(commit) { continue }
      guard requests < maxCandidates else { break }
      requests += 1
      if let commit = commitOf[tag] { passed.insert(commit) }
      let comparison: GitHubComparison
      do { comparison = try await repo.compare(tag, head) } catch GitHubError.notFound {
        // A tag at a blob or tree has no commit to compare: passed over, as the local readers do.
        warnings.append("tag \(tag) skipped: GitHub cannot compare it with \(head.prefix(12)) (it names no commit)")
        continue
      }
      guard comparison.status == "ahead" || comparison.status == "identical" else { continue }
      return ReleaseHistory(last: (tag, version), commits: comparison.commits.map(Self.commit), warnings: warnings)
    }
    if let other = ReleaseTags.candidates(tags.map(\.name), prefix: ReleaseHistory.otherPrefix(than: prefix)).first {
      warnings.append(ReleaseHistory.prefixHint(prefix: prefix, tag: other.tag))
    }
    return ReleaseHistory(last: nil, commits: try await repo.history(head).map(Self.commit), warnings: warnings)
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
    var client = GitHubClient(configuration: GitHubConfiguration(apiURL: api, repository: repository, token: token), transport: context.connections.transport(.fromEnvironment(env.variables)))
    let log = context.log
    client.onRateLimit = { wait, operation in log.warning("GitHub API rate limit during \(operation): waiting \(wait.formatted())") }
    return GitHubRepository(client: client)
  }
}
