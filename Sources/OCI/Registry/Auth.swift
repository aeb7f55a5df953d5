import Foundation
import HTTP

/// Access a request needs, as token scopes (`repository:<name>:push,pull` — push first).
public struct Scope: Sendable, Hashable {
  public var entries: [String]

  public static func pull(_ repository: String) -> Scope { Scope(entries: ["repository:\(repository):pull"]) }
  public static func push(_ repository: String) -> Scope { Scope(entries: ["repository:\(repository):push,pull"]) }

  public func adding(_ other: Scope) -> Scope { Scope(entries: entries + other.entries.filter { !entries.contains($0) }) }

  var repositories: [String] { entries.compactMap { $0.split(separator: ":").dropFirst().first.map(String.init) } }
  var key: String { entries.joined(separator: " ") }
}

/// Per-registry auth state: the scheme that answers, the challenge, and tokens per scope.
/// An actor: concurrent blob copies share one token cache.
actor AuthState {
  let host: String
  let allowPlainHTTP: Bool
  let credentials: Credentials?
  private var base: URL?
  private var challenge: AuthChallenge?
  private var tokens: [String: (header: String, expires: Date)] = [:]
  private var basic: String?
  /// The probe in flight: concurrent first requests share it instead of each sending `GET /v2/`.
  private var probing: Task<URL, any Error>?

  init(host: String, allowPlainHTTP: Bool, credentials: Credentials?) {
    self.host = host
    self.allowPlainHTTP = allowPlainHTTP
    self.credentials = credentials
  }

  /// `https://host/`, or `http://host/` for insecure registries that do not speak TLS.
  /// Learned once with `GET /v2/` ([API version check](https://github.com/opencontainers/distribution-spec/blob/main/spec.md#determining-support)).
  func baseURL(http: HTTPClient, registry: String) async throws -> URL {
    if let base { return base }
    if let probing { return try await probing.value }
    let task = Task { try await self.probe(http: http, registry: registry) }
    probing = task
    do {
      let url = try await task.value
      base = url
      probing = nil
      return url
    } catch {
      probing = nil
      throw error
    }
  }

  private func probe(http: HTTPClient, registry: String) async throws -> URL {
    // Loopback registries are nearly always plain HTTP: asking them HTTP first saves a failed
    // TLS handshake (and a CA bundle load, ~100 ms measured here). A TLS server answers an HTTP
    // request with 400, which sends us on to https.
    let loopback = host.hasPrefix("localhost") || host.hasPrefix("127.") || host.hasPrefix("[::1]")
    let schemes = !allowPlainHTTP ? ["https"] : loopback ? ["http", "https"] : ["https", "http"]
    var lastError = ""
    for scheme in schemes {
      let url = URL(string: "\(scheme)://\(host)/")!
      // When plain HTTP may follow, a TLS failure is an answer, not a reason to retry.
      var probe = http
      if scheme != schemes.last { probe.retry = .none }
      do {
        let r = try await probe.send(Request(url: url.appendingPathComponent("v2/")))
        if r.status == 401, let h = r.headers["WWW-Authenticate"] { challenge = AuthChallenge.parse(h) }
        if r.status == 400, scheme != schemes.last { continue }  // "client sent an HTTP request to an HTTPS server"
        return url
      } catch let e as HTTPError {
        lastError = e.description
      }
    }
    throw RegistryError.unreachable(registry: registry, why: lastError + (allowPlainHTTP ? "" : " (list it in insecure-registries if it serves plain HTTP or a self-signed certificate)"))
  }

  func header(for scope: Scope) -> String? {
    if let t = tokens[scope.key], t.expires > Date() { return t.header }
    if let basic { return basic }
    if challenge?.scheme == "basic", let credentials { return credentials.basicHeader }
    return nil
  }

  nonisolated func hint(side: String) -> String {
    credentials == nil
      ? "no credentials given; set \(side)-username and \(side)-password (or DOCKER_CONFIG with a config.json)"
      : "check \(side)-username and \(side)-password"
  }

  /// Answers a challenge: Basic with the credentials, or a Bearer token from the realm.
  /// Returns nil when there is nothing new to try.
  func authorize(challenge: AuthChallenge, scope: Scope, http: HTTPClient, registry: String, side: String) async throws -> String? {
    self.challenge = challenge
    switch challenge.scheme {
    case "basic":
      guard let credentials, basic == nil else { return nil }
      basic = credentials.basicHeader
      return basic
    case "bearer":
      guard let realm = challenge.realm, var c = URLComponents(string: realm) else {
        throw RegistryError.invalidResponse(registry: registry, why: "Bearer challenge without a realm")
      }
      var items = c.queryItems ?? []
      if let service = challenge.service { items.append(URLQueryItem(name: "service", value: service)) }
      for s in scope.entries { items.append(URLQueryItem(name: "scope", value: s)) }
      var request: Request
      if let token = credentials?.identityToken {
        // OAuth2 refresh-token grant, as docker does with an identity token.
        var form = URLComponents()
        form.queryItems =
          [
            URLQueryItem(name: "grant_type", value: "refresh_token"), URLQueryItem(name: "refresh_token", value: token),
            URLQueryItem(name: "client_id", value: "gantry"),
          ] + items.filter { $0.name == "service" || $0.name == "scope" }
        request = Request(method: "POST", url: c.url!, headers: ["Content-Type": "application/x-www-form-urlencoded"], body: .data(Data((form.percentEncodedQuery ?? "").utf8)))
      } else {
        c.queryItems = items
        request = Request(url: c.url!)
        if let credentials { request.headers.set("Authorization", credentials.basicHeader) }
      }
      let r: Response
      do { r = try await http.send(request) } catch let e as HTTPError {
        throw RegistryError.unreachable(registry: "\(registry) token service \(c.host ?? realm)", why: e.description)
      }
      guard r.isSuccess else {
        if r.status == 401 || r.status == 403 {
          throw RegistryError.unauthorized(registry: registry, hint: hint(side: side), detail: "token service answered \(r.status)")
        }
        throw RegistryError.unexpected(registry: registry, status: r.status, operation: "token request", detail: r.bodyText())
      }
      struct TokenResponse: Decodable {
        var token: String?
        var access_token: String?
        var expires_in: Int?
      }
      let decoded = try JSONDecoderShared.decode(TokenResponse.self, from: r.body)
      guard let token = decoded.token ?? decoded.access_token, !token.isEmpty else {
        throw RegistryError.invalidResponse(registry: registry, why: "token response without token")
      }
      // Refresh a little early; the spec's default lifetime is 60 s.
      let lifetime = max(10, (decoded.expires_in ?? 60) - 5)
      let header = "Bearer \(token)"
      tokens[scope.key] = (header, Date().addingTimeInterval(TimeInterval(lifetime)))
      return header
    default:
      return nil
    }
  }
}
