import Foundation
import HTTP
import Testing

@testable import OCI

@Suite struct ReferenceTests {
  @Test(arguments: [
    ("nginx", "docker.io", "library/nginx", nil as String?),
    ("nginx:1.25", "docker.io", "library/nginx", "1.25"),
    ("acme/app:v1", "docker.io", "acme/app", "v1"),
    ("ghcr.io/acme/app", "ghcr.io", "acme/app", nil),
    ("localhost:5000/app:dev-7d2a1b4", "localhost:5000", "app", "dev-7d2a1b4"),
    ("localhost/app", "localhost", "app", nil),
    ("127.0.0.1:5000/team/app:1.2.3", "127.0.0.1:5000", "team/app", "1.2.3"),
    ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1.0", "123456789012.dkr.ecr.eu-west-1.amazonaws.com", "app", "1.0"),
    ("public.ecr.aws/acme/app:1.2.0-SNAPSHOT-7d2a1b", "public.ecr.aws", "acme/app", "1.2.0-SNAPSHOT-7d2a1b"),
    ("index.docker.io/library/alpine", "docker.io", "library/alpine", nil),
    ("a/b__c/d-e.f", "docker.io", "a/b__c/d-e.f", nil),
  ])
  func parses(_ text: String, _ registry: String, _ repository: String, _ tag: String?) throws {
    let r = try Reference(parsing: text)
    #expect(r.registry == registry)
    #expect(r.repository == repository)
    #expect(r.tag == tag)
  }

  @Test func digestsParseAndWin() throws {
    let hex = String(repeating: "ab", count: 32)
    let r = try Reference(parsing: "ghcr.io/acme/app:1.0@sha256:\(hex)")
    #expect(r.digest?.hex == hex)
    #expect(r.identifier == "sha256:\(hex)")
    #expect(r.description == "ghcr.io/acme/app:1.0@sha256:\(hex)")
  }

  @Test(arguments: ["", "acme/UPPER", "acme/app:", "acme/app:-bad", "acme//app", "acme/app@sha256:short", "acme/app@md5:abc", "acme/-app", "acme/app_"])
  func rejects(_ text: String) {
    #expect(throws: ReferenceError.self) { try Reference(parsing: text) }
  }

  /// A URL pasted for a reference: before, "registry 'https:' is not host[:port]".
  @Test func aSchemeIsNamedAsWhatToDrop() {
    #expect(
      throws: ReferenceError(text: "https://ghcr.io/acme/app:1", reason: "an image reference has no scheme: drop 'https://' (e.g. ghcr.io/acme/app:1.2.0)")
    ) { try Reference(parsing: "https://ghcr.io/acme/app:1") }
    #expect(throws: ReferenceError.self) { try Reference(parsing: "docker://acme/app") }
  }

  @Test func digestRejectsOtherAlgorithmsClearly() {
    #expect(throws: ReferenceError(text: "sha512:abc", reason: "digest algorithm 'sha512' is not supported; only sha256")) {
      try Digest(parsing: "sha512:abc")
    }
  }

  @Test func digestOfBytes() {
    #expect(Digest.sha256(Data("hello".utf8)).hex == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
  }

  @Test func schema1IsRefused() {
    let body = Data(#"{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}"#.utf8)
    #expect(throws: ManifestError.schema1) { try RawManifest(bytes: body, mediaType: MediaType.dockerSchema1Signed) }
  }

  /// A registry chooses a manifest's media type: one of 100 KB was quoted whole in the error.
  @Test func anUnsupportedMediaTypeIsQuotedCut() throws {
    let body = Data(#"{"schemaVersion":2,"mediaType":"x/\#(String(repeating: "y", count: 100_000))"}"#.utf8)
    let error = #expect(throws: ManifestError.self) { try RawManifest(bytes: body, mediaType: nil) }
    #expect(error?.description.hasPrefix("unsupported manifest media type 'x/yyy") == true)
    #expect((error?.description.utf8.count ?? 0) < 1000, "\(error?.description.utf8.count ?? 0) bytes")
  }

  @Test func manifestsKeepTheirBytes() throws {
    let body = Data(#"{"schemaVersion":2,   "mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#.utf8)
    let m = try RawManifest(bytes: body, mediaType: nil)
    #expect(m.bytes == body)
    #expect(m.isIndex)
    #expect(m.digest == Digest.sha256(body))
  }

  @Test func challengesParse() {
    let c = AuthChallenge.parse(#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#)
    #expect(c?.scheme == "bearer")
    #expect(c?.realm == "https://auth.example/token")
    #expect(c?.service == "registry.example")
    #expect(c?.parameters["scope"] == "repository:a/b:pull,push")
    #expect(AuthChallenge.parse(#"Basic realm="Registry Realm""#)?.scheme == "basic")
  }

  @Test func linkHeaders() {
    #expect(LinkHeader.next(#"</v2/app/tags/list?last=b&n=2>; rel="next""#) == "/v2/app/tags/list?last=b&n=2")
    #expect(LinkHeader.next(nil) == nil)
    // Several links in one header: only rel="next" counts (GitHub sends prev, next, last, first).
    #expect(LinkHeader.next(#"<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=3>; rel="next""#) == "https://api.github.com/x?page=3")
  }

  @Test func dockerConfigCredentials() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dc-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let auth = Data("user:p:ss".utf8).base64EncodedString()
    try #"{"auths":{"ghcr.io":{"auth":"\#(auth)"},"https://index.docker.io/v1/":{"identitytoken":"tok"},"quay.io":{"username":"q","password":"pw"},"x.io":{"auth":7}}}"#.write(
      to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
    #expect(Credentials.fromDockerConfig(directory: dir.path, registry: "ghcr.io") == Credentials(username: "user", password: "p:ss"))
    #expect(Credentials.fromDockerConfig(directory: dir.path, registry: "docker.io")?.identityToken == "tok")
    // Plain username/password entries (podman, some credential helpers write these).
    #expect(Credentials.fromDockerConfig(directory: dir.path, registry: "quay.io") == Credentials(username: "q", password: "pw"))
    #expect(Credentials.fromDockerConfig(directory: dir.path, registry: "x.io") == nil)
    #expect(Credentials.fromDockerConfig(directory: dir.path, registry: "example.com") == nil)
    // Keys as docker's ConvertToHostname reads them: scheme, user and path dropped; the port kept.
    #expect(Credentials.hostname(ofKey: "https://Ghcr.io/v1/") == "ghcr.io")
    #expect(Credentials.hostname(ofKey: "http://u@registry.internal:5000/v2/x") == "registry.internal:5000")
    #expect(Credentials.hostname(ofKey: "ghcr.io:443") == "ghcr.io:443")
    #expect(Credentials.hostname(ofKey: "ghcr.io/acme") == "ghcr.io")
  }
}
