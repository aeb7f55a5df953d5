import Basics
import FoundationEssentials
import HTTP

/// How to reach one registry.
public struct RegistryOptions: Sendable {
  public var credentials: Credentials?
  /// Why there are no credentials when the user pointed at some (a config.json that leaves them
  /// to a credential helper, or is no JSON): said when the registry asks for credentials.
  public var credentialsNote: String?
  /// Plain HTTP (and unverified TLS) allowed. `localhost` and 127.0.0.0/8 are always allowed
  /// plain HTTP, as the docker daemon does.
  public var insecure: Bool = false
  /// Which side this registry is, for messages that name the input to fix ("source", "target").
  public var side: String = "target"
  /// Called with every secret Gantry obtains from a token service, before it is used, so the
  /// caller can mask it (`::add-mask::`).
  public var onSecret: (@Sendable (String) -> Void)? = nil
  /// The deadline of each small request (manifests, tokens, tag and referrer pages). Blobs have
  /// none: the transport's low-speed limit catches a stalled one. Default 60 s.
  public var requestTimeout: Duration = .seconds(60)
  /// Most tags ``RegistryClient/tags(_:pageSize:)`` collects, and most pages it reads, before
  /// failing: a registry handing out endless pages must not grow memory without bound.
  public var maxTags: Int = 100_000
  public var maxPages: Int = 1_000

  public init(credentials: Credentials? = nil, insecure: Bool = false, side: String = "target") {
    self.credentials = credentials
    self.insecure = insecure
    self.side = side
  }
}

/// A client for one registry's [distribution API](https://github.com/opencontainers/distribution-spec/blob/main/spec.md):
/// manifests, blobs, uploads, tags, with anonymous, Basic and Bearer-token auth.
public final class RegistryClient: Sendable {
  /// `host[:port]` as in references (`docker.io` for Docker Hub).
  public let registry: String
  public let options: RegistryOptions
  let http: HTTPClient
  let auth: AuthState
  /// The registry's clock, from the `Date` of its own answers.
  public let serverClock = ServerClock()

  public init(registry: String, http: HTTPClient, options: RegistryOptions = RegistryOptions()) {
    self.registry = registry
    self.http = http
    self.options = options
    let host = registry == Reference.dockerHub ? "registry-1.docker.io" : registry
    let local = host.hasPrefix("localhost") || host.hasPrefix("127.") || host.hasPrefix("[::1]")
    self.auth = AuthState(
      host: host, allowPlainHTTP: options.insecure || local, credentials: options.credentials, credentialsNote: options.credentialsNote, onSecret: options.onSecret,
      requestTimeout: options.requestTimeout)
  }

  // MARK: Manifests

  /// Fetches a manifest by tag or digest, with the full Accept list, checking the digest.
  public func manifest(_ repository: String, _ identifier: String) async throws -> RawManifest {
    let response = try await send(scope: .pull(repository), operation: "GET manifest \(repository):\(identifier)", notFound: "manifest \(repository):\(identifier)") { base in
      Request(
        url: base.appendingPathComponent("v2/\(repository)/manifests/\(identifier)"), headers: ["Accept": MediaType.manifestAccept], destination: .buffer(limit: 4 << 20),
        timeout: self.options.requestTimeout)
    }
    let manifest: RawManifest
    do { manifest = try RawManifest(bytes: response.body, mediaType: response.headers["Content-Type"]) } catch {
      throw RegistryError.invalidResponse(registry: registry, why: "\(repository):\(identifier): \(error.description)")
    }
    if identifier.hasPrefix("sha256:"), manifest.digest.description != identifier {
      throw RegistryError.digestMismatch(expected: identifier, got: manifest.digest.description, registry: registry)
    }
    if let header = response.headers["Docker-Content-Digest"], header.hasPrefix("sha256:"), header != manifest.digest.description {
      throw RegistryError.digestMismatch(expected: header, got: manifest.digest.description, registry: registry)
    }
    return manifest
  }

  /// The manifest, or nil when the tag or digest does not exist.
  public func manifestIfPresent(_ repository: String, _ identifier: String) async throws -> RawManifest? {
    do { return try await manifest(repository, identifier) } catch RegistryError.notFound { return nil }
  }

