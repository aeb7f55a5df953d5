/// The process environment as a value, with the runner's well-known variables
/// ([default environment variables](https://docs.github.com/en/actions/reference/variables-reference#default-environment-variables)).
/// Tests build one from a dictionary; nothing here reads the real environment.
public struct ActionEnvironment: Sendable, Equatable {
  public var variables: [String: String]

  public init(_ variables: [String: String]) { self.variables = variables }

  public subscript(name: String) -> String? {
    guard let v = variables[name], !v.isEmpty else { return nil }
    return v
  }

  /// True on a GitHub runner (and under act, which sets it too).
  public var isGitHubActions: Bool { self["GITHUB_ACTIONS"] == "true" }
  /// Step debug logging is on (`RUNNER_DEBUG=1`).
  public var isDebug: Bool { self["RUNNER_DEBUG"] == "1" }
  /// The `GITHUB_OUTPUT` file, when the runner gave one.
  public var outputPath: String? { self["GITHUB_OUTPUT"] }
  /// The `GITHUB_STEP_SUMMARY` file, when the runner gave one (act does not).
  public var summaryPath: String? { self["GITHUB_STEP_SUMMARY"] }
  /// The checkout; act mounts it at the host path, so never assume `/github/workspace`.
  public var workspace: String? { self["GITHUB_WORKSPACE"] }

  public var repository: String? { self["GITHUB_REPOSITORY"] }
  public var serverURL: String { self["GITHUB_SERVER_URL"] ?? "https://github.com" }
  public var apiURL: String { self["GITHUB_API_URL"] ?? "https://api.github.com" }
  public var sha: String? { self["GITHUB_SHA"] }
  public var ref: String? { self["GITHUB_REF"] }
  public var actor: String? { self["GITHUB_ACTOR"] }

  /// `https://github.com/OWNER/REPO`, when the repository is known.
  public var repositoryURL: String? { repository.map { "\(serverURL)/\($0)" } }

  /// The URL of this workflow run, when the runner says which run this is.
  public var runURL: String? {
    guard let repo = repository, let id = self["GITHUB_RUN_ID"] else { return nil }
    return "\(serverURL)/\(repo)/actions/runs/\(id)"
  }
}
