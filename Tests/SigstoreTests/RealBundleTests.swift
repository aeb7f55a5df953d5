import Foundation
import Sigstore
import Testing

/// Real bundles from sigstore-python's test assets (Tests/Fixtures/sigstore/sigstore-python),
/// verified offline: production ones against the embedded public-good root, staging ones
/// against staging's trusted root given as a replacement root, and tampered variants refused.
@Suite struct RealBundleTests {
  static let dir = "sigstore-python"
  static let whlPolicy = IdentityPolicy(repository: "trailofbits/rfc8785.py", workflow: "trailofbits/rfc8785.py/.github/workflows/release.yml")
  static let staging: TrustedRoot = {
    do { return try TrustedRoot(json: try FixtureFiles.data("\(dir)/staging_trusted_root.json"), name: "staging") } catch { fatalError("\(error)") }
  }()

  func bundle(_ name: String) throws -> SigstoreBundle { try SigstoreBundle(json: try FixtureFiles.data("\(Self.dir)/\(name)")) }

  /// The bundle's JSON with `edit` applied.
  func tampered(_ name: String, _ edit: (inout [String: Any]) -> Void) throws -> SigstoreBundle {
    var doc = try #require(try JSONSerialization.jsonObject(with: try FixtureFiles.data("\(Self.dir)/\(name)")) as? [String: Any])
    edit(&doc)
    return try SigstoreBundle(json: try JSONSerialization.data(withJSONObject: doc))
  }

  func verify(_ b: SigstoreBundle, _ artifact: String, root: TrustedRoot = FixtureFiles.publicGood, policy: IdentityPolicy = whlPolicy) async throws -> VerifiedSignature {
    try await BundleVerifier(root: root, policy: policy).verify(b, artifact: .bytes(try FixtureFiles.data("\(Self.dir)/\(artifact)")))
  }

  func refusal(_ b: SigstoreBundle, _ artifact: String, root: TrustedRoot = FixtureFiles.publicGood, policy: IdentityPolicy = whlPolicy) async -> SigstoreError? {
    do {
      _ = try await verify(b, artifact, root: root, policy: policy)
      return nil
    } catch let e as SigstoreError { return e } catch { return SigstoreError(.malformed, "\(error)") }
  }

  @Test func productionGitHubReleaseBundleVerifiesOffline() async throws {
    let v = try await verify(try bundle("bundle_v3_github.whl.sigstore"), "bundle_v3_github.whl")
    #expect(v.identity.subject == "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2")
    #expect(v.identity.issuer == "https://token.actions.githubusercontent.com")
    #expect(v.identity.sourceRepositoryURI == "https://github.com/trailofbits/rfc8785.py")
    #expect(v.identity.sourceRepositoryRef == "refs/tags/v0.1.2")
    #expect(v.identity.buildTrigger == "release")
    #expect(v.time == Date(timeIntervalSince1970: 1_710_888_076))
    #expect(v.certificateAuthority == "https://fulcio.sigstore.dev")
  }

  @Test func wrongIdentityIsRefused() async throws {
    let b = try bundle("bundle_v3_github.whl.sigstore")
    let wrongRepo = await refusal(b, "bundle_v3_github.whl", policy: IdentityPolicy(repository: "someone/else"))
    #expect(wrongRepo?.kind == .identity)
    #expect(wrongRepo?.message.contains("someone/else") == true)
    let wrongWorkflow = await refusal(b, "bundle_v3_github.whl", policy: IdentityPolicy(repository: "trailofbits/rfc8785.py", workflow: ".github/workflows/other.yml"))
    #expect(wrongWorkflow?.kind == .identity)
    let wrongIssuer = await refusal(b, "bundle_v3_github.whl", policy: IdentityPolicy(identityRegexp: "https://github.com/trailofbits/.*", issuer: "https://accounts.google.com"))
    #expect(wrongIssuer?.kind == .identity)
    let regexp = try await verify(
      b, "bundle_v3_github.whl", policy: IdentityPolicy(identityRegexp: "https://github.com/trailofbits/rfc8785\\.py/.*@refs/tags/v.*", issuer: "https://token.actions.githubusercontent.com"))
    #expect(regexp.identity.buildTrigger == "release")
    // A partial match is not a match: the pattern must cover the whole identity.
    let partial = await refusal(b, "bundle_v3_github.whl", policy: IdentityPolicy(identityRegexp: "trailofbits", issuer: "https://token.actions.githubusercontent.com"))
    #expect(partial?.kind == .identity)
  }