  /// The descriptor a tag or digest points at, or nil when it does not exist. HEAD first;
  /// GET when the registry sends no `Docker-Content-Digest`.
  public func resolve(_ repository: String, _ identifier: String) async throws -> Descriptor? {
    let response = try await send(scope: .pull(repository), operation: "HEAD manifest \(repository):\(identifier)", allow404: true) { base in
      Request(method: "HEAD", url: base.appendingPathComponent("v2/\(repository)/manifests/\(identifier)"), headers: ["Accept": MediaType.manifestAccept], timeout: self.options.requestTimeout)
    }
    if response.status == 404 { return nil }
    if let header = response.headers["Docker-Content-Digest"], let digest = try? Digest(parsing: header),
      let type = response.headers["Content-Type"], let size = response.headers["Content-Length"].flatMap({ Int64($0) })
    {
      return Descriptor(mediaType: type.split(separator: ";").first.map(String.init) ?? type, digest: digest, size: size)
    }
    return try await manifest(repository, identifier).descriptor
  }

  /// Uploads manifest bytes unchanged under a tag or its digest; checks the registry agrees on the digest.
  public func putManifest(_ repository: String, _ reference: String, _ manifest: RawManifest) async throws {
    let response = try await send(scope: .push(repository), operation: "PUT manifest \(repository):\(reference)", tag: reference) { base in
      Request(
        method: "PUT", url: base.appendingPathComponent("v2/\(repository)/manifests/\(reference)"), headers: ["Content-Type": manifest.mediaType], body: .data(manifest.bytes),
        timeout: self.options.requestTimeout)
    }
    if let header = response.headers["Docker-Content-Digest"], header.hasPrefix("sha256:"), header != manifest.digest.description {
      throw RegistryError.digestMismatch(expected: manifest.digest.description, got: header, registry: registry)
    }
  }

  /// Removes a tag (the manifest stays, by digest). The distribution spec makes this optional:
  /// docker-registry 2.8 refuses it, GHCR and ECR allow it; the registry's error is thrown.
  public func deleteTag(_ repository: String, _ tag: String) async throws {
    _ = try await send(scope: .push(repository), operation: "DELETE tag \(repository):\(tag)", tag: tag) { base in
      Request(method: "DELETE", url: base.appendingPathComponent("v2/\(repository)/manifests/\(tag)"), timeout: self.options.requestTimeout)
    }
  }

  // MARK: Blobs

  /// The blob's size, or nil when the repository does not have it.
  public func blobSize(_ repository: String, _ digest: Digest) async throws -> Int64? {
    let response = try await send(scope: .pull(repository), operation: "HEAD blob \(digest.short)", allow404: true) { base in
      Request(method: "HEAD", url: base.appendingPathComponent("v2/\(repository)/blobs/\(digest)"), timeout: self.options.requestTimeout)
    }
    guard response.status != 404 else { return nil }
    return response.headers["Content-Length"].flatMap { Int64($0) } ?? -1
  }

  /// A small blob (a config) in memory, verified against its digest.
  public func blob(_ repository: String, _ digest: Digest, limit: Int = 16 << 20) async throws -> Data {
    let response = try await send(scope: .pull(repository), operation: "GET blob \(digest.short)", notFound: "blob \(digest) in \(repository)") { base in
      Self.uncounted(Request(url: base.appendingPathComponent("v2/\(repository)/blobs/\(digest)"), destination: .buffer(limit: limit), timeout: self.options.requestTimeout))
    }
    let got = Digest.sha256(response.body)
    guard got == digest else { throw RegistryError.digestMismatch(expected: digest.description, got: got.description, registry: registry) }
    return response.body
  }

  /// Streams a blob into `sink` (redirects to object storage followed without credentials).
  public func streamBlob(_ repository: String, _ digest: Digest, into sink: any BodySink) async throws -> Int64 {
    let response = try await send(scope: .pull(repository), operation: "GET blob \(digest.short)", notFound: "blob \(digest) in \(repository)") { base in
      Self.uncounted(Request(url: base.appendingPathComponent("v2/\(repository)/blobs/\(digest)"), destination: .sink(sink)))
    }
    return response.bodyBytes
  }

  /// The start of an upload: already there through a cross-repository mount, or a location to upload to.
  public enum UploadStart: Sendable, Equatable {
    case mounted
    case location(URL)
  }

