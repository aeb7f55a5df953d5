import Foundation
import HTTP
import Testing

@testable import OCI

/// Answers requests from a function, recording them: registry protocol logic without sockets.
final class ScriptedTransport: Transport, @unchecked Sendable {
  private let lock = NSLock()
  private let answer: @Sendable (Request) -> Response
  private(set) var requests: [Request] = []
  /// Time each answer takes, so concurrent requests really overlap.
  var delay: Duration = .zero
  init(_ answer: @escaping @Sendable (Request) -> Response) { self.answer = answer }
  func perform(_ request: Request) async throws -> Response {
    lock.withLock { requests.append(request) }
    if delay > .zero { try await Task.sleep(for: delay) }
    return answer(request)
  }
}

@Suite struct ScriptedRegistryTests {
  let manifest = try! RawManifest(
    bytes: Data(
      #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#
        .utf8), mediaType: nil)

  func client(_ answer: @escaping @Sendable (Request) -> Response) -> (RegistryClient, ScriptedTransport) {
    let t = ScriptedTransport(answer)
    return (
      RegistryClient(registry: "123.dkr.ecr.eu-west-1.amazonaws.com", http: HTTPClient(transport: t, retry: .none), options: RegistryOptions(credentials: Credentials(username: "AWS", password: "p"))),
      t
    )
  }

  @Test func immutableTagsAreExplained() async throws {
    let (c, _) = client { r in
      if r.url.path == "/v2/" { return Response(status: 200, url: r.url) }
      return Response(
        status: 400,
        body: Data(
          #"{"errors":[{"code":"TAG_INVALID","message":"The image tag 'production' already exists in the 'app' repository and cannot be overwritten because the repository is immutable."}]}"#.utf8),
        url: r.url)
    }
    await #expect {
      try await c.putManifest("app", "production", manifest)
    } throws: { error in
      guard case RegistryError.tagImmutable(_, _, let tag, _) = error else { return false }
      return tag == "production" && "\(error)".contains("immutable tags") && "\(error)".contains("allow tag mutability")
    }
  }

