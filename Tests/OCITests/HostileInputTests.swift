import Foundation
import HTTP
import Testing

@testable import OCI

/// Hosts that make no URL, and sizes that overflow when added, are clean errors, never traps.
@Suite struct HostileInputTests {
  @Test(arguments: [
    "127.0.0.1:1x5/app", "a%b.io/app", "a b.io/app", "a\u{1B}.io/app", "a\u{0}.io/app", "host.io:0/app", "host.io:65536/app", "host.io:/app", "-a.io/app", "a..io/app", "[::1/app", "[zz::1]:5000/app",
    "x.io:99999999999999999999/app",
  ])
  func invalidRegistryHostsAreRefused(_ text: String) {
    #expect(throws: ReferenceError.self) { try Reference(parsing: text) }
  }

  @Test(arguments: [
    "127.0.0.1:5000/app", "localhost:5000/a/b:1", "ghcr.io/acme/app@sha256:" + String(repeating: "a", count: 64), "[::1]:5000/app", "[::1]/app", "Registry.Example.COM/app", "a-b.io:65535/app",
  ])
  func validRegistryHostsAreAccepted(_ text: String) throws {
    let r = try Reference(parsing: text)
    #expect(Reference.isValidHost(r.registry))
  }

  /// Found by scripts/fuzz: `StringDic/ic` named registry `stringdic`, whose printed form
  /// `stringdic/ic` reads as Docker Hub's `stringdic/ic`.
  @Test func aCapitalisedSingleLabelRegistryPrintsAsItself() throws {
    let r = try Reference(parsing: "StringDic/ic:1")
    #expect(r.registry == "StringDic")
    #expect(try Reference(parsing: r.description) == r)
    #expect(try Reference(parsing: "GHCR.IO/acme/app").registry == "ghcr.io")
  }

  @Test func sizesNear2To63AreSummedWithoutTrapping() throws {
    let d = Digest.sha256(Data("x".utf8))
    let big = Descriptor(mediaType: "a", digest: d, size: Int64.max - 1)
    #expect(Descriptor.totalSize([big, big]) == nil)
    #expect(Descriptor.totalSize([Descriptor(mediaType: "a", digest: d, size: -1)]) == nil)
    #expect(Descriptor.totalSize([Descriptor(mediaType: "a", digest: d, size: 2), Descriptor(mediaType: "a", digest: d, size: 3)]) == 5)
    #expect(Int64.max.addingSaturating(1) == .max)
    #expect(Int64.min.addingSaturating(-1) == .min)
  }

  func client(_ answer: @escaping @Sendable (Request) -> Response) -> RegistryClient {
    RegistryClient(
      registry: "registry.example", http: HTTPClient(transport: ScriptedTransport(answer), retry: .none),
      options: RegistryOptions(credentials: Credentials(username: "u", password: "p")))
  }

  @Test(arguments: ["-9223372036854775808", "9223372036854775807", "0"])
  func tokenLifetimesAtTheEdgesAreClamped(_ expiresIn: String) async throws {
    let c = client { r in
      if r.url.host == "auth.example" { return Response(status: 200, body: Data(#"{"token":"T","expires_in":\#(expiresIn)}"#.utf8), url: r.url) }
      if r.headers["Authorization"] == "Bearer T" { return Response(status: 404, url: r.url) }
      return Response(status: 401, headers: ["WWW-Authenticate": #"Bearer realm="https://auth.example/token",service="x""#], url: r.url)
    }
    #expect(try await c.resolve("app", "1") == nil)
  }

  @Test func aRealmOrALinkThatIsNoURLIsAnInvalidAnswer() async throws {
    let badRealm = client { r in
      Response(status: 401, headers: ["WWW-Authenticate": "Bearer realm=\"ht tp://a b\u{1B}\",service=\"x\""], url: r.url)
    }
    await #expect(throws: RegistryError.self) { try await badRealm.resolve("app", "1") }
    let badLink = client { r in
      Response(
        status: 200, headers: ["Content-Type": "application/json", "Link": "<http://[zz/v2/app/tags/list?last=a b>; rel=\"next\""],
        body: Data(#"{"tags":["a"]}"#.utf8), url: r.url)
    }
    // Either refused as an invalid answer or read as far as it goes: never a trap.
    _ = try? await badLink.tags("app")
  }
}