  /// `POST /v2/<repo>/blobs/uploads/`, with `?mount=&from=` when `mountFrom` is given:
  /// 201 means mounted, 202 an ordinary upload started (the registry declined the mount).
  public func startUpload(_ repository: String, mount digest: Digest? = nil, from mountFrom: String? = nil) async throws -> UploadStart {
    var scope = Scope.push(repository)
    if let mountFrom { scope = scope.adding(.pull(mountFrom)) }
    let response = try await send(scope: scope, operation: "start upload to \(repository)") { base in
      var url = base.appendingPathComponent("v2/\(repository)/blobs/uploads/")
      if let digest, let mountFrom {
        url = try self.url(url, adding: [URLQueryItem(name: "mount", value: digest.description), URLQueryItem(name: "from", value: mountFrom)])
      }
      return Request(method: "POST", url: url, timeout: self.options.requestTimeout)
    }
    if response.status == 201, mountFrom != nil { return .mounted }
    guard let location = response.headers["Location"], let url = URL(string: location, relativeTo: response.url)?.absoluteURL else {
      throw RegistryError.invalidResponse(registry: registry, why: "upload started without a Location header")
    }
    return .location(url)
  }

  /// Completes an upload in one PUT (monolithic) with the digest; the body may stream.
  /// - Throws: ``RegistryError/digestMismatch(expected:got:registry:)`` when the registry
  ///   answers that it stored the bytes under another digest.
  public func finishUpload(_ repository: String, at location: URL, digest: Digest, body: RequestBody) async throws {
    // The registry's Location may carry a query (`_state`), but the digest the blob is put
    // under is Gantry's: a `digest` already there would come first, and Go's `FormValue`
    // reads the first.
    let url = try self.url(location, removing: "digest", adding: [URLQueryItem(name: "digest", value: digest.description)])
    let response = try await send(scope: .push(repository), operation: "upload blob \(digest.short) to \(repository)") { _ in
      Request(method: "PUT", url: url, headers: ["Content-Type": "application/octet-stream"], body: body)
    }
    if let header = response.headers["Docker-Content-Digest"], header.hasPrefix("sha256:"), header != digest.description {
      throw RegistryError.digestMismatch(expected: digest.description, got: header, registry: registry)
    }
  }

  /// Ends an upload session that will not be finished (`DELETE` of its location, as the
  /// distribution spec allows), so that it does not linger until the registry's own clean-up.
  /// One attempt within `timeout`; a failure is ignored (the registry expires sessions anyway).
  public func cancelUpload(_ repository: String, at location: URL, timeout: Duration = .seconds(5)) async {
    _ = try? await HTTPClient.$retriesOwnedByCaller.withValue(true) {
      try await send(scope: .push(repository), operation: "cancel upload to \(repository)", allow404: true) { _ in
        Request(method: "DELETE", url: location, timeout: timeout)
      }
    }
  }

  /// Uploads bytes in memory as a blob (configs, small artifacts) unless already present.
  /// - Parameter askFirst: false for bytes no registry can have yet (a fresh record): uploaded
  ///   without the HEAD that asks.
  @discardableResult
  public func pushBlob(_ repository: String, _ data: Data, mediaType: String = "application/octet-stream", askFirst: Bool = true) async throws -> Descriptor {
    let digest = Digest.sha256(data)
    let descriptor = Descriptor(mediaType: mediaType, digest: digest, size: Int64(data.count))
    if askFirst, try await blobSize(repository, digest) != nil { return descriptor }
    guard case .location(let url) = try await startUpload(repository) else { return descriptor }
    try await finishUpload(repository, at: url, digest: digest, body: .data(data))
    return descriptor
  }

  // MARK: Referrers

  /// The manifests whose `subject` is `digest`, through the
  /// [referrers API](https://github.com/opencontainers/distribution-spec/blob/main/spec.md#listing-referrers),
  /// or nil when the registry does not have the API (docker-registry 2.8, Docker Hub answer
  /// 404): then the `sha256-<hex>` fallback tag holds them (``Referrers``). Follows `Link`
  /// pagination, which the spec allows for long lists.
  public func referrers(_ repository: String, _ digest: Digest) async throws -> [Descriptor]? {
    var all: [Descriptor] = []
    var seen = Set<Digest>()
    var next: String? = "v2/\(repository)/referrers/\(digest)"
    var pages = 0
    while let path = next {
      pages += 1
      try checkPageCount(pages, of: "referrers of \(digest.short)")
      let response = try await send(scope: .pull(repository), operation: "list referrers of \(digest.short)", allow404: true) { base in
        Request(url: try self.url(path, relativeTo: base), headers: ["Accept": MediaType.ociIndex], destination: .buffer(limit: 4 << 20), timeout: self.options.requestTimeout)
      }
      guard response.status == 200, (response.headers["Content-Type"] ?? "").hasPrefix(MediaType.ociIndex) else { return pages == 1 ? nil : all }
      let fresh = try RegistryJSON.manifests(response.body, registry: registry).filter { seen.insert($0.digest).inserted }
      all += fresh
      guard all.count <= options.maxTags else {
        throw RegistryError.invalidResponse(registry: registry, why: "more than \(options.maxTags) referrers of \(digest.short); stopped reading")
      }
      next = fresh.isEmpty ? nil : try nextPage(response)
    }
    return all
  }