  @Test func bearerChallengeAsksForPushScopeFirstAndCachesTheToken() async throws {
    let (c, t) = client { r in
      switch (r.url.host, r.url.path) {
      case ("auth.example", _):
        return Response(status: 200, body: Data(#"{"token":"T1","expires_in":300}"#.utf8), url: r.url)
      case (_, "/v2/"):
        return Response(status: 401, headers: ["WWW-Authenticate": #"Bearer realm="https://auth.example/token",service="ecr""#], url: r.url)
      default:
        if r.headers["Authorization"] == "Bearer T1" { return Response(status: 201, url: r.url) }
        return Response(status: 401, headers: ["WWW-Authenticate": #"Bearer realm="https://auth.example/token",service="ecr",scope="repository:app:push,pull""#], url: r.url)
      }
    }
    try await c.putManifest("app", "a", manifest)
    try await c.putManifest("app", "b", manifest)
    let tokenRequests = t.requests.filter { $0.url.host == "auth.example" }
    #expect(tokenRequests.count == 1)
    #expect(tokenRequests[0].url.query?.contains("scope=repository:app:push,pull") == true)
    #expect(tokenRequests[0].headers["Authorization"]?.hasPrefix("Basic ") == true)
  }

  @Test func theFirstRequestIsTheProbeAndConcurrentRequestsShareOneToken() async throws {
    let (c, t) = client { r in
      if r.url.host == "auth.example" { return Response(status: 200, body: Data(#"{"token":"T1","expires_in":300}"#.utf8), url: r.url) }
      if r.headers["Authorization"] == "Bearer T1" { return Response(status: 404, url: r.url) }
      return Response(status: 401, headers: ["WWW-Authenticate": #"Bearer realm="https://auth.example/token",service="ecr""#], url: r.url)
    }
    t.delay = .milliseconds(20)
    let found = try await boundedMap(Array(0..<6), concurrency: 6) { try await c.resolve("app", "t\($0)") }
    #expect(found.allSatisfy { $0 == nil })
    #expect(!t.requests.contains { $0.url.path == "/v2/" })
    // One token for the scope, however many first requests met the 401 at once.
    #expect(t.requests.filter { $0.url.host == "auth.example" }.count == 1)
    #expect(t.requests.filter { $0.headers["Authorization"] == "Bearer T1" }.count == 6)
    // Once it is known, a new request carries it from the start.
    #expect(try await c.resolve("app", "later") == nil)
    #expect(t.requests.last?.headers["Authorization"] == "Bearer T1")
    #expect(t.requests.filter { $0.url.path.hasSuffix("/later") }.count == 1)
  }

  @Test func concurrentFirstRequestsToABasicRegistryAllGetIn() async throws {
    let (c, t) = client { r in
      if r.headers["Authorization"] == Credentials(username: "AWS", password: "p").basicHeader { return Response(status: 404, url: r.url) }
      return Response(status: 401, headers: ["WWW-Authenticate": #"Basic realm="registry""#], url: r.url)
    }
    t.delay = .milliseconds(20)
    let found = try await boundedMap(Array(0..<8), concurrency: 8) { try await c.resolve("app", "t\($0)") }
    #expect(found.allSatisfy { $0 == nil })
    #expect(t.requests.filter { $0.headers["Authorization"] != nil }.count == 8)
  }

  @Test func aRegistryThatIsUnreachableIsNamedWithTheFix() async throws {
    struct Refusing: Transport {
      func perform(_ request: Request) async throws -> Response {
        throw HTTPError.transport(url: request.url.absoluteString, code: 7, message: "Failed to connect", bytesDelivered: 0)
      }
    }
    let c = RegistryClient(registry: "registry.example:5000", http: HTTPClient(transport: Refusing(), retry: .none), options: RegistryOptions())
    await #expect {
      _ = try await c.manifest("app", "v1")
    } throws: { error in
      guard case RegistryError.unreachable(let registry, let why) = error else { return false }
      return registry == "registry.example:5000" && why.contains("Failed to connect") && why.contains("insecure-registries")
    }
  }

  @Test func resolveFallsBackToGETWhenHEADHasNoDigest() async throws {
    let body = manifest.bytes
    let (c, t) = client { r in
      if r.url.path == "/v2/" { return Response(status: 200, url: r.url) }
      if r.method == "HEAD" { return Response(status: 200, headers: ["Content-Type": MediaType.ociManifest], url: r.url) }
      return Response(status: 200, headers: ["Content-Type": MediaType.ociManifest], body: body, url: r.url)
    }
    let d = try await c.resolve("app", "1.0")
    #expect(d?.digest == manifest.digest)
    #expect(d?.size == Int64(body.count))
    // No `GET /v2/` first: the HEAD itself found the registry.
    #expect(t.requests.map(\.method) == ["HEAD", "GET"])
    #expect(t.requests.last?.headers["Accept"] == MediaType.manifestAccept)
  }

  @Test func statusesAreToldApart() async throws {
    for (status, check) in [(403, "forbidden"), (429, "rate limited"), (500, "failed with HTTP 500")] {
      let (c, _) = client { r in
        r.url.path == "/v2/" ? Response(status: 200, url: r.url) : Response(status: status, body: Data(#"{"errors":[{"code":"DENIED","message":"no"}]}"#.utf8), url: r.url)
      }
      await #expect { _ = try await c.manifest("app", "1") } throws: { "\($0)".contains(check) && "\($0)".contains("DENIED: no") }
    }
  }

  @Test func referrersAPIIsUsedWhereItExistsAndAbsenceIsNil() async throws {
    let digest = manifest.digest
    let index = Data(
      #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(digest)","size":2,"artifactType":"application/vnd.dev.cosign.artifact.sig.v1+json"}]}"#
        .utf8)
    let (withAPI, t) = client { r in
      r.url.path == "/v2/" ? Response(status: 200, url: r.url) : Response(status: 200, headers: ["Content-Type": MediaType.ociIndex], body: index, url: r.url)
    }
    let listed = try await withAPI.referrers("app", digest)
    #expect(listed?.map(\.artifactType) == [Cosign.signatureArtifactType])
    #expect(t.requests.last?.url.path == "/v2/app/referrers/\(digest)")
    #expect(t.requests.last?.headers["Accept"] == MediaType.ociIndex)

    // docker-registry 2.8 and Docker Hub: 404, or a page that is not an index.
    for (status, type) in [(404, "text/plain"), (200, "text/html")] {
      let (without, _) = client { r in
        r.url.path == "/v2/" ? Response(status: 200, url: r.url) : Response(status: status, headers: ["Content-Type": type], body: Data("404 page not found".utf8), url: r.url)
      }
      #expect(try await without.referrers("app", digest) == nil)
    }
  }

  /// The tag list stands in for one-by-one lookups only when it is complete: a paged list or a
  /// refusal gives nil, and the caller asks for each tag instead.
  @Test func aTagListCountsOnlyWhenOnePageHoldsItAll() async throws {
    let (complete, t) = client { r in Response(status: 200, body: Data(#"{"name":"app","tags":["v1","sha256-abc.sig"]}"#.utf8), url: r.url) }
    #expect(await complete.allTagsInOnePage("app") == ["v1", "sha256-abc.sig"])
    #expect(t.requests.last?.url.query == "n=1000")
    let (paged, _) = client { r in
      var headers: Headers = [:]
      headers.add("Link", "</v2/app/tags/list?n=2&last=b>; rel=\"next\"")
      return Response(status: 200, headers: headers, body: Data(#"{"name":"app","tags":["a","b"]}"#.utf8), url: r.url)
    }
    #expect(await paged.allTagsInOnePage("app", pageSize: 2) == nil)
    let (full, _) = client { r in Response(status: 200, body: Data(#"{"name":"app","tags":["a","b"]}"#.utf8), url: r.url) }
    #expect(await full.allTagsInOnePage("app", pageSize: 2) == nil)  // a full page may have a next one
    let (refusing, _) = client { r in Response(status: 403, body: Data(#"{"errors":[{"code":"DENIED"}]}"#.utf8), url: r.url) }
    #expect(await refusing.allTagsInOnePage("app") == nil)
  }

  @Test func referrerListsArePagedThroughLinkHeaders() async throws {
    let subject = manifest.digest
    @Sendable func page(_ n: Int) -> Data {
      let d = Digest.sha256(Data("referrer \(n)".utf8))
      return Data(
        #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(d)","size":2,"artifactType":"application/spdx+json"}]}"#
          .utf8)
    }
    let (c, t) = client { r in
      let n = r.url.query?.contains("last=1") == true ? 2 : 1
      var headers: Headers = ["Content-Type": MediaType.ociIndex]
      if n == 1 { headers.add("Link", "</v2/app/referrers/\(subject)?n=1&last=1>; rel=\"next\"") }
      return Response(status: 200, headers: headers, body: page(n), url: r.url)
    }
    let listed = try await c.referrers("app", subject)
    #expect(listed?.count == 2)
    #expect(listed?.map(\.digest) == [Digest.sha256(Data("referrer 1".utf8)), Digest.sha256(Data("referrer 2".utf8))])
    #expect(t.requests.count == 2)
  }

  @Test func attachmentsComeFromTheReferrersAPIWhereTheRegistryHasIt() async throws {
    let subject = Digest.sha256(Data("image".utf8))
    let referrer = manifest
    let history = Digest.sha256(Data("history".utf8))
    let index = Data(
      #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(referrer.digest)","size":\#(referrer.bytes.count),"artifactType":"application/vnd.dev.cosign.artifact.sig.v1+json"},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(history)","size":2,"artifactType":"\#(PromotionRecord.artifactType)"}]}"#
        .utf8)
    let body = referrer.bytes
    let (c, t) = client { r in
      switch r.url.path {
      case "/v2/": return Response(status: 200, url: r.url)
      case "/v2/app/referrers/\(subject)": return Response(status: 200, headers: ["Content-Type": MediaType.ociIndex], body: index, url: r.url)
      case "/v2/app/manifests/\(referrer.digest)": return Response(status: 200, headers: ["Content-Type": MediaType.ociManifest], body: body, url: r.url)
      default: return Response(status: 404, body: Data(#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#.utf8), url: r.url)
      }
    }
    let found = try await AttachmentFinder(client: c, repository: "app").find(for: [subject])
    #expect(found.map(\.kind) == [.referrer])
    #expect(found.first?.descriptor.artifactType == Cosign.signatureArtifactType)
    #expect(found.first?.manifest.digest == referrer.digest)
    // Gantry's own history records are not carried, and never fetched.
    #expect(!t.requests.contains { $0.url.path.hasSuffix(history.description) })
  }
}
