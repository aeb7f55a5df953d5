import Foundation
import HTTP
import TestSupport
import Testing

@testable import OCI

/// Registries, token services and object stores that play hostile, on real sockets on
/// 127.0.0.1 (`registry.test` and `evil.test` pinned there, so they count as the non-loopback
/// hosts they stand for), each recording what it received.
@Suite("Hostile registries: credentials stay with the registry's origin", .serialized)
struct HostileRegistryTests {
  let certs: TestCertificates

  init() async throws {
    certs = try await TestCertificates.shared()
  }

  static let basicOnce = HostileServer.Rule(nil, "/v2/", status: 401, headers: ["WWW-Authenticate": #"Basic realm="r""#], times: 1)
  static let credentials = Credentials(username: "user", password: "pa55word")

  func client(
    _ registry: HostileServer, others: [HostileServer] = [], credentials: Credentials? = credentials, insecure: Bool = false,
    onSecret: (@Sendable (String) -> Void)? = nil
  ) -> RegistryClient {
    var config = TransportConfiguration()
    config.caFile = certs.caCert
    config.resolve = ["registry.test:\(registry.port):127.0.0.1"] + others.map { "evil.test:\($0.port):127.0.0.1" }
    var options = RegistryOptions(credentials: credentials, insecure: insecure, side: "source")
    options.onSecret = onSecret
    return RegistryClient(registry: "registry.test:\(registry.port)", http: HTTPClient(transport: CurlTransport(configuration: config), retry: .none), options: options)
  }

  /// A `Link` next page on another host, or on plain http at the registry's own host and
  /// port, is not followed: the registry's credentials would go with it.
  @Test(arguments: ["other-host", "plain-http"])
  func aNextPageOnAnotherOriginIsRefused(_ kind: String) async throws {
    let registry = try await HostileServer(tls: certs, dual: true)
    let evil = try await HostileServer(tls: certs)
    defer {
      registry.stop()
      evil.stop()
    }
    let next = kind == "other-host" ? evil.url("/v2/app/tags/list?last=a", host: "evil.test") : registry.url("/v2/app/tags/list?last=a", host: "registry.test", scheme: "http")
    try await registry.script([
      Self.basicOnce, .init("GET", "/v2/app/tags/list", body: Data(#"{"name":"app","tags":["a"]}"#.utf8), headers_: ["Link": "<\(next)>; rel=\"next\""]),
    ])
    try await evil.script([.init(nil, "/", body: Data(#"{"tags":["b"]}"#.utf8))])
    await #expect {
      _ = try await client(registry, others: [evil]).tags("app")
    } throws: { error in
      "\(error)".contains("another origin")
    }
    #expect(try await evil.received().isEmpty)
    let got = try await registry.received()
    #expect(got.allSatisfy { $0.scheme == "https" })
    #expect(got.last?.headers["authorization"] != nil)
  }

  /// An upload `Location` on another origin gets the blob without `Authorization`; one on
  /// plain http (a downgrade) is refused before anything is sent.
  @Test func anUploadLocationOnAnotherHostGetsNoCredentials() async throws {
    let registry = try await HostileServer(tls: certs)
    let evil = try await HostileServer(tls: certs)
    defer {
      registry.stop()
      evil.stop()
    }
    try await registry.script([
      Self.basicOnce, .init("HEAD", "/v2/app/blobs/", status: 404),
      .init("POST", "/v2/app/blobs/uploads/", status: 202, headers: ["Location": evil.url("/upload/1?_state=S3CRET", host: "evil.test")]),
    ])
    try await evil.script([.init("PUT", "/upload/1", status: 201)])
    try await client(registry, others: [evil]).pushBlob("app", Data("config".utf8))
    let put = try #require(try await evil.received().first)
    #expect(put.method == "PUT")
    #expect(put.headers["authorization"] == nil)
    #expect(put.bodyComplete)
    #expect(try await registry.received().last?.headers["authorization"] != nil)
  }

  /// A `Location` that carries a `digest` of its own: before, Gantry's was appended after it,
  /// and a Go registry (`FormValue`) reads the first. Now the PUT names one digest, Gantry's.
  @Test func anUploadLocationCannotChooseTheDigestThePutNames() async throws {
    let registry = try await HostileServer(tls: certs)
    defer { registry.stop() }
    let other = "sha256:" + String(repeating: "0", count: 64)
    try await registry.script([
      Self.basicOnce, .init("HEAD", "/v2/app/blobs/", status: 404),
      .init("POST", "/v2/app/blobs/uploads/", status: 202, headers: ["Location": "/v2/app/blobs/uploads/1?digest=\(other)&_state=S&digest=\(other)"]),
      .init("PUT", "/v2/app/blobs/uploads/1", status: 201),
    ])
    let data = Data("config".utf8)
    try await client(registry).pushBlob("app", data)
    let put = try #require(try await registry.received().last)
    let query = try #require(URLComponents(string: put.path)?.queryItems)
    #expect(query.filter { $0.name == "digest" }.map(\.value) == [Digest.sha256(data).description], "\(put.path)")
    #expect(query.contains { $0.name == "_state" && $0.value == "S" })
  }

  /// A PUT answered 201 with a `Docker-Content-Digest` other than the blob's: the registry
  /// says it stored other bytes. Before, the upload counted as done.
  @Test func anUploadTheRegistryStoredUnderAnotherDigestFails() async throws {
    let registry = try await HostileServer(tls: certs)
    defer { registry.stop() }
    let other = "sha256:" + String(repeating: "0", count: 64)
    try await registry.script([
      Self.basicOnce, .init("HEAD", "/v2/app/blobs/", status: 404),
      .init("POST", "/v2/app/blobs/uploads/", status: 202, headers: ["Location": "/v2/app/blobs/uploads/1"]),
      .init("PUT", "/v2/app/blobs/uploads/1", status: 201, headers: ["Docker-Content-Digest": other]),
    ])
    await #expect {
      try await client(registry).pushBlob("app", Data("config".utf8))
    } throws: { error in
      guard case RegistryError.digestMismatch(_, let got, _) = error else { return false }
      return got == other
    }
  }

  /// An upload started without a `Location`, or with one far over any header's size: one
  /// error, nothing sent after it.
  @Test(arguments: [nil, 200_000])
  func anUploadWithoutAUsableLocationFails(_ size: Int?) async throws {
    let registry = try await HostileServer(tls: certs)
    defer { registry.stop() }
    let headers = size.map { ["Location": "/v2/app/blobs/uploads/" + String(repeating: "a", count: $0)] } ?? [:]
    try await registry.script([
      Self.basicOnce, .init("HEAD", "/v2/app/blobs/", status: 404), .init("POST", "/v2/app/blobs/uploads/", status: 202, headers: headers),
    ])
    await #expect(throws: RegistryError.self) { try await client(registry).pushBlob("app", Data("config".utf8)) }
    #expect(try await registry.received().allSatisfy { $0.method != "PUT" })
  }

  /// A source's manifest whose `mediaType` holds a line break: the copy puts it with that
  /// media type as its `Content-Type`, which must not become a second header line at the
  /// target (before: `X-Injected: yes` arrived as a header of its own).
  @Test func aMediaTypeWithALineBreakInjectsNoHeader() async throws {
    let registry = try await HostileServer(tls: certs)
    defer { registry.stop() }
    try await registry.script([.init("PUT", "/v2/app/manifests/", status: 201)])
    let descriptor = #"{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:\#(String(repeating: "a", count: 64))","size":2}"#
    let bytes = Data(#"{"schemaVersion":2,"mediaType":"x/y\r\nX-Injected: yes","config":\#(descriptor),"layers":[]}"#.utf8)
    // Refused where it is read now; the HTTP layer refuses the header too (below, built by hand).
    #expect(throws: ManifestError.undecodable("mediaType holds control characters")) { try RawManifest(bytes: bytes, mediaType: nil) }
    let request = Request(method: "PUT", url: try #require(URL(string: registry.url("/v2/app/manifests/1.0"))), headers: ["Content-Type": "x/y\r\nX-Injected: yes"], body: .data(bytes))
    var config = TransportConfiguration()
    config.caFile = certs.caCert
    await #expect {
      _ = try await CurlTransport(configuration: config).perform(request)
    } throws: { error in
      "\(error)".contains("line break")
    }
    let received = try await registry.received()
    #expect(received.allSatisfy { $0.headers["x-injected"] == nil }, "\(received.map(\.headers))")
    #expect(received.allSatisfy { $0.method != "PUT" })
  }

  @Test func anUploadLocationOnPlainHTTPIsRefused() async throws {
    let registry = try await HostileServer(tls: certs, dual: true)
    defer { registry.stop() }
    try await registry.script([
      Self.basicOnce, .init("HEAD", "/v2/app/blobs/", status: 404),
      .init("POST", "/v2/app/blobs/uploads/", status: 202, headers: ["Location": registry.url("/upload/1", host: "registry.test", scheme: "http")]),
      .init("PUT", "/upload/1", status: 201),
    ])
    await #expect {
      try await client(registry).pushBlob("app", Data("config".utf8))
    } throws: { error in
      "\(error)".contains("plain http")
    }
    #expect(try await registry.received().allSatisfy { $0.scheme == "https" && $0.method != "PUT" })
  }

  /// A Bearer realm on plain http for an https registry gets no user:password — unless the
  /// user listed the registry as insecure (the control: the same server then does get it).
  @Test(arguments: [false, true])
  func aPlainHTTPRealmGetsNoPasswordUnlessInsecure(insecure: Bool) async throws {
    let registry = try await HostileServer(tls: certs)
    let realm = try await HostileServer()
    defer {
      registry.stop()
      realm.stop()
    }
    try await registry.script([
      .init("GET", "/v2/app/manifests/", status: 401, headers: ["WWW-Authenticate": #"Bearer realm="\#(realm.url("/token", host: "evil.test"))",service="s""#])
    ])
    try await realm.script([.init("GET", "/token", body: Data(#"{"token":"t"}"#.utf8))])
    let c = client(registry, others: [realm], insecure: insecure)
    await #expect(throws: RegistryError.self) { _ = try await c.manifest("app", "latest") }
    let asked = try await realm.received()
    if insecure {
      #expect(asked.first?.headers["authorization"] == Self.credentials.basicHeader)
    } else {
      #expect(asked.isEmpty)
    }
  }

  /// A token service answering 307 does not get the refresh token sent on to another host.
  @Test func aTokenServiceRedirectDoesNotCarryTheRefreshTokenAway() async throws {
    let registry = try await HostileServer(tls: certs)
    let evil = try await HostileServer(tls: certs)
    defer {
      registry.stop()
      evil.stop()
    }
    try await registry.script([
      .init("GET", "/v2/app/manifests/", status: 401, headers: ["WWW-Authenticate": #"Bearer realm="\#(registry.url("/token", host: "registry.test"))",service="s""#]),
      .init("POST", "/token", status: 307, headers: ["Location": evil.url("/token", host: "evil.test")]),
    ])
    try await evil.script([.init(nil, "/token", body: Data(#"{"token":"t"}"#.utf8))])
    let c = client(registry, others: [evil], credentials: Credentials(username: "<token>", password: "", identityToken: "RT-SECRET"))
    await #expect(throws: RegistryError.self) { _ = try await c.manifest("app", "latest") }
    #expect(try await evil.received().isEmpty)
    #expect(try await registry.received().contains { $0.path == "/token" && $0.body.contains("RT-SECRET") })
  }

  /// Every token obtained is handed to the masking callback before use.
  @Test func everyTokenIsMasked() async throws {
    let registry = try await HostileServer(tls: certs)
    defer { registry.stop() }
    let manifest =
      #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#
    try await registry.script([
      .init(
        "GET", "/v2/app/manifests/", status: 401, headers: ["WWW-Authenticate": #"Bearer realm="\#(registry.url("/token", host: "registry.test"))",service="s""#],
        times: 1),
      .init("GET", "/token", body: Data(#"{"token":"TOK-8c1f","expires_in":300}"#.utf8)),
      .init("GET", "/v2/app/manifests/", headers: ["Content-Type": "application/vnd.oci.image.manifest.v1+json"], body: Data(manifest.utf8)),
    ])
    let masked = Locked<[String]>([])
    let c = client(registry, onSecret: { s in masked.withLock { $0.append(s) } })
    _ = try await c.manifest("app", "latest")
    #expect(masked.withLock { $0 } == ["TOK-8c1f"])
    #expect(try await registry.received().last?.headers["authorization"] == "Bearer TOK-8c1f")
  }

  /// A blob redirect from https to plain http on the registry's own host and port is refused.
  @Test func aBlobRedirectToPlainHTTPIsRefused() async throws {
    let registry = try await HostileServer(tls: certs, dual: true)
    defer { registry.stop() }
    try await registry.script([
      Self.basicOnce, .init("GET", "/v2/app/blobs/", status: 307, headers: ["Location": registry.url("/blobdata", host: "registry.test", scheme: "http")]),
      .init("GET", "/blobdata", body: Data("x".utf8)),
    ])
    await #expect(throws: RegistryError.self) { _ = try await client(registry).blob("app", Digest.sha256(Data("x".utf8))) }
    #expect(try await registry.received().allSatisfy { $0.scheme == "https" })
  }
}

extension HostileServer.Rule {
  /// A rule answering with headers and a body (argument order for readability).
  init(_ method: String?, _ path: String, body: Data, headers_ headers: [String: String]) {
    self.init(method, path, headers: headers, body: body)
  }
}

/// A lock around a value, for tests' callbacks.
final class Locked<Value>: @unchecked Sendable {
  private var value: Value
  private let lock = NSLock()
  init(_ value: Value) { self.value = value }
  func withLock<T>(_ body: (inout Value) -> T) -> T { lock.withLock { body(&value) } }
}
