import ActionsCore
import Basics
import FoundationEssentials
import GitHub
import HTTP

/// Inputs for the GitHub API, shared by the stages that use it.
enum GitHubInputs {
  /// One declaration for version, promote and rollback: action.yml shows the first one.
  static let token = InputDeclaration(
    "github-token",
    "Token for the GitHub API: version reads shallow checkouts' history and creates tags and releases with it; promote and rollback record deployments with it (deployment: true)",
    actionDefault: "${{ github.token }}", secret: true)
}

/// The inputs and output of the GitHub deployment that `promote` and `rollback` record with
/// `deployment: true`, shared so action.yml and the README describe them once.
enum DeploymentInputs {
  static let deployment = InputDeclaration(
    "deployment",
    "promote, rollback: record a GitHub deployment of the image for the environment, of a set one of the whole release (github-token needs deployments: write)", kind: .boolean, default: "false")
  static let environmentURL = InputDeclaration("environment-url", "promote, rollback: the environment's URL (http or https), shown on the GitHub deployment")
  static var all: [InputDeclaration] { [deployment, environmentURL, GitHubInputs.token] }
  static let idOutput = OutputDeclaration("deployment-id", "promote, rollback: the GitHub deployment recorded for the live image or release (deployment: true), or empty")
}

/// What a deployment needs, read and checked with the stage's other inputs: a bad
/// `environment-url` or a missing token stops the stage before any request.
struct DeploymentSettings: Sendable {
  var deployments: GitHubDeployments
  var statuses: GitHubDeploymentStatuses
  /// The commit being released (`GITHUB_SHA`): the deployment's `ref`.
  var sha: String
  /// The run (`log_url`), when the runner says which run this is.
  var runURL: String?
  var environmentURL: String?

  /// Nil unless `deployment` is true.
  /// - Throws: ``InputError`` when `deployment` is true without an environment, a token,
  ///   `GITHUB_REPOSITORY` and `GITHUB_SHA`, or with an `environment-url` that is not http(s).
  static func from(_ context: StageContext, environment: String?) throws -> DeploymentSettings? {
    let inputs = context.inputs
    guard try inputs.bool("deployment") else { return nil }
    guard environment != nil else { throw InputError("environment", "required when deployment is true: the GitHub environment the deployment is for") }
    let env = context.environment
    guard let token = inputs.string("github-token") else { throw InputError("github-token", "required when deployment is true: a token with deployments: write") }
    guard let repository = env.repository, let sha = env.sha else {
      throw InputError("deployment", "needs GITHUB_REPOSITORY and GITHUB_SHA (set in GitHub Actions) to record a deployment")
    }
    guard let api = URL(string: env.apiURL) else { throw InputError("deployment", "GITHUB_API_URL '\(env.apiURL.clipped(to: 100))' is not a URL") }
    let environmentURL = try inputs.line("environment-url")
    if let u = environmentURL {
      guard let url = URL(string: u), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil else {
        throw InputError("environment-url", "'\(u.clipped(to: 100))' is not an http or https URL")
      }
    }
    var configuration = GitHubConfiguration(apiURL: api, repository: repository, token: token)
    // A deployment is a record beside the promotion: it never waits long for a rate limit.
    configuration.maxRateLimitWait = .seconds(10)
    configuration.requestTimeout = .seconds(30)
    var client = GitHubClient(configuration: configuration, transport: CurlTransport(configuration: .fromEnvironment(env.variables)))
    let log = context.log
    client.onRateLimit = { wait, operation in log.warning("GitHub API rate limit during \(operation): waiting \(wait.formatted())") }
    return DeploymentSettings(
      deployments: GitHubDeployments(client: client), statuses: GitHubDeploymentStatuses(client: client), sha: sha, runURL: env.runURL, environmentURL: environmentURL)
  }
}
