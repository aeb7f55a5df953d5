import ActionsCore
import Foundation
import GantryCLI
import OCI
import TestSupport
import Testing

@testable import Stages

/// Runs a stage in-process with runner-shaped inputs and returns its result (or error), on the
/// CLI's network wiring (`GantryCLI.connections`) unless `connections` says otherwise.
func runStage<S: Stage>(_ stage: S.Type, _ env: [String: String], log: MemoryLogSink = MemoryLogSink(), connections: Connections = GantryCLI.connections) async throws -> StageResult {
  let environment = ActionEnvironment(env)
  let inputs = try Inputs(declarations: S.inputs, environment: environment)
  return try await S().run(StageContext(inputs: inputs, environment: environment, log: Log(sink: log, debugEnabled: environment.isDebug), connections: connections))
}

@Suite("promote and verify-digest against real registries", .serialized)
struct PromoteStageTests {
  let staging: RegistryProcess
  let production: RegistryProcess
  let src: RegistryClient
  let dst: RegistryClient

  init() async throws {
    staging = try await RegistryProcess()
    production = try await RegistryProcess()
    src = testRegistryClient(staging.host, side: "source")
    dst = testRegistryClient(production.host)
  }

  @Test func promotesAMultiArchIndexByDigestAndTagsIt() async throws {
    let (index, _) = try await ImageFactory(client: src, repository: "app").pushIndex(
      tag: "1.2.0-SNAPSHOT-7d2a1b4", platforms: [Platform(os: "linux", architecture: "amd64"), Platform(os: "linux", architecture: "arm64")],
      layerSizes: [10_000, 200_000], labels: ["org.opencontainers.image.revision": "7d2a1b4"])
    let log = MemoryLogSink()
    let r = try await runStage(
      PromoteStage.self,
      [
        "INPUT_SOURCE": "\(staging.host)/app:1.2.0-SNAPSHOT-7d2a1b4", "INPUT_TARGET": "\(production.host)/prod/app",
        "INPUT_TAGS": "1.2.0\nproduction", "INPUT_REQUIRED-LABELS": "org.opencontainers.image.revision", "INPUT_PLATFORMS": "linux/arm64",
      ], log: log)
    #expect(r.failure == nil)
    #expect(r.outputs["digest"] == index.digest.description)
    #expect(r.outputs["image"] == "\(production.host)/prod/app@\(index.digest)")
    #expect(r.outputs["tags"] == "1.2.0\nproduction")
    #expect(r.outputs["platforms"] == "linux/amd64\nlinux/arm64")
    #expect(r.outputs["status"] == "promoted")
    #expect(r.outputs["bytes-copied"].flatMap { Int($0) }.map { $0 > 420_000 } == true)
    for tag in ["1.2.0", "production"] {
      #expect(try await dst.resolve("prod/app", tag)?.digest == index.digest)
    }
    let markdown = r.summary.render()
    #expect(markdown.contains("| required labels | ✓ | org.opencontainers.image.revision |"))
    #expect(markdown.contains("| linux/arm64 |"))
    #expect(log.lines.contains { $0.hasPrefix("::group::Copy 6 blobs") })
    // The group says what the copy did (it was empty unless the copy took 3 s).
    let group = log.lines.drop { !$0.hasPrefix("::group::Copy") }.dropFirst().prefix { $0 != "::endgroup::" }
    #expect(group.contains { $0.hasPrefix("6 blobs copied (") && $0.contains("0 mounted, 0 present in ") }, "\(Array(group))")

    // verify-digest agrees, child by child.
    let v = try await runStage(VerifyDigestStage.self, ["INPUT_SOURCE": "\(staging.host)/app:1.2.0-SNAPSHOT-7d2a1b4", "INPUT_TARGET": "\(production.host)/prod/app:production"])
    #expect(v.outputs["match"] == "true")
    #expect(v.failure == nil)
    #expect(v.summary.render().contains("| linux/arm64 |"))

    // Promote again: everything is already there.
    let again = try await runStage(PromoteStage.self, ["INPUT_SOURCE": "\(staging.host)/app@\(index.digest)", "INPUT_TARGET": "\(production.host)/prod/app:1.2.0"])
    #expect(again.outputs["bytes-copied"] == "0")
    #expect(again.outputs["blobs-skipped"] == "6")
  }

