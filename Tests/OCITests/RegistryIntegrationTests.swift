import Foundation
import OCI
import Synchronization
import TestSupport
import Testing

@Suite("Registry client against real docker-registry processes", .serialized)
struct RegistryIntegrationTests {
  @Test func pushResolveAndCopyAMultiArchIndexAcrossRegistries() async throws {
    let a = try await RegistryProcess()
    let b = try await RegistryProcess()
    let src = testRegistryClient(a.host, side: "source")
    let dst = testRegistryClient(b.host)
    let (index, images) = try await ImageFactory(client: src, repository: "staging/app").pushIndex(
      tag: "1.0.0", platforms: [Platform(os: "linux", architecture: "amd64"), Platform(os: "linux", architecture: "arm64", variant: "v8")], layerSizes: [3000, 70_000])
    let resolved = try await src.resolve("staging/app", "1.0.0")
    #expect(resolved?.digest == index.digest)

    let root = try await src.manifest("staging/app", "1.0.0")
    #expect(root.bytes == index.bytes)
    let graph = try await ImageGraph.load(from: src, repository: "staging/app", root: root)
    #expect(graph.children.map(\.digest) == images.map(\.digest))
    let report = try await Copier(source: src, sourceRepository: "staging/app", target: dst, targetRepository: "prod/app").copy(graph)
    #expect(report.blobsCopied == 6)
    #expect(report.manifestsPushed == 3)
    let copied = try await dst.manifest("prod/app", index.digest.description)
    #expect(copied.bytes == index.bytes)

    // A second copy finds everything present.
    let again = try await Copier(source: src, sourceRepository: "staging/app", target: dst, targetRepository: "prod/app").copy(graph)
    #expect(again.blobsSkipped == 6)
    #expect(again.bytesCopied == 0)

    if let skopeo = which("skopeo") {
      let r = try await awaitCommand(skopeo, ["inspect", "--raw", "--tls-verify=false", "docker://\(b.host)/prod/app@\(index.digest)"])
      #expect(r.status == 0, "\(r.stderr)")
      #expect(Data(r.stdout.utf8) == index.bytes)
    }
  }

  /// A port can be taken between the check and the registry's bind (CI saw it once): the
  /// registry exits at once, and the support code tries a fresh port instead of failing the
  /// suite that asked for a registry.
  @Test func aRegistryWhosePortIsTakenStartsOnAnother() async throws {
    let squatter = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(squatter) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(squatter, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    #expect(bound == 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(squatter, $0, &length) } }
    let taken = Int(UInt16(bigEndian: addr.sin_port))
    let handedOut = Mutex<[Int]>([])
    let reg = try await RegistryProcess(ports: {
      let port = handedOut.withLock { $0.isEmpty } ? taken : try freePort()
      handedOut.withLock { $0.append(port) }
      return port
    })
    #expect(handedOut.withLock { $0 }.first == taken)
    #expect(reg.port != taken)
    #expect(try await testRegistryClient(reg.host).resolve("none/here", "1") == nil)

    // Every attempt refused: the error names the registry's own last words.
    let error = await #expect(throws: TestSupportError.self) { _ = try await RegistryProcess(ports: { taken }) }
    #expect("\(error.map { "\($0)" } ?? "")".contains("address already in use"), "\(String(describing: error))")
  }

  /// Another registry that has the port answers `/v2/` as the new one would: the new one,
  /// still starting (it exits once it finds the port taken), must not take that answer for its
  /// own, or its tests would talk to the other registry.
  @Test func aRegistryDoesNotTakeAnotherOnItsPortForItself() async throws {
    let other = try await RegistryProcess()
    let handedOut = Mutex<[Int]>([])
    let reg = try await RegistryProcess(ports: {
      let port = handedOut.withLock { $0.isEmpty } ? other.port : try freePort()
      handedOut.withLock { $0.append(port) }
      return port
    })
    #expect(handedOut.withLock { $0 }.first == other.port)
    #expect(reg.port != other.port)
    #expect(reg.directory.path != other.directory.path)
  }

  @Test func sameRegistryCopiesMountInsteadOfUploading() async throws {
    let reg = try await RegistryProcess()
    let client = testRegistryClient(reg.host)
    let image = try await ImageFactory(client: client, repository: "staging/app").pushImage(tag: "1", layerSizes: [50_000])
    let graph = try await ImageGraph.load(from: client, repository: "staging/app", root: image)
    let report = try await Copier(source: client, sourceRepository: "staging/app", target: client, targetRepository: "prod/app").copy(graph)
    #expect(report.blobsMounted == 2)
    #expect(report.bytesCopied == 0)
    #expect(try await client.blobSize("prod/app", graph.blobs[1].digest) == 50_000)
  }

  @Test func basicAuthWorksAndAWrongPasswordIsNamed() async throws {
    let reg = try await RegistryProcess(auth: .basic(username: "ci", password: "s3cret"))
    let good = testRegistryClient(reg.host, credentials: Credentials(username: "ci", password: "s3cret"))
    try await ImageFactory(client: good, repository: "app").pushImage(tag: "v1")
    #expect(try await good.tags("app") == ["v1"])

    let bad = testRegistryClient(reg.host, credentials: Credentials(username: "ci", password: "wrong"), side: "source")
    await #expect {
      _ = try await bad.manifest("app", "v1")
    } throws: { error in
      guard case RegistryError.unauthorized(_, let hint, _) = error else { return false }
      return hint == "check source-username and source-password"
    }
    let anonymous = testRegistryClient(reg.host, side: "target")
    await #expect {
      _ = try await anonymous.manifest("app", "v1")
    } throws: { error in
      "\(error)".contains("no credentials given; set target-username and target-password")
    }
  }

  @Test func missingThingsAreNotFoundErrors() async throws {
    let reg = try await RegistryProcess()
    let client = testRegistryClient(reg.host)
    #expect(try await client.resolve("nothing/here", "latest") == nil)
    await #expect {
      _ = try await client.manifest("nothing/here", "latest")
    } throws: { error in
      if case RegistryError.notFound(let what, _, let detail) = error { return what == "manifest nothing/here:latest" && detail.contains("MANIFEST_UNKNOWN") }
      return false
    }
  }

  @Test func tagListsPaginate() async throws {
    let reg = try await RegistryProcess()
    let client = testRegistryClient(reg.host)
    let image = try await ImageFactory(client: client, repository: "app").pushImage(tag: nil)
    let names = (1...7).map { "t\($0)" }
    for n in names { try await client.putManifest("app", n, image) }
    #expect(try await client.tags("app", pageSize: 3).sorted() == names)
    #expect(try await client.tags("missing") == [])
  }
}