  // MARK: Tags

  /// Every tag, following `Link` pagination; tolerates registries that ignore `n`.
  public func tags(_ repository: String, pageSize: Int = 1000) async throws -> [String] {
    var all: [String] = []
    var seen = Set<String>()
    var next: String? = "v2/\(repository)/tags/list?n=\(pageSize)"
    var pages = 0
    while let path = next {
      pages += 1
      try checkPageCount(pages, of: "tags of \(repository)")
      let response = try await send(scope: .pull(repository), operation: "list tags of \(repository)", allow404: true) { base in
        Request(url: try self.url(path, relativeTo: base), destination: .buffer(limit: 4 << 20), timeout: self.options.requestTimeout)
      }
      if response.status == 404 { return [] }
      let page = try RegistryJSON.tags(response.body, registry: registry)
      next = try nextPage(response)
      // One page (registries that ignore `n` answer every tag at once): nothing to merge.
      if pages == 1, next == nil { return page }
      let fresh = page.filter { seen.insert($0).inserted }
      all += fresh
      guard all.count <= options.maxTags else {
        throw RegistryError.invalidResponse(registry: registry, why: "\(repository) lists more than \(options.maxTags) tags; stopped reading (a registry paging without end?)")
      }
      if fresh.isEmpty { break }
    }
    return all
  }

  /// The next page of a paged list (`Link: <…>; rel="next"`), relative to the base URL. A
  /// next page on another origin is refused: the registry's credentials would follow it.
  private func nextPage(_ response: Response) throws -> String? {
    guard let link = LinkHeader.next(response.headers["Link"]) else { return nil }
    guard let target = URL(string: link, relativeTo: response.url)?.absoluteURL, let origin = target.origin else {
      throw RegistryError.invalidResponse(registry: registry, why: "next page link is not a URL")
    }
    let registryOrigin = auth.knownBase?.origin ?? response.url.origin
    guard origin == registryOrigin else {
      throw RegistryError.invalidResponse(
        registry: registry, why: "next page \(target.redacted) is on another origin than \(registryOrigin?.description ?? response.url.redacted); not followed")
    }
    // Resolved against the page that named it (RFC 8288 §3.2): `<?last=a>` is the same
    // listing's next page, not the registry root's.
    return target.absoluteString
  }

  private func checkPageCount(_ pages: Int, of what: String) throws {
    guard pages <= options.maxPages else {
      throw RegistryError.invalidResponse(registry: registry, why: "\(what): more than \(options.maxPages) pages; stopped reading")
    }
  }

  /// The repository's tags when one page holds them all (no `Link` to a next page), else nil;
  /// nil too when the registry refuses to list. One request: a caller that would otherwise ask
  /// for several well-known tags one by one can answer from it.
  public func allTagsInOnePage(_ repository: String, pageSize: Int = 1000) async -> Set<String>? {
    guard
      let response = try? await send(
        scope: .pull(repository), operation: "list tags of \(repository)",
        { base in
          Request(url: try self.url("v2/\(repository)/tags/list?n=\(pageSize)", relativeTo: base), destination: .buffer(limit: 4 << 20), timeout: self.options.requestTimeout)
        })
    else { return nil }
    guard LinkHeader.next(response.headers["Link"]) == nil, let tags = try? RegistryJSON.tags(response.body, registry: registry) else { return nil }
    return tags.count < pageSize ? Set(tags) : nil
  }

  // MARK: Sending with auth

