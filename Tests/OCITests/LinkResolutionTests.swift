import Foundation
import HTTP
import TestSupport
import Testing

@testable import OCI

/// A `Link` to the next page is a URI reference relative to the page that names it
/// ([RFC 8288 §3.2](https://www.rfc-editor.org/rfc/rfc8288#section-3.2)); registries write
/// absolute paths, but a query alone (`<?last=a>`) is the same listing's next page.
@Suite("Next-page links resolve against the page", .serialized)
struct LinkResolutionTests {
  @Test(arguments: ["?last=a&n=1000", "list?last=a&n=1000", "/v2/app/tags/list?last=a&n=1000"])
  func aRelativeNextPageIsTheSameListingsNextPage(_ link: String) async throws {
    let server = try await HostileServer()
    defer { server.stop() }
    try await server.script([
      .init("GET", "/v2/app/tags/list", headers: ["Link": "<\(link)>; rel=\"next\""], body: Data(#"{"name":"app","tags":["a"]}"#.utf8), times: 1),
      .init("GET", "/v2/app/tags/list", body: Data(#"{"name":"app","tags":["b"]}"#.utf8)),
    ])
    let tags = try await testRegistryClient("127.0.0.1:\(server.port)", side: "source").tags("app")
    #expect(tags.sorted() == ["a", "b"])
    let paths = try await server.received().filter { $0.method == "GET" && $0.path.contains("tags") }.map(\.path)
    #expect(paths.last == "/v2/app/tags/list?last=a&n=1000", "\(paths)")
  }
}