  @Test func tamperedProductionBundlesAreRefused() async throws {
    let name = "bundle_v3_github.whl.sigstore"
    func flip(_ b64: Any?) -> String {
      var d = Data(base64Encoded: b64 as? String ?? "") ?? Data()
      if !d.isEmpty { d[d.count / 2] ^= 0x01 }
      return d.base64EncodedString()
    }
    let badSignature = try tampered(name) { doc in
      var ms = doc["messageSignature"] as? [String: Any] ?? [:]
      ms["signature"] = flip(ms["signature"])
      doc["messageSignature"] = ms
    }
    #expect(await refusal(badSignature, "bundle_v3_github.whl")?.kind == .signature)
    // Another artifact.
    #expect(await refusal(try bundle(name), "bundle_v3.txt")?.kind == .signature)
    func editEntry(_ doc: inout [String: Any], _ edit: (inout [String: Any]) -> Void) {
      var vm = doc["verificationMaterial"] as? [String: Any] ?? [:]
      var entries = vm["tlogEntries"] as? [[String: Any]] ?? []
      if !entries.isEmpty { edit(&entries[0]) }
      vm["tlogEntries"] = entries
      doc["verificationMaterial"] = vm
    }
    let offByOne = try tampered(name) { doc in
      editEntry(&doc) { e in
        var p = e["inclusionProof"] as? [String: Any] ?? [:]
        p["logIndex"] = String((Int64(p["logIndex"] as? String ?? "") ?? 0) + 1)
        e["inclusionProof"] = p
      }
    }
    #expect(await refusal(offByOne, "bundle_v3_github.whl")?.kind == .transparencyLog)
    let badSET = try tampered(name) { doc in
      editEntry(&doc) { e in
        var p = e["inclusionPromise"] as? [String: Any] ?? [:]
        p["signedEntryTimestamp"] = flip(p["signedEntryTimestamp"])
        e["inclusionPromise"] = p
      }
    }
    #expect(await refusal(badSET, "bundle_v3_github.whl")?.kind == .signature)
    let laterTime = try tampered(name) { doc in
      editEntry(&doc) { e in e["integratedTime"] = "1710888999" }
    }
    #expect(await refusal(laterTime, "bundle_v3_github.whl")?.kind == .signature)
    let badCheckpoint = try tampered(name) { doc in
      editEntry(&doc) { e in
        var p = e["inclusionProof"] as? [String: Any] ?? [:]
        var c = p["checkpoint"] as? [String: Any] ?? [:]
        c["envelope"] = (c["envelope"] as? String ?? "").replacingOccurrences(of: "rekor.sigstore.dev - ", with: "rekor.sigstore.dev -  ")
        p["checkpoint"] = c
        e["inclusionProof"] = p
      }
    }
    #expect(await refusal(badCheckpoint, "bundle_v3_github.whl") != nil)
    // The certificate of another (staging) bundle: the log entry names another certificate.
    let other = try bundle("bundle_v3.txt.sigstore")
    var swapped = try bundle(name)
    swapped.certificates = other.certificates
    swapped.certificateDER = other.certificateDER
    #expect(await refusal(swapped, "bundle_v3_github.whl") != nil)
  }

  @Test func stagingBundlesVerifyAgainstAReplacementRoot() async throws {
    let email = IdentityPolicy(identity: "a@tny.town", issuer: "https://github.com/login/oauth")
    let v01 = try await verify(try bundle("bundle.txt.sigstore"), "bundle.txt", root: Self.staging, policy: email)
    #expect(v01.identity.subject == "a@tny.town")
    let v03 = try await verify(
      try bundle("bundle_v3.txt.sigstore"), "bundle_v3.txt", root: Self.staging, policy: IdentityPolicy(identity: "william@yossarian.net", issuer: "https://github.com/login/oauth"))
    #expect(v03.identity.subject == "william@yossarian.net")
    // The same bundle against the public-good root: its log is not trusted there.
    let untrusted = await refusal(try bundle("bundle.txt.sigstore"), "bundle.txt", policy: email)
    #expect(untrusted?.kind == .transparencyLog)
  }

  @Test func badUpstreamBundlesAreRefused() async throws {
    let william = IdentityPolicy(identity: "william@yossarian.net", issuer: "https://github.com/login/oauth")
    // CVE-2022-36056: a log entry for another signature.
    let cve = await refusal(try bundle("bundle_cve_2022_36056.txt.sigstore"), "bundle_cve_2022_36056.txt", root: Self.staging, policy: william)
    #expect(cve?.kind == .transparencyLog)
    #expect(throws: SigstoreError.self) { try bundle("bundle_no_checkpoint.txt.sigstore") }
    #expect(throws: SigstoreError.self) { try bundle("bundle_invalid_version.txt.sigstore") }
    // No inclusion promise and no timestamp: no verified time.
    let noTime = await refusal(try bundle("bundle_v3_no_signed_time.txt.sigstore.json"), "bundle_v3_no_signed_time.txt", policy: william)
    #expect(noTime?.kind == .time)
  }

  @Test func keylessNeedsAnIdentityPolicy() {
    #expect(IdentityPolicy().problem != nil)
    #expect(IdentityPolicy(identity: "x").problem != nil)
    #expect(IdentityPolicy(identity: "x", issuer: "y").problem == nil)
    #expect(IdentityPolicy(repository: "o/r").problem == nil)
    #expect(IdentityPolicy(identityRegexp: "(", issuer: "y").problem != nil)
    #expect(IdentityPolicy(workflow: ".github/workflows/x.yml").problem != nil)
  }
}