  @Test func debugLoggingTracesEveryRequestWithoutSecrets() async throws {
    let reg = try await RegistryProcess(auth: .basic(username: "ci", password: "s3cret-pw"))
    try await ImageFactory(client: testRegistryClient(reg.host, credentials: Credentials(username: "ci", password: "s3cret-pw")), repository: "app").pushImage(tag: "1.0.0")
    let log = MemoryLogSink()
    let r = try await runStage(
      PromoteStage.self,
      [
        "RUNNER_DEBUG": "1", "INPUT_SOURCE": "\(reg.host)/app:1.0.0", "INPUT_TARGET": "\(reg.host)/prod", "INPUT_SOURCE-USERNAME": "ci", "INPUT_SOURCE-PASSWORD": "s3cret-pw",
        "INPUT_TARGET-USERNAME": "ci", "INPUT_TARGET-PASSWORD": "s3cret-pw",
      ], log: log)
    #expect(r.outputs["status"] == "promoted")
    let trace = log.lines.filter { $0.hasPrefix("::debug::") }
    #expect(trace.contains { $0.contains("GET http://\(reg.host)/v2/app/manifests/1.0.0 → 200 in ") })
    #expect(trace.contains { $0.contains("PUT http://\(reg.host)/v2/prod/manifests/1.0.0 → 201 in ") })
    // The 401 that taught the client the challenge is there too; credentials never are, nor
    // query strings (upload locations and storage redirects carry state and signatures there).
    #expect(trace.contains { $0.contains("→ 401 in ") })
    #expect(!log.lines.contains { !$0.hasPrefix("::add-mask::") && ($0.contains("s3cret-pw") || $0.contains("Basic ")) })
    #expect(!trace.contains { $0.contains("?") })
  }

  @Test func dryRunCopiesNothing() async throws {
    let image = try await ImageFactory(client: src, repository: "app").pushImage(tag: "rc")
    let log = MemoryLogSink()
    let r = try await runStage(PromoteStage.self, ["INPUT_SOURCE": "\(staging.host)/app:rc", "INPUT_TARGET": "\(production.host)/app", "INPUT_DRY-RUN": "true"], log: log)
    #expect(r.outputs["status"] == "dry-run")
    #expect(try await dst.resolve("app", "rc") == nil)
    // Before, the log ended on the source line: nothing said the run was a dry run, or its outcome.
    #expect(log.lines.last == "::notice title=Dry run::\(image.digest) validated; it would be promoted to \(production.host)/app as rc; nothing was changed")
  }

