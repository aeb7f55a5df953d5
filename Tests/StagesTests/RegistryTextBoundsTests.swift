import ActionsCore
import Foundation
import TestSupport
import Testing

@testable import Stages

/// What a hostile registry's words can make of the promote and verify-digest stages' messages (the `::error` line, the log, the summary): a hostile server on 127.0.0.1.
@Suite("registry text in stage messages is bounded", .serialized)
struct RegistryTextBoundsTests {
  /// Before: a registry's JSON error body was quoted whole, every `errors[].message` of it:
  /// up to the 64 KiB error body Gantry keeps, in one `::error` line (and, for a release
  /// rollback, once per image, joined). Now the registry's words are cut as its non-JSON
  /// bodies already were (300 characters). (Rollback reads the environment's tag with a HEAD:
  /// no body, nothing quoted.)
  @Test(arguments: ["verify-digest", "promote"])
  func aRegistrysLongErrorIsQuotedShort(_ stage: String) async throws {
    let registry = try await HostileServer()
    defer { registry.stop() }
    let errors = (0..<150).map { ["code": "MANIFEST_UNKNOWN", "message": "m\($0) " + String(repeating: "A", count: 300)] }
    let body = try JSONSerialization.data(withJSONObject: ["errors": errors])
    try await registry.script([
      .init(nil, "/v2/app", status: 403, headers: ["Content-Type": "application/json"], body: body),
      .init(nil, "/v2/prod", status: 403, headers: ["Content-Type": "application/json"], body: body),
      .init("GET", "/v2/", headers: ["Docker-Distribution-API-Version": "registry/2.0"], body: Data("{}".utf8)),
    ])
    let h = "127.0.0.1:\(registry.port)"
    let env: [String: String] =
      switch stage {
      case "verify-digest": ["INPUT_SOURCE": "\(h)/app:1", "INPUT_TARGET": "\(h)/app:2"]
      default: ["INPUT_SOURCE": "\(h)/app:1", "INPUT_TARGET": "\(h)/prod"]
      }
    let message: String
    do {
      let r: StageResult
      switch stage {
      case "verify-digest": r = try await runStage(VerifyDigestStage.self, env.merging(["INPUT_RETRIES": "0"]) { $1 })
      default: r = try await runStage(PromoteStage.self, env.merging(["INPUT_RETRIES": "0"]) { $1 })
      }
      message = (r.failure ?? "") + r.summary.render()
    } catch {
      message = "\(error)"
    }
    #expect(message.contains("m0 AAAA"), "\(message.prefix(300))")
    #expect(message.utf8.count < 2000, "\(stage): a message of \(message.utf8.count) bytes")
  }
}
