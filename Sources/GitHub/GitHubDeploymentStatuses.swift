import Basics
import FoundationEssentials

/// A deployment's state, as [deployment statuses](https://docs.github.com/en/rest/deployments/statuses) name them.
public enum DeploymentState: String, Sendable, Equatable, CaseIterable {
  case inProgress = "in_progress"
  case success
  case failure
  case inactive
  case error
}

/// [Deployment statuses](https://docs.github.com/en/rest/deployments/statuses#create-a-deployment-status):
/// what the Environments page shows for a deployment.
public struct GitHubDeploymentStatuses: Sendable {
  public let client: GitHubClient

  public init(client: GitHubClient) { self.client = client }

  /// Adds a status. `logURL` is the run; `environmentURL` where the environment answers.
  /// `autoInactive` false leaves earlier deployments' states as they are: Gantry marks them
  /// itself, and GitHub's default would only cover non-production environments anyway.
  public func create(deployment id: Int64, state: DeploymentState, description: String, logURL: String?, environmentURL: String?, autoInactive: Bool = false) async throws {
    var body: [String: JSONValue] = ["state": .string(state.rawValue), "description": .string(Self.capped(description)), "auto_inactive": .bool(autoInactive)]
    if let logURL { body["log_url"] = .string(logURL) }
    if let environmentURL { body["environment_url"] = .string(environmentURL) }
    struct Status: Decodable { var id: Int64 }
    _ = try await client.request("POST", client.repoPath("/deployments/\(id)/statuses"), body: body, operation: "set deployment \(id) \(state.rawValue)", as: Status.self)
  }

  /// The longest description GitHub takes, in code points.
  public static let maxDescription = 140

  /// `text` cut to GitHub's 140 characters for a description, which GitHub counts in code
  /// points: a cut by Swift `Character`s let a text of letters with combining marks (a
  /// rollback's `reason` copied from elsewhere) through at several times that, and GitHub
  /// refused the status (422). Cut at a character boundary, never inside one.
  public static func capped(_ text: String, max: Int = maxDescription) -> String {
    var out = ""
    var used = 0
    for c in text {
      used += c.unicodeScalars.count
      guard used <= max else { break }
      out.append(c)
    }
    return out
  }
}