@Suite("Bearer tokens and TLS against real registries", .serialized)
struct TokenAndTLSTests {
  @Test func bearerTokenFlowPushesAndPullsWithCachedTokens() async throws {
    let dir = try TempDirectory()
    let certs = try await TestCertificates(in: dir)
    let reg = try await RegistryProcess(auth: .token(username: "ci", password: "tok-pass", certificates: certs))
    let client = testRegistryClient(reg.host, credentials: Credentials(username: "ci", password: "tok-pass"))
    let image = try await ImageFactory(client: client, repository: "team/app").pushImage(tag: "1.0", layerSizes: [1000, 2000, 3000])
    #expect(try await client.resolve("team/app", "1.0")?.digest == image.digest)
    // One token per scope, reused across the many pushes and reads above.
    #expect(try await reg.tokensIssued() <= 3)

    // Cross-repository mount asks for both scopes in one token.
    let graph = try await ImageGraph.load(from: client, repository: "team/app", root: image)
    let report = try await Copier(source: client, sourceRepository: "team/app", target: client, targetRepository: "prod/app").copy(graph)
    #expect(report.blobsMounted == 4)

    let wrong = testRegistryClient(reg.host, credentials: Credentials(username: "ci", password: "nope"), side: "source")
    await #expect {
      _ = try await wrong.manifest("team/app", "1.0")
    } throws: { "\($0)".contains("check source-username and source-password") }
    let anonymous = testRegistryClient(reg.host)
    await #expect {
      _ = try await anonymous.manifest("team/app", "1.0")
    } throws: { error in
      if case RegistryError.unauthorized = error { return true }
      return false
    }
  }

  @Test func tlsRegistryWithASelfSignedCA() async throws {
    let dir = try TempDirectory()
    let certs = try await TestCertificates(in: dir)
    let reg = try await RegistryProcess(tls: certs)
    let trusted = testRegistryClient(reg.host, caFile: certs.caCert)
    let image = try await ImageFactory(client: trusted, repository: "app").pushImage(tag: "1")
    #expect(try await trusted.resolve("app", "1")?.digest == image.digest)
    if let skopeo = which("skopeo") {
      let certDir = try TempDirectory()
      try FileManager.default.copyItem(atPath: certs.caCert, toPath: certDir.file("ca.crt"))
      let r = try await awaitCommand(skopeo, ["inspect", "--raw", "--cert-dir", certDir.path, "docker://\(reg.host)/app:1"])
      #expect(Data(r.stdout.utf8) == image.bytes, "\(r.stderr)")
    }
  }
}
