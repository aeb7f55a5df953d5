import OCI
import TestSupport

/// What the GitHub deployment suites run against: staging and production registries, an
/// application repository with two commits, and the GitHub API stand-in
/// (Tests/Fixtures/github_api.py) answering from it over a real socket.
struct DeploymentWorld {
  let staging: RegistryProcess
  let production: RegistryProcess
  let repo: TempGitRepo
  let api: GitHubAPIServer
  /// Two commits of the application: the earlier and the later releases were built from them.
  let first: String
  let second: String

  init() async throws {
    staging = try await RegistryProcess()
    production = try await RegistryProcess()
    repo = try TempGitRepo()
    first = try repo.commit("feat: first")
    second = try repo.commit("feat: second")
    api = try await GitHubAPIServer(repository: repo.path)
  }
}

/// A suite over a ``DeploymentWorld``: its parts by name, and what the suites ask of the
/// stand-in's record.
protocol DeploymentSuite {
  var world: DeploymentWorld { get }
}

extension DeploymentSuite {
  var staging: RegistryProcess { world.staging }
  var production: RegistryProcess { world.production }
  var repo: TempGitRepo { world.repo }
  var api: GitHubAPIServer { world.api }
  var first: String { world.first }
  var second: String { world.second }

  /// The states deployment `id` went through, in order.
  func states(_ statuses: [[String: Any]], of id: Int) -> [String] {
    statuses.filter { $0["deployment"] as? Int == id }.compactMap { $0["state"] as? String }
  }
}