  /// Before, `target: app:1.2.0` with `tags: production` applied production only, in silence.
  @Test func aTargetTagLeftOutOfTagsIsWarnedAbout() async throws {
    try await ImageFactory(client: src, repository: "app").pushImage(tag: "t")
    let log = MemoryLogSink()
    let r = try await runStage(
      PromoteStage.self, ["INPUT_SOURCE": "\(staging.host)/app:t", "INPUT_TARGET": "\(production.host)/app:1.2.0", "INPUT_TAGS": "production", "INPUT_DRY-RUN": "true"], log: log)
    #expect(r.outputs["tags"] == "production")
    #expect(
      log.lines.contains(
        "::warning title=Target tag ignored::the target's tag 1.2.0 is not applied: \(production.host)/app gets only `tags` (production); add 1.2.0 to tags to apply it"),
      "\(log.lines)")
    let quiet = MemoryLogSink()
    _ = try await runStage(
      PromoteStage.self, ["INPUT_SOURCE": "\(staging.host)/app:t", "INPUT_TARGET": "\(production.host)/app:1.2.0", "INPUT_TAGS": "1.2.0\nproduction", "INPUT_DRY-RUN": "true"], log: quiet)
    #expect(!quiet.lines.contains { $0.hasPrefix("::warning") })
  }

  /// The reusable workflow's `tags` comes after the version it computed: a caller writing the
  /// version there too (`1.2.0, latest`) had 1.2.0 moved twice and listed twice in `tags`.
  @Test func aTagGivenTwiceIsMovedOnce() async throws {
    let image = try await ImageFactory(client: src, repository: "app").pushImage(tag: "twice")
    let log = MemoryLogSink()
    let r = try await runStage(
      PromoteStage.self,
      ["INPUT_SOURCE": "\(staging.host)/app:twice", "INPUT_TARGET": "\(production.host)/twice", "INPUT_TAGS": "1.2.0\n1.2.0, latest", "INPUT_ENVIRONMENT": "production"], log: log)
    #expect(r.outputs["tags"] == "1.2.0\nlatest\nproduction")
    #expect(log.lines.contains("moved 3 tags, the environment tag last; each read back"), "\(log.lines)")
    for tag in ["1.2.0", "latest", "production"] { #expect(try await dst.resolve("twice", tag)?.digest == image.digest) }
  }

  /// Before, a passing verify-digest printed nothing at all (and a bad policy-mode said only
  /// "accepted: enforce, audit", not what was given).
  @Test func aPassingVerifyDigestSaysSoAndABadPolicyModeIsQuoted() async throws {
    let image = try await ImageFactory(client: src, repository: "app").pushImage(tag: "v")
    #expect(try await runStage(PromoteStage.self, ["INPUT_SOURCE": "\(staging.host)/app:v", "INPUT_TARGET": "\(production.host)/app"]).failure == nil)
    let log = MemoryLogSink()
    let r = try await runStage(VerifyDigestStage.self, ["INPUT_SOURCE": "\(staging.host)/app:v", "INPUT_TARGET": "\(production.host)/app:v"], log: log)
    #expect(r.failure == nil)
    #expect(log.lines.last == "::notice title=Digests match::\(staging.host)/app:v and \(production.host)/app:v are the same manifest, \(image.digest)")
    let expected = MemoryLogSink()
    _ = try await runStage(VerifyDigestStage.self, ["INPUT_SOURCE": "\(staging.host)/app:v", "INPUT_EXPECTED-DIGEST": image.digest.description], log: expected)
    #expect(expected.lines.last == "::notice title=Digests match::\(staging.host)/app:v is \(image.digest), as expected")
    await #expect { _ = try await runStage(PromoteStage.self, ["INPUT_SOURCE": "a/b:1", "INPUT_TARGET": "x/y", "INPUT_POLICY-MODE": "warn"]) } throws: {
      "\($0)" == "input 'policy-mode': expected one of enforce, audit, got 'warn'"
    }
  }

  @Test func aMissingLayerFailsValidationAndMovesNoTag() async throws {
    let old = try await ImageFactory(client: src, repository: "app").pushImage(tag: "old")
    try await runStage(PromoteStage.self, ["INPUT_SOURCE": "\(staging.host)/app:old", "INPUT_TARGET": "\(production.host)/app:live"]).outputs["status"].map { #expect($0 == "promoted") }
    let broken = try await ImageFactory(client: src, repository: "app").pushImage(tag: "broken", layerSizes: [5000])
    guard case .image(_, let layers, _, _) = broken.content else { Issue.record("not an image"); return }
    let del = try await awaitCommand("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE", "http://\(staging.host)/v2/app/blobs/\(layers[0].digest)"])
    #expect(del.stdout == "202")
    let r = try await runStage(PromoteStage.self, ["INPUT_SOURCE": "\(staging.host)/app:broken", "INPUT_TARGET": "\(production.host)/app:live"])
    #expect(r.failure?.contains("blobs present") == true)
    #expect(r.summary.render().contains("| blobs present | ✗ |"))
    #expect(try await dst.resolve("app", "live")?.digest == old.digest)
  }

  @Test func aTargetThatHasTheImageNeedsNoSourceBlobsAndKeepsTagsInPlace() async throws {
    let image = try await ImageFactory(client: src, repository: "app").pushImage(tag: "2.0.0", layerSizes: [4000, 6000])
    let first = try await runStage(PromoteStage.self, ["INPUT_SOURCE": "\(staging.host)/app:2.0.0", "INPUT_TARGET": "\(production.host)/app", "INPUT_TAGS": "2.0.0\nstable"])
    #expect(first.outputs["status"] == "promoted")
    // Another image takes `stable`; then staging loses a layer of 2.0.0 (garbage collection).
    let other = try await ImageFactory(client: dst, repository: "app").pushImage(tag: "stable")
    guard case .image(_, let layers, _, _) = image.content else { Issue.record("not an image"); return }
    let del = try await awaitCommand("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE", "http://\(staging.host)/v2/app/blobs/\(layers[1].digest)"])
    #expect(del.stdout == "202")

    // Production has every blob of 2.0.0, so promoting it again is sound: `stable` moves back,
    // `2.0.0` (already there) is left alone, and a new tag is added.
    let log = MemoryLogSink()
    let again = try await runStage(
      PromoteStage.self, ["INPUT_SOURCE": "\(staging.host)/app:2.0.0", "INPUT_TARGET": "\(production.host)/app", "INPUT_TAGS": "2.0.0\nstable\n2.0"], log: log)
    #expect(again.failure == nil)
    #expect(again.outputs["bytes-copied"] == "0")
    for tag in ["2.0.0", "stable", "2.0"] {
      #expect(try await dst.resolve("app", tag)?.digest == image.digest)
    }
    #expect(try await dst.resolve("app", "stable")?.digest != other.digest)
    #expect(log.lines.contains { $0.contains("left as they are: 2.0.0") })
    #expect(again.summary.render().contains("at the target already"))
    #expect(again.summary.render().contains("`2.0.0` (already here) `stable` `2.0`"))

    // A target without the image still gets every source blob checked.
    let fresh = try await runStage(PromoteStage.self, ["INPUT_SOURCE": "\(staging.host)/app:2.0.0", "INPUT_TARGET": "\(production.host)/elsewhere:2.0.0"])
    #expect(fresh.failure?.contains("blobs present") == true)
    #expect(try await dst.resolve("elsewhere", "2.0.0") == nil)
  }

  @Test func requiredLabelsAndNoClobberAreEnforced() async throws {
    try await ImageFactory(client: src, repository: "app").pushImage(tag: "a", labels: [:])
    let r = try await runStage(PromoteStage.self, ["INPUT_SOURCE": "\(staging.host)/app:a", "INPUT_TARGET": "\(production.host)/app", "INPUT_REQUIRED-LABELS": "org.opencontainers.image.revision"])
    #expect(r.failure?.contains("required labels") == true)

    let first = try await ImageFactory(client: dst, repository: "app").pushImage(tag: "1.0.0")
    let second = try await ImageFactory(client: src, repository: "app").pushImage(tag: "1.0.0")
    let c = try await runStage(PromoteStage.self, ["INPUT_SOURCE": "\(staging.host)/app:1.0.0", "INPUT_TARGET": "\(production.host)/app", "INPUT_NO-CLOBBER": "true"])
    #expect(c.failure?.contains("no clobber: would move 1.0.0 (at \(first.digest.short)) to \(second.digest.short); nothing was copied") == true, "\(c.failure ?? "")")
    #expect(try await dst.resolve("app", "1.0.0")?.digest == first.digest)
  }

  /// Before, the Public ECR example (`tags: [VERSION, latest]`, `no-clobber: true`, "a published
  /// version never moves") refused every release after the first: "would move latest → …".
  @Test func noClobberGuardsVersionTagsAndLetsLatestMove() async throws {
    let v1 = try await ImageFactory(client: src, repository: "app").pushImage(tag: "1.0.0-SNAPSHOT-aaaaaaa")
    let v2 = try await ImageFactory(client: src, repository: "app").pushImage(tag: "1.1.0-SNAPSHOT-bbbbbbb")
    func promote(_ source: String, _ version: String) async throws -> StageResult {
      try await runStage(
        PromoteStage.self, ["INPUT_SOURCE": "\(staging.host)/app:\(source)", "INPUT_TARGET": "\(production.host)/pub", "INPUT_TAGS": "\(version)\nlatest", "INPUT_NO-CLOBBER": "true"])
    }
    #expect(try await promote("1.0.0-SNAPSHOT-aaaaaaa", "1.0.0").failure == nil)
    #expect(try await promote("1.1.0-SNAPSHOT-bbbbbbb", "1.1.0").failure == nil)
    #expect(try await dst.resolve("pub", "latest")?.digest == v2.digest)
    // A published version still never moves.
    #expect(try await promote("1.1.0-SNAPSHOT-bbbbbbb", "1.0.0").failure?.contains("would move 1.0.0 (at \(v1.digest.short))") == true)
    #expect(try await dst.resolve("pub", "1.0.0")?.digest == v1.digest)
    #expect(try await dst.resolve("pub", "latest")?.digest == v2.digest)
  }

  @Test func verifyDigestFailsOnDifferentImages() async throws {
    try await ImageFactory(client: src, repository: "app").pushImage(tag: "x")
    try await ImageFactory(client: dst, repository: "app").pushImage(tag: "x")
    let r = try await runStage(VerifyDigestStage.self, ["INPUT_SOURCE": "\(staging.host)/app:x", "INPUT_TARGET": "\(production.host)/app:x"])
    #expect(r.outputs["match"] == "false")
    #expect(r.failure?.contains("not the same image") == true)
    let m = try await src.resolve("app", "x")!
    let e = try await runStage(VerifyDigestStage.self, ["INPUT_SOURCE": "\(staging.host)/app:x", "INPUT_EXPECTED-DIGEST": m.digest.description])
    #expect(e.outputs["match"] == "true")
  }

  /// Before, `target` was declared required, so expected-digest alone (the documented way to
  /// compare with a digest "instead of the target") was refused: "input 'target': required".
  @Test func verifyDigestWithExpectedDigestNeedsNoTarget() async throws {
    let m = try await ImageFactory(client: src, repository: "app").pushImage(tag: "y")
    let ok = try await runStage(VerifyDigestStage.self, ["INPUT_SOURCE": "\(staging.host)/app:y", "INPUT_EXPECTED-DIGEST": m.digest.description])
    #expect(ok.outputs["match"] == "true" && ok.outputs["target-digest"] == m.digest.description)
    await #expect { _ = try await runStage(VerifyDigestStage.self, ["INPUT_SOURCE": "\(staging.host)/app:y"]) } throws: {
      ($0 as? InputError)?.input == "target" && "\($0)".contains("required unless expected-digest is set")
    }
    // Before: "'sha256:abc' is not a valid image reference: …", for a digest.
    await #expect { _ = try await runStage(VerifyDigestStage.self, ["INPUT_SOURCE": "\(staging.host)/app:y", "INPUT_EXPECTED-DIGEST": "sha256:abc"]) } throws: {
      "\($0)" == "input 'expected-digest': 'sha256:abc' is not a digest: sha256 digests have 64 lower-case hex digits"
    }
  }

  /// Before: "retry 1 in 45ms : cannot reach …" (a space before the colon).
  @Test func aRetryLineReadsAsOneSentence() async {
    let log = MemoryLogSink()
    _ = try? await runStage(PromoteStage.self, ["INPUT_SOURCE": "127.0.0.1:1/acme/app:1", "INPUT_TARGET": "127.0.0.1:1/acme/prod", "INPUT_RETRIES": "1"], log: log)
    #expect(log.lines.contains { $0.hasPrefix("retry 1 in ") && $0.contains("ms: cannot reach 127.0.0.1:1") }, "\(log.lines)")
    #expect(!log.lines.contains { $0.contains(" : ") })
  }

  /// Before, a source without tag (read as :latest) and a target without tag were told "the
  /// source is given by digest".
  @Test func aSourceWithoutTagIsNotCalledADigest() async {
    await #expect { _ = try await runStage(PromoteStage.self, ["INPUT_SOURCE": "127.0.0.1:1/acme/app", "INPUT_TARGET": "127.0.0.1:2/acme/app"]) } throws: {
      ($0 as? InputError)?.input == "tags" && !"\($0)".contains("by digest")
        && "\($0)".contains("neither the source nor the target names a tag (the source would be read as :latest): give the source its tag, e.g. 127.0.0.1:1/acme/app:1.2.0, or set `tags`")
    }
  }

  @Test(arguments: [
    (["INPUT_SOURCE": "Bad Ref", "INPUT_TARGET": "x/y"], "source"),
    (["INPUT_SOURCE": "a/b@sha256:\(String(repeating: "0", count: 64))", "INPUT_TARGET": "x/y"], "tags"),
    (["INPUT_SOURCE": "a/b:1", "INPUT_TARGET": "x/y", "INPUT_MAX-SIZE": "lots"], "max-size"),
    (["INPUT_SOURCE": "a/b:1", "INPUT_TARGET": "x/y", "INPUT_PLATFORMS": "amd64"], "platforms"),
    (["INPUT_SOURCE": "a/b:1", "INPUT_TARGET": "x/y", "INPUT_TAGS": "bad tag"], "tags"),
    (["INPUT_SOURCE": "a/b:1", "INPUT_TARGET": "x/y", "INPUT_TARGET-USERNAME": "u"], "target-password"),
    // Keyless inputs that cannot stand alone name themselves (found by scripts/fuzz-binary).
    (["INPUT_SOURCE": "a/b:1", "INPUT_TARGET": "x/y", "INPUT_CERTIFICATE-IDENTITY": "me"], "certificate-identity"),
    (["INPUT_SOURCE": "a/b:1", "INPUT_TARGET": "x/y", "INPUT_CERTIFICATE-OIDC-ISSUER": "https://i"], "certificate-oidc-issuer"),
    (["INPUT_SOURCE": "a/b:1", "INPUT_TARGET": "x/y", "INPUT_REQUIRE-ATTESTATIONS": "https://slsa.dev/provenance/v1"], "require-attestations"),
    (["INPUT_SOURCE": "a/b:1", "INPUT_TARGET": "x/y", "INPUT_SIGNER-REPOSITORY": "a/b", "INPUT_CERTIFICATE-IDENTITY-REGEXP": "("], "certificate-identity-regexp"),
  ])
  func badInputNamesTheInput(_ env: [String: String], _ input: String) async {
    await #expect { _ = try await runStage(PromoteStage.self, env) } throws: { ($0 as? InputError)?.input == input }
  }
}

