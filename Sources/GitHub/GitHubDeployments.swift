import Basics
import FoundationEssentials

/// A deployment as `GET /repos/{owner}/{repo}/deployments` lists it (the fields Gantry reads).
public struct GitHubDeployment: Sendable, Equatable, Decodable {
  public var id: Int64
  public var sha: String
  public var environment: String
  public var task: String
  /// Gantry's payload, or nil when the deployment carries another (not one of Gantry's).
  public var payload: DeploymentPayload?

  enum CodingKeys: String, CodingKey { case id, sha, environment, task, payload }

  public init(id: Int64, sha: String, environment: String, task: String, payload: DeploymentPayload?) {
    self.id = id
    self.sha = sha
    self.environment = environment
    self.task = task
    self.payload = payload
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    id = try c.decode(Int64.self, forKey: .id)
    sha = try c.decode(String.self, forKey: .sha)
    environment = try c.decode(String.self, forKey: .environment)
    task = (try? c.decodeIfPresent(String.self, forKey: .task)) ?? "deploy"
    payload = try? c.decodeIfPresent(DeploymentPayload.self, forKey: .payload)
  }
}

/// One entry of a listing: a deployment that does not decode (an `id` past Int64, a field of
/// another type) is not one Gantry created, so it is skipped instead of failing the page, which
/// would leave Gantry's own deployment on that page unfound (not reused, never marked).
private struct Readable: Decodable {
  let deployment: GitHubDeployment?
  init(from decoder: any Decoder) throws { deployment = try? GitHubDeployment(from: decoder) }
}

/// [Deployments](https://docs.github.com/en/rest/deployments/deployments): find Gantry's
/// deployment of a digest, or create it. Statuses are ``GitHubDeploymentStatuses``.
public struct GitHubDeployments: Sendable {
  public let client: GitHubClient

  public init(client: GitHubClient) { self.client = client }

  /// Gantry's deployments of `environment`, newest first (as the API lists them), optionally
  /// only those of one commit and task. At most `limit` are read (pages of 100).
  public func list(environment: String, sha: String? = nil, task: String? = nil, limit: Int = 100) async throws -> [GitHubDeployment] {
    var query = ["environment": environment]
    if let sha { query["sha"] = sha }
    if let task { query["task"] = task }
    let listed: [Readable] = try await client.all(client.repoPath("/deployments"), query: query, operation: "list deployments of \(environment)", limit: limit)
    // The query's filters, checked again: a proxy or an older GHES may answer every deployment
    // (another commit's, another task's), and a re-run must not reuse or mark one of those.
    return listed.compactMap(\.deployment).filter { d in
      d.payload != nil && d.environment == environment && (sha.map { d.sha.lowercased() == $0.lowercased() } ?? true) && (task.map { d.task == $0 } ?? true)
    }
  }

  /// The newest of Gantry's deployments of `digest` to `environment` that `matches` accepts
  /// (commit, task, run: whatever makes a re-run the same deployment).
  public func find(environment: String, digest: String, sha: String? = nil, task: String? = nil, matching matches: (GitHubDeployment) -> Bool = { _ in true }) async throws
    -> GitHubDeployment?
  {
    try await first(environment: environment, sha: sha, task: task) { $0.payload?.digest == digest && matches($0) }
  }

  /// The newest of Gantry's deployments to `environment` (of commit `sha` and `task`, when
  /// given) that `matches` accepts: a release's is found by its release id.
  public func first(environment: String, sha: String? = nil, task: String? = nil, where matches: (GitHubDeployment) -> Bool) async throws -> GitHubDeployment? {
    try await list(environment: environment, sha: sha, task: task).first(where: matches)
  }

  /// Creates a deployment of `ref` (a commit SHA) to `environment`
  /// ([create](https://docs.github.com/en/rest/deployments/deployments#create-a-deployment)):
  /// no auto-merge of the default branch and no required commit statuses, since the image was
  /// tested before it reached Gantry.
  public func create(ref: String, environment: String, task: String, payload: DeploymentPayload, description: String) async throws -> GitHubDeployment {
    let body: JSONValue = [
      "ref": .string(ref), "environment": .string(environment), "task": .string(task), "payload": payload.json, "description": .string(GitHubDeploymentStatuses.capped(description)),
      "auto_merge": false, "required_contexts": [], "transient_environment": false,
    ]
    return try await client.request("POST", client.repoPath("/deployments"), body: body, operation: "create deployment to \(environment)", as: GitHubDeployment.self)
  }
}
