import ActionsCore
import Foundation
import Testing

@testable import Stages

@Suite struct BuildTagStageTests {
  func run(_ env: [String: String]) async throws -> StageResult {
    let environment = ActionEnvironment(env)
    let inputs = try Inputs(declarations: BuildTagStage.inputs, environment: environment)
    let context = StageContext(inputs: inputs, environment: environment, log: Log(sink: MemoryLogSink()), now: Date(timeIntervalSince1970: 1_790_000_000), connections: .offline)
    return try await BuildTagStage().run(context)
  }

  @Test func productionFromATagRef() async throws {
    let r = try await run([
      "INPUT_IMAGES": "ghcr.io/acme/app\n123.dkr.ecr.eu-west-1.amazonaws.com/app", "INPUT_ENVIRONMENT": "production",
      "GITHUB_REF": "refs/tags/v2.0.1", "GITHUB_SHA": "abcdef1234567", "GITHUB_REPOSITORY": "acme/app",
      "INPUT_LICENSES": "MIT",
    ])
    #expect(r.outputs["tags"] == "2.0.1\n2.0\n2\nlatest")
    #expect(r.outputs["version"] == "2.0.1")
    #expect(r.outputs["images"]?.split(separator: "\n").count == 8)
    #expect(r.outputs["images"]?.hasPrefix("ghcr.io/acme/app:2.0.1\nghcr.io/acme/app:2.0\n") == true)
    #expect(
      r.outputs["labels"] == """
        org.opencontainers.image.created=2026-09-21T14:13:20Z
        org.opencontainers.image.revision=abcdef1234567
        org.opencontainers.image.version=2.0.1
        org.opencontainers.image.source=https://github.com/acme/app
        org.opencontainers.image.url=https://github.com/acme/app
        org.opencontainers.image.title=app
        org.opencontainers.image.licenses=MIT
        """)
    #expect(r.outputs["annotations"] == r.outputs["labels"])
    let json = try JSONSerialization.jsonObject(with: Data(r.outputs["json"]!.utf8)) as! [String: Any]
    #expect(json["tags"] as? [String] == ["2.0.1", "2.0", "2", "latest"])
    #expect(r.failure == nil)
    #expect(r.summary.render().contains("| `2.0` | minor |"))
  }

  @Test func extraLabelsOverrideAndSourceDateEpochPinsCreated() async throws {
    let r = try await run([
      "INPUT_ENVIRONMENT": "dev", "INPUT_SHA": "1234567890", "INPUT_TAG-RULES": "dev", "SOURCE_DATE_EPOCH": "0",
      "INPUT_LABELS": "org.opencontainers.image.title=custom\nteam=platform=core",
    ])
    #expect(r.outputs["tags"] == "dev-1234567")
    #expect(r.outputs["labels"]?.contains("org.opencontainers.image.created=1970-01-01T00:00:00Z") == true)
    #expect(r.outputs["labels"]?.hasSuffix("org.opencontainers.image.title=custom\nteam=platform=core") == true)
  }

  @Test(arguments: [
    (["INPUT_VERSION": "1.2"], "version"),
    (["INPUT_IMAGES": "ghcr.io/acme/app:1.0"], "images"),
    (["INPUT_IMAGES": "GHCR.io/Acme/App"], "images"),
    (["INPUT_TAG-RULES": "nightly"], "tag-rules"),
    (["INPUT_LABELS": "novalue"], "labels"),
    (["INPUT_LATEST": "maybe"], "latest"),
    (["INPUT_ENVIRONMENT": "production"], "version"),
  ])
  func badInputNamesTheInput(_ env: [String: String], _ input: String) async throws {
    var e = env
    e["GITHUB_SHA"] = "1234567890abcdef"
    if e["INPUT_TAG-RULES"] == nil && e["INPUT_ENVIRONMENT"] == nil { e["INPUT_TAG-RULES"] = "dev" }
    await #expect { _ = try await run(e) } throws: { ($0 as? InputError)?.input == input }
  }
}

/// A pull request's author names its branch; passed as `ref` (`ref: ${{ github.head_ref }}`),
/// that name must not be read as a tag ref.
@Suite struct HeadRefBuildTagTests {
  @Test func aBranchNamedLikeATagRefGivesNoVersion() async throws {
    let env = [
      "GITHUB_EVENT_NAME": "pull_request", "GITHUB_HEAD_REF": "refs/tags/v9.9.9", "INPUT_REF": "refs/tags/v9.9.9", "GITHUB_REF": "refs/pull/7/merge",
      "GITHUB_SHA": "7d2a1b4c9e0f1234567890abcdef123456789012", "INPUT_IMAGES": "ghcr.io/acme/app",
    ]
    let environment = ActionEnvironment(env.merging(["INPUT_ENVIRONMENT": "production"]) { $1 })
    let inputs = try Inputs(declarations: BuildTagStage.inputs, environment: environment)
    let context = StageContext(inputs: inputs, environment: environment, log: Log(sink: MemoryLogSink()), now: Date(timeIntervalSince1970: 1_790_000_000), connections: .offline)
    // Before: tags 9.9.9, 9.9, 9 and latest, from the branch's name.
    await #expect(throws: InputError.self) { _ = try await BuildTagStage().run(context) }

    let dev = ActionEnvironment(env.merging(["INPUT_TAG-RULES": "sha", "INPUT_EXTRA-TAGS": "pr-{{branch}}"]) { $1 })
    let r = try await BuildTagStage().run(
      StageContext(inputs: try Inputs(declarations: BuildTagStage.inputs, environment: dev), environment: dev, log: Log(sink: MemoryLogSink()), now: Date(), connections: .offline))
    #expect(r.outputs["tags"] == "sha-7d2a1b4\npr-refs-tags-v9.9.9")
    #expect(r.outputs["version"] == "")
  }
}