@Suite("promote through the CLI with auth", .serialized)
struct PromoteAuthTests {
  @Test func wrongTargetPasswordIsAClearFailureAndMasked() async throws {
    let staging = try await RegistryProcess()
    let production = try await RegistryProcess(auth: .basic(username: "deploy", password: "right-password"))
    try await ImageFactory(client: testRegistryClient(staging.host), repository: "app").pushImage(tag: "1")
    let out = MemoryLogSink()
    let status = await GantryCLIHarness.run(
      [
        "INPUT_STAGE": "promote", "INPUT_SOURCE": "\(staging.host)/app:1", "INPUT_TARGET": "\(production.host)/app",
        "INPUT_TARGET-USERNAME": "deploy", "INPUT_TARGET-PASSWORD": "wrong-password",
      ], out)
    #expect(status == 1)
    #expect(out.lines.first == "::add-mask::wrong-password")
    #expect(out.lines.contains { $0.contains("unauthorized at \(production.host): check target-username and target-password") })

    let ok = MemoryLogSink()
    let good = await GantryCLIHarness.run(
      [
        "INPUT_STAGE": "promote", "INPUT_SOURCE": "\(staging.host)/app:1", "INPUT_TARGET": "\(production.host)/app",
        "INPUT_TARGET-USERNAME": "deploy", "INPUT_TARGET-PASSWORD": "right-password",
      ], ok)
    #expect(good == 0, "\(ok.lines)")
  }

