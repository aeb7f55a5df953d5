import Basics
import FoundationEssentials
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
  /// ``RegistryOptions/credentialsNote``.
  let credentialsNote: String?
  /// The base URL once learned; readable without a hop onto the actor, so a request to a
  /// known registry (nearly all of them) builds no probes.
  private nonisolated let learned = LearnedBase()
  private var challenge: AuthChallenge?
  private var tokens: [String: (header: String, expires: Date)] = [:]
  private var basic: String?
  /// Token requests in flight, per scope: concurrent requests share one.
  private var fetching: [String: Task<String, any Error>] = [:]

  /// Told every token obtained, to mask it.
  let onSecret: (@Sendable (String) -> Void)?

  /// The deadline of a token request.
  let requestTimeout: Duration

  init(
    host: String, allowPlainHTTP: Bool, credentials: Credentials?, credentialsNote: String? = nil, onSecret: (@Sendable (String) -> Void)? = nil,
    requestTimeout: Duration = .seconds(60)
  ) {
    self.requestTimeout = requestTimeout
    self.host = host
    self.allowPlainHTTP = allowPlainHTTP
    self.credentials = credentials
    self.credentialsNote = credentialsNote
    self.onSecret = onSecret
  }

  /// Where to look for the registry, in order: `https://host/`, and `http://host/` for
  /// insecure registries that do not speak TLS (first for loopback ones).
  nonisolated var candidateBases: [URL] {
    // Loopback registries are nearly always plain HTTP: asking them HTTP first saves a failed
    // TLS handshake (and a CA bundle load, ~100 ms measured here). A TLS server answers an HTTP
    // request with 400, which sends us on to https.
    let loopback = host.hasPrefix("localhost") || host.hasPrefix("127.") || host.hasPrefix("[::1]")
    let schemes = !allowPlainHTTP ? ["https"] : loopback ? ["http", "https"] : ["https", "http"]
    return schemes.compactMap { URL(string: "\($0)://\(host)/") }
  }

  /// The base URL, learned once. A request to a registry whose base is not known yet is its
  /// own probe: sent to each candidate base in turn until one answers (`probes`, one request
  /// per candidate base), its response is returned with the base, so finding the registry
  /// costs no extra round trip. Without probes, `GET /v2/` is sent
  /// ([API version check](https://github.com/opencontainers/distribution-spec/blob/main/spec.md#determining-support)).
  /// Concurrent first requests each probe rather than wait for one another: a wait would put
  /// a whole round trip in front of the request that matters (the source manifest behind a
  /// tag listing, say), and they all learn the same answer.
  func base(http: HTTPClient, registry: String, probes: [Request]? = nil) async throws -> (URL, Response?) {
    if let known = knownBase { return (known, nil) }
    let bases = candidateBases
    let requests = probes ?? bases.map { Request(url: $0.appendingPathComponent("v2/")) }
    let (url, response) = try await probe(http: http, registry: registry, attempts: Array(zip(bases, requests)))
    learned.set(url)
    return (url, probes == nil ? nil : response)
  }

  /// The base URL, when a request has learned it.
  nonisolated var knownBase: URL? { learned.value }

  /// Tries each candidate base once per round: a TLS failure or a 400 ("an HTTP request to an
  /// HTTPS server") sends the probe on to the next candidate. Rounds repeat under the client's
  /// retry policy only while some candidate failed in a way that may pass (connect, timeout,
  /// reset); a candidate that answered is the base, its answer retried there if it is a
  /// transient status. The error lists what every candidate answered: a plain-http failure is
  /// not hidden behind the https fallback's unrelated TLS error.
  private func probe(http: HTTPClient, registry: String, attempts: [(URL, Request)]) async throws -> (URL, Response) {
    var once = http
    once.retry = .none
    let rounds = HTTPClient.retriesOwnedByCaller ? 1 : http.retry.retries + 1
    var tried: [String] = []
    var round = 0
    while true {
      tried = []
      var transient = false
      for (i, (url, request)) in attempts.enumerated() {
        let last = i == attempts.count - 1
        do {
          var r = try await once.send(request)
          if r.status == 400, !last {
            tried.append("\(url.redacted) answered HTTP 400")
            continue
          }
          if http.retry.retryStatuses.contains(r.status), http.retry.retries > 0, !HTTPClient.retriesOwnedByCaller, request.isReplayable {
            // This answer was the first attempt: the rest follow the client's policy.
            var rest = http
            rest.retry.retries -= 1
            let delay = http.retry.delay(afterAttempt: 0, retryAfter: r.headers["Retry-After"], unit: Double.random(in: 0..<1))
            http.onRetry?(1, delay, "HTTP \(r.status) from \(url.authority)")
            try await http.sleep(delay)
            r = try await rest.send(request)
            r.attempts += 1
          }
          if r.status == 401, let h = r.headers["WWW-Authenticate"] { challenge = AuthChallenge.parse(h) }
          return (url, r)
        } catch let e as HTTPError {
          if case .cancelled = e { throw e }
          // A refused redirect or an oversized body is this candidate's answer, not a miss.
          if e.kind == nil { throw RegistryClient.registryError(e, registry: registry) }
          tried.append(e.description)
          if let kind = e.kind, [.connect, .timeout, .reset].contains(kind) { transient = true }
        }
      }
      round += 1
      guard transient, round < rounds else { break }
      let delay = http.retry.delay(afterAttempt: round - 1, retryAfter: nil, unit: Double.random(in: 0..<1))
      http.onRetry?(round, delay, "cannot reach \(registry): \(tried.joined(separator: "; "))")
      try await http.sleep(delay)
    }
    let attemptsNote = round > 1 ? " (\(round) attempts)" : ""
    throw RegistryError.unreachable(
      registry: registry,
      why: tried.joined(separator: "; ") + attemptsNote + (allowPlainHTTP ? "" : " (list it in insecure-registries if it serves plain HTTP or a self-signed certificate)"))
  }

  /// The `Authorization` header for `scope`, if one is known or can be had without asking the
  /// registry first: a cached token, Basic credentials, or — once the registry's Bearer
  /// challenge is known — a token fetched now (one fetch per scope, however many requests
  /// wait for it). Saves the 401 round trip every new scope would otherwise cost.
  func header(for scope: Scope, http: HTTPClient, registry: String, side: String) async throws -> String? {
    if let t = tokens[scope.key], t.expires > Date() { return t.header }
    if let basic { return basic }
    guard let challenge else { return nil }
    if challenge.scheme == "basic" { return credentials?.basicHeader }
    guard challenge.scheme == "bearer" else { return nil }
    return try await authorize(challenge: challenge, scope: scope, http: http, registry: registry, side: side)
  }

  nonisolated func hint(side: String) -> String {
    guard credentials == nil else { return "check \(side)-username and \(side)-password" }
    if let credentialsNote { return "no credentials given: \(credentialsNote); set \(side)-username and \(side)-password" }
    return "no credentials given; set \(side)-username and \(side)-password (or DOCKER_CONFIG with a config.json)"
  }

  /// Answers a challenge: Basic with the credentials, or a Bearer token from the realm.
  /// Returns nil when there is nothing new to try.
  /// `rejected` is the header the refused request carried (nil: none): a header learned since
  /// by a concurrent request is returned instead of asking again.
  func authorize(challenge: AuthChallenge, scope: Scope, http: HTTPClient, registry: String, side: String, rejected: String? = nil) async throws -> String? {
    self.challenge = challenge
    switch challenge.scheme {
    case "basic":
      if let basic { return basic == rejected ? nil : basic }
      guard let credentials else { return nil }
      basic = credentials.basicHeader
      return basic
    case "bearer":
      if let t = tokens[scope.key], t.expires > Date(), t.header != rejected { return t.header }
      // Shared by every request of the scope; a cancelled request stops waiting (a copy's
      // bounded cleanup of its sessions must not wait for a stalled token service).
      if let inFlight = fetching[scope.key] { return try await waitCancellably(for: inFlight) }
      let task = Task { try await self.fetchToken(challenge: challenge, scope: scope, http: http, registry: registry, side: side) }
      fetching[scope.key] = task
      defer { fetching[scope.key] = nil }
      return try await waitCancellably(for: task)
    default:
      return nil
    }
  }

  private func fetchToken(challenge: AuthChallenge, scope: Scope, http: HTTPClient, registry: String, side: String) async throws -> String {
    guard let realm = challenge.realm, var c = URLComponents(string: realm), let realmURL = c.url, let realmOrigin = realmURL.origin else {
      throw RegistryError.invalidResponse(registry: registry, why: "Bearer challenge without an http(s) realm")
    }
    // The realm gets the credentials (or the refresh token): never in clear, unless the user
    // listed this registry as insecure or it is on this machine.
    if !realmOrigin.isSecure, !allowPlainHTTP {
      throw RegistryError.invalidResponse(
        registry: registry,
        why: "its token service \(realmURL.redacted) is plain http; credentials are not sent in clear (list \(registry) in insecure-registries to allow it)")
    }
    var items = c.queryItems ?? []
    // The realm is the registry's text: one that makes no URL is an invalid answer.
    func url(_ c: URLComponents) throws -> URL {
      guard let url = c.url, url.host != nil else { throw RegistryError.invalidResponse(registry: registry, why: "Bearer realm '\(realm.prefix(200))' is not a URL") }
      return url
    }
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
      request = Request(
        method: "POST", url: realmURL, headers: ["Content-Type": "application/x-www-form-urlencoded"], body: .data(Data((form.percentEncodedQuery ?? "").utf8)),
        timeout: requestTimeout)
    } else {
      c.queryItems = items
      request = Request(url: try url(c), timeout: requestTimeout)
      if let credentials { request.headers.set("Authorization", credentials.basicHeader) }
    }
    let r: Response
    do { r = try await http.send(request) } catch let e as HTTPError {
      throw RegistryClient.registryError(e, registry: "\(registry) token service \(realmOrigin)")
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
    // Clamped first: a hostile `expires_in` (Int.min, Int.max) must not overflow.
    let lifetime = min(max(decoded.expires_in ?? 60, 15), 86_400) - 5
    onSecret?(token)
    let header = "Bearer \(token)"
    tokens[scope.key] = (header, Date().addingTimeInterval(TimeInterval(lifetime)))
    return header
  }
}

/// A URL set once and read from any thread.
private final class LearnedBase: @unchecked Sendable {
  private let lock = Lock()
  private var url: URL?
  var value: URL? { lock.withLock { url } }
  func set(_ new: URL) { lock.withLock { if url == nil { url = new } } }
}
