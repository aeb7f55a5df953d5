import ActionsCore
import Basics
import FoundationEssentials
import HTTP
import OCI

/// Inputs shared by every stage that talks to registries, declared once.
enum RegistryInputs {
  /// Declared once so every stage describes them the same way.
  static let source = InputDeclaration("source", "Image to promote or compare, by tag or digest (e.g. 123.dkr.ecr.eu-west-1.amazonaws.com/app:1.2.0-SNAPSHOT-7d2a1b4)", required: true)
  static let target = InputDeclaration(
    "target", "Target repository (e.g. ghcr.io/acme/app); promote also takes a tag there when `tags` is empty, verify-digest needs a tag or digest there (or expected-digest instead)", required: true)
  static let environment = InputDeclaration(
    "environment",
    "Environment name (dev, staging, production, …): build-tag picks its default tags by it; promote makes it a moving tag and records the promotion in the target repository; rollback and history read those records"
  )
  static let tags = InputDeclaration("tags", "Target tags, one per line (promote default: the source tag; rollback: extra tags moved with the environment tag)", kind: .list)
  /// build-tag's and promote's: one text, so action.yml tells both the same (true) thing.
  static let version = InputDeclaration(
    "version",
    "Version X.Y.Z (a leading v is accepted). build-tag: for its version tags, default from a tag ref (refs/tags/v1.2.3) when there is one; promote: recorded with the promotion (history, rollback's `version` output), default: the one target tag that is a version X.Y.Z"
  )
  static let dryRun = InputDeclaration("dry-run", "Compute and validate only; change nothing in any registry or repository", kind: .boolean, default: "false")
  static let digestOutput = OutputDeclaration("digest", "The manifest digest now live: promoted (promote) or restored (rollback)")
  static let versionOutput = OutputDeclaration("version", "The version: computed (version), normalised without prefix (build-tag), restored (rollback)")
  static let imageOutput = OutputDeclaration("image", "target@digest of that manifest, the immutable reference to deploy")

  static func credentials(_ side: String) -> [InputDeclaration] {
    [
      InputDeclaration("\(side)-username", "Username for the \(side) registry (GHCR: github.actor; ECR: AWS). Default: DOCKER_CONFIG's config.json, else anonymous"),
      InputDeclaration("\(side)-password", "Password or token for the \(side) registry (GHCR: GITHUB_TOKEN; ECR: `aws ecr get-login-password`)", secret: true),
    ]
  }

  static let connection: [InputDeclaration] = [
    InputDeclaration("insecure-registries", "Registries (host[:port]) reached over plain HTTP or with unverified TLS. localhost and 127.0.0.1 always may use plain HTTP", kind: .list),
    InputDeclaration("ca-file", CAFileInput.description),
    InputDeclaration("retries", "Attempts after the first on transient registry errors (connection errors, 429, 5xx), 0 to 10", kind: .integer, default: "3"),
    StageTimeout.input,
  ]

  /// A client for `registry`, with credentials from inputs, else `$DOCKER_CONFIG/config.json`.
  static func client(for registry: String, side: String, context: StageContext) throws -> RegistryClient {
    let inputs = context.inputs
    var credentials: Credentials?
    var credentialsNote: String?
    let user = inputs.string("\(side)-username")
    let password = inputs.string("\(side)-password")
    if let password {
      credentials = Credentials(username: user ?? "gantry", password: password)
    } else if user != nil {
      throw InputError("\(side)-password", "\(side)-username is set but \(side)-password is empty")
    } else if let dir = context.environment["DOCKER_CONFIG"] {
      (credentials, credentialsNote) = Credentials.dockerConfig(directory: dir, registry: registry)
      if let c = credentials { context.log.mask(c.password.isEmpty ? (c.identityToken ?? "") : c.password) }
    }
    let retries = try inputs.integer("retries", in: 0...10) ?? 3
    var config = TransportConfiguration.fromEnvironment(context.environment.variables)
    try config.trustCAFile(inputs, environment: context.environment.variables)
    config.insecureHosts = try insecureRegistries(inputs)
    var http = context.connections.http(config, retry: RetryPolicy(retries: retries))
    http.rateLimits = context.connections.rateLimits
    let log = context.log
    context.connections.rateLimits.onWait { registry, wait, reason in log.info("rate limit: waiting \(wait.formatted()) for \(registry) (\(reason.rawValue))") }
    http.onRetry = { attempt, delay, reason in log.info("retry \(attempt) in \(delay.formatted()): \(reason)") }
    if log.debugEnabled {
      // RUNNER_DEBUG=1 ("Enable debug logging" on a re-run): every request, to see where time
      // goes. Without the query: blob-storage redirects carry signatures there.
      http.onExchange = { request, status, took in
        log.debug("\(request.method) \(request.url.scheme ?? "")://\(request.url.authority)\(request.url.path) → \(status) in \(Format.fixed(took.totalMilliseconds, digits: 1)) ms")
      }
    }
    // The transport's rule (host[:port], or a host alone for every port) also decides plain HTTP.
    var options = RegistryOptions(credentials: credentials, insecure: config.isInsecure(registry.lowercased()), side: side)
    options.credentialsNote = credentialsNote
    // Every token a token service hands out is masked before it can reach a log line.
    options.onSecret = { log.mask($0) }
    return RegistryClient(registry: registry, http: http, options: options)
  }

  /// The `insecure-registries` entries as `host[:port]`, lower-cased as registry names are.
  /// `http://registry.internal:5000/` (docker's daemon.json refuses a scheme; users still
  /// write one) is read as `registry.internal:5000`: before, it matched nothing and the
  /// registry failed with "list it in insecure-registries" although it was listed.
  /// - Throws: ``InputError`` for an entry that is no `host[:port]`.
  static func insecureRegistries(_ inputs: Inputs) throws -> Set<String> {
    Set(
      try inputs.list("insecure-registries").map { entry in
        var rest = Substring(entry)
        if let scheme = rest.firstRange(of: "://") { rest = rest[scheme.upperBound...] }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        let host = rest.lowercased()
        guard Reference.isValidHost(host) else {
          throw InputError("insecure-registries", "'\(entry.clipped(to: 80))' is not host[:port], e.g. registry.internal:5000")
        }
        return host
      })
  }

  static func reference(_ input: String, _ value: String) throws -> Reference {
    do { return try Reference(parsing: value) } catch { throw InputError(input, error.description) }
  }
}

extension Duration {
  func formatted() -> String {
    let ms = totalMilliseconds
    return ms >= 1000 ? Format.fixed(ms / 1000, digits: 1) + "s" : Format.fixed(ms, digits: 0) + "ms"
  }
}