  @Test func credentialsComeFromDockerConfigWhenNoInputsAreGiven() async throws {
    let staging = try await RegistryProcess()
    let production = try await RegistryProcess(auth: .basic(username: "deploy", password: "from-config"))
    try await ImageFactory(client: testRegistryClient(staging.host), repository: "app").pushImage(tag: "1")
    let dir = try TempDirectory()
    let auth = Data("deploy:from-config".utf8).base64EncodedString()
    try #"{"auths":{"\#(production.host)":{"auth":"\#(auth)"}}}"#.write(toFile: dir.file("config.json"), atomically: true, encoding: .utf8)
    let log = MemoryLogSink()
    let r = try await runStage(PromoteStage.self, ["INPUT_SOURCE": "\(staging.host)/app:1", "INPUT_TARGET": "\(production.host)/app", "DOCKER_CONFIG": dir.path], log: log)
    #expect(r.outputs["status"] == "promoted")
    #expect(log.lines.contains("::add-mask::from-config"))
  }

  /// A config.json key with a scheme and a path (`https://host/v1/`, as older docker and many
  /// hand-written files have it) names its host, as docker's file store reads it; a key of the
  /// same host on another port, or of another host, is never sent. Before, only `host`,
  /// `https://host` and `http://host` were tried, and the registry was reached anonymously.
  @Test func aDockerConfigKeyWithASchemeAndPathNamesItsHost() async throws {
    let staging = try await RegistryProcess()
    let production = try await RegistryProcess(auth: .basic(username: "deploy", password: "from-config"))
    try await ImageFactory(client: testRegistryClient(staging.host), repository: "app").pushImage(tag: "1")
    let dir = try TempDirectory()
    func auth(_ s: String) -> String { Data(s.utf8).base64EncodedString() }
    let otherPort = "127.0.0.1:\(production.port == 65535 ? 1 : production.port + 1)"
    try #"""
    {"auths":{"\#(otherPort)":{"auth":"\#(auth("deploy:wrong-port"))"},"https://\#(otherPort)/v2/":{"auth":"\#(auth("deploy:wrong-port"))"},
    "https://\#(production.host)/v1/":{"auth":"\#(auth("deploy:from-config"))"}}}
    """#.write(toFile: dir.file("config.json"), atomically: true, encoding: .utf8)
    let log = MemoryLogSink()
    let r = try await runStage(PromoteStage.self, ["INPUT_SOURCE": "\(staging.host)/app:1", "INPUT_TARGET": "\(production.host)/app", "DOCKER_CONFIG": dir.path], log: log)
    #expect(r.outputs["status"] == "promoted")
    #expect(log.lines.contains("::add-mask::from-config"))
    #expect(!log.lines.contains { $0.contains("wrong-port") })
  }

  /// A config.json that leaves the registry's credentials to a credential helper (its name
  /// hostile: a path, `..`, a space, a NUL) or that is no JSON: the refusal says so, and the
  /// name is only printed, escaped. Before, it said "no credentials given; set … (or
  /// DOCKER_CONFIG with a config.json)", which the user had done.
  @Test func aDockerConfigThatLeavesCredentialsToAHelperSaysSo() async throws {
    let production = try await RegistryProcess(auth: .basic(username: "deploy", password: "secret"))
    let dir = try TempDirectory()
    let verify = ["INPUT_SOURCE": "\(production.host)/app:1", "INPUT_EXPECTED-DIGEST": "sha256:" + String(repeating: "0", count: 64), "DOCKER_CONFIG": dir.path]
    func refusal(_ config: String) async throws -> String {
      try config.write(toFile: dir.file("config.json"), atomically: true, encoding: .utf8)
      do {
        _ = try await runStage(VerifyDigestStage.self, verify)
        return "no error"
      } catch { return "\(error)" }
    }
    let helper = try await refusal(#"{"auths":{"\#(production.host)":{}},"credHelpers":{"https://\#(production.host)/v1/":"../../bin/sh x\u0000"}}"#)
    #expect(
      helper.contains(
        "no credentials given: DOCKER_CONFIG's config.json leaves \(production.host)'s credentials to the credential helper docker-credential-../../bin/sh x\u{0}, which Gantry does not run; set source-username and source-password"
      ), "\(helper)")
    let store = try await refusal(#"{"auths":{"\#(production.host)":{}},"credsStore":"desktop"}"#)
    #expect(store.contains("no credentials given: DOCKER_CONFIG's config.json keeps its credentials in the store docker-credential-desktop, which Gantry does not run"), "\(store)")
    let broken = try await refusal(#"{"auths":{"\#(production.host)":{"auth":"#)
    #expect(broken.contains("no credentials given: DOCKER_CONFIG's config.json is not JSON, so none of its credentials were read"), "\(broken)")
    // No helper for this registry: the usual words.
    let other = try await refusal(#"{"credHelpers":{"ghcr.io":"gcloud"}}"#)
    #expect(other.contains("no credentials given; set source-username and source-password (or DOCKER_CONFIG with a config.json)"), "\(other)")
  }
}
