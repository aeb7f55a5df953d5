import Foundation
import OCI
import TestSupport

/// What the keyless suites stand on: a staging and a production registry, a private Sigstore,
/// and its trusted root written where `trusted-root` can name it.
enum KeylessFixture {
  static func make() async throws -> (staging: RegistryProcess, production: RegistryProcess, src: RegistryClient, dst: RegistryClient, pki: TestSigstore, rootPath: String) {
    let staging = try await RegistryProcess()
    let production = try await RegistryProcess()
    let pki = try TestSigstore()
    let rootPath = FileManager.default.temporaryDirectory.appendingPathComponent("gantry-trusted-root-\(UUID().uuidString).json").path
    try pki.trustedRootJSON().write(to: URL(fileURLWithPath: rootPath))
    return (staging, production, testRegistryClient(staging.host, side: "source"), testRegistryClient(production.host), pki, rootPath)
  }
}
