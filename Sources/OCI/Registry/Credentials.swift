import Basics
import FoundationEssentials

/// Credentials for one registry: a username and password (or token), or an identity token
/// (a refresh token for the Bearer flow, as docker's `identitytoken`).
public struct Credentials: Sendable, Equatable {
  public var username: String
  public var password: String
  public var identityToken: String?

  public init(username: String, password: String, identityToken: String? = nil) {
    self.username = username
    self.password = password
    self.identityToken = identityToken
  }

  var basicHeader: String { "Basic " + Data("\(username):\(password)".utf8).base64EncodedString() }

  /// Looks `registry` up in a docker `config.json` (`auths.<host>.auth` base64 user:pass, or
  /// `identitytoken`), found at `$DOCKER_CONFIG/config.json`: the keys docker writes first
  /// (`ghcr.io`, `https://ghcr.io`), then, as docker's file store does for older files, any
  /// key that names the same host once its scheme and path go (`https://ghcr.io/v1/`). A key
  /// of another port (`ghcr.io:443`) is another registry, as it is to docker.
  public static func fromDockerConfig(directory: String, registry: String) -> Credentials? {
    dockerConfig(directory: directory, registry: registry).credentials
  }

  /// ``fromDockerConfig(directory:registry:)``, read once, and when it finds none: why not, if
  /// the file names a way to them Gantry does not take (a credential helper, `credHelpers` or
  /// `credsStore`: Gantry runs no program a file names), or is no JSON. The note is nil when
  /// the file simply has none, or there is no file.
  public static func dockerConfig(directory: String, registry: String) -> (credentials: Credentials?, note: String?) {
    guard let data = FileManager.default.contents(atPath: directory + "/config.json") else { return (nil, nil) }
    guard let config = JSONValue.parse(userFile: data) else { return (nil, "DOCKER_CONFIG's config.json is not JSON, so none of its credentials were read") }
    // Docker Hub is known by four names; any other registry by its own.
    let hosts = registry == "docker.io" ? ["index.docker.io", "docker.io", "registry-1.docker.io"] : [registry]
    if let auths = config["auths"]?.object {
      let exact = registry == "docker.io" ? ["https://index.docker.io/v1/"] + hosts : [registry, "https://\(registry)", "http://\(registry)"]
      let keys = exact.flatMap { [$0, $0 + "/"] } + auths.keys.sorted().filter { hosts.contains(hostname(ofKey: $0)) }
      for key in keys {
        guard let entry = auths[key]?.object else { continue }
        if let token = entry["identitytoken"]?.string, !token.isEmpty {
          return (Credentials(username: "<token>", password: "", identityToken: token), nil)
        }
        if let auth = entry["auth"]?.string, let decoded = Data(base64Encoded: auth).map({ String(decoding: $0, as: UTF8.self) }),
          let colon = decoded.firstIndex(of: ":")
        {
          return (Credentials(username: String(decoded[..<colon]), password: String(decoded[decoded.index(after: colon)...])), nil)
        }
        if let u = entry["username"]?.string, let p = entry["password"]?.string {
          return (Credentials(username: u, password: p), nil)
        }
      }
    }
    // The helper's name is the file's text: quoted short, and only ever printed.
    func program(_ name: String) -> String { "docker-credential-\(name.clipped(to: 60))" }
    let helpers = config["credHelpers"]?.object ?? [:]
    if let key = helpers.keys.sorted().first(where: { hosts.contains(hostname(ofKey: $0)) }), let name = helpers[key]?.string {
      return (nil, "DOCKER_CONFIG's config.json leaves \(registry)'s credentials to the credential helper \(program(name)), which Gantry does not run")
    }
    if let name = config["credsStore"]?.string, !name.isEmpty {
      return (nil, "DOCKER_CONFIG's config.json keeps its credentials in the store \(program(name)), which Gantry does not run")
    }
    return (nil, nil)
  }

  /// The registry an `auths` key names, as docker's `ConvertToHostname` reads it: without its
  /// scheme, user and path (`https://user@Ghcr.io/v1/` → `ghcr.io`), lower-cased as registry
  /// names are.
  static func hostname(ofKey key: String) -> String {
    var rest = Substring(key)
    if let scheme = rest.firstRange(of: "://") { rest = rest[scheme.upperBound...] }
    if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
    if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
    return rest.lowercased()
  }
}