  /// Sends with the cached credentials for `scope`; on 401 answers the challenge once.
  /// Maps failing statuses to ``RegistryError``.
  func send(
    scope: Scope, operation: String, notFound: String? = nil, allow404: Bool = false, tag: String? = nil,
    _ build: (URL) throws -> Request
  ) async throws -> Response {
    // A first request to a registry finds its base URL itself (see AuthState.base).
    let base: URL
    var probed: Response?
    if let known = auth.knownBase {
      base = known
    } else {
      let probes = try auth.candidateBases.map(build)
      (base, probed) = try await auth.base(http: http, registry: registry, probes: probes.allSatisfy(\.isReplayable) ? probes : nil)
    }
    var request = try build(base)
    // Credentials are bound to the registry's origin (scheme, host, port): a URL the registry
    // handed back (an upload Location) on another origin is sent without them, and one that
    // would go from https to plain http is not sent at all.
    let sameOrigin = request.url.origin == base.origin
    if !sameOrigin, base.origin?.isSecure == true, request.url.origin?.isSecure != true {
      throw RegistryError.invalidResponse(registry: registry, why: "\(operation): refused to send to \(request.url.redacted), plain http handed out by an https registry")
    }
    var response: Response
    var asked = Date()
    if let probed {
      response = probed
    } else {
      if sameOrigin, let header = try await auth.header(for: scope, http: http, registry: registry, side: options.side) { request.headers.set("Authorization", header) }
      asked = Date()
      response = try await perform(request)
    }
    if sameOrigin, response.status == 401, let challengeHeader = response.headers["WWW-Authenticate"], let challenge = AuthChallenge.parse(challengeHeader) {
      // A streamed body (a blob piped from the source) was partly read by the refused
      // attempt: sending it again would send its tail as the whole. Refused knowingly.
      guard try build(base).isReplayable else {
        throw RegistryError.unauthorized(registry: registry, hint: auth.hint(side: options.side), detail: "\(operation) was refused and its streamed body cannot be sent twice")
      }
      let rejected = request.headers["Authorization"]
      if let header = try await auth.authorize(challenge: challenge, scope: scope, http: http, registry: registry, side: options.side, rejected: rejected) {
        request = try build(base)
        request.headers.set("Authorization", header)
        asked = Date()
        response = try await perform(request)
      }
    }
    // Its own answers only (a blob redirected to storage elsewhere tells another clock), fresh
    // (a cache's answer carries `Age` and an old `Date`) and quick: the `Date` is stamped when
    // the answer starts, and a long body would make this machine's time of it late.
    if response.url.origin == base.origin, response.headers["Age"] == nil, Date().timeIntervalSince(asked) < 1 {
      serverClock.observe(response.headers["Date"])
    }
    if response.isSuccess || (allow404 && response.status == 404) { return response }
    var detail = RegistryErrorBody.describe(Array(response.body))
    if response.attempts > 1 { detail += detail.isEmpty ? "\(response.attempts) attempts" : " (\(response.attempts) attempts)" }
    switch response.status {
    case 401: throw RegistryError.unauthorized(registry: registry, hint: auth.hint(side: options.side), detail: detail)
    case 403: throw RegistryError.forbidden(registry: registry, repository: scope.repositories.joined(separator: ", "), detail: detail)
    case 404: throw RegistryError.notFound(what: notFound ?? operation, registry: registry, detail: detail)
    case 429: throw RegistryError.tooManyRequests(registry: registry, detail: detail)
    case 400 where tag != nil && (detail.contains("TAG_INVALID") || detail.lowercased().contains("immutable")):
      throw RegistryError.tagImmutable(registry: registry, repository: scope.repositories.first ?? "", tag: tag!, detail: detail)
    default: throw RegistryError.unexpected(registry: registry, status: response.status, operation: operation, detail: detail)
    }
  }

  /// Docker Hub counts manifest GETs against its pull budget, not blob GETs: those are neither
  /// paced nor refused by `RateLimits` (a 429's `Retry-After` still holds them).
  private static func uncounted(_ request: Request) -> Request {
    var r = request
    r.countsTowardRateLimit = false
    return r
  }

  private func perform(_ request: Request) async throws -> Response {
    do { return try await http.send(request) } catch let e as HTTPError {
      if case .cancelled = e { throw e }
      throw Self.registryError(e, registry: registry)
    }
  }

  /// Transient transport failures (connect, timeout, reset) are ``RegistryError/unreachable(registry:why:)``,
  /// worth another attempt; the rest (TLS, refused redirects, bodies over their limit) fail for good.
  static func registryError(_ e: HTTPError, registry: String) -> RegistryError {
    if let kind = e.kind, [.connect, .timeout, .reset].contains(kind) { return .unreachable(registry: registry, why: e.description) }
    return .failed(registry: registry, why: e.description)
  }
}
