import Foundation
import Sigstore
import TestSupport
import Testing

/// Gantry's verdict equals sigstore-python's (from PyPI, in the venv scripts/setup makes) on
/// every keyless fixture bundle: Tests/Fixtures/sigstore/sigstore_python_verdicts.py verifies
/// them offline with sigstore-python, and each verdict is compared with Gantry's.
@Suite struct SigstorePythonTests {
  /// The venv's interpreter: GANTRY_SIGSTORE_PYTHON, or where scripts/setup puts it.
  static var python: String {
    ProcessInfo.processInfo.environment["GANTRY_SIGSTORE_PYTHON"] ?? (NSHomeDirectory() + "/.cache/gantry/sigstore-python/bin/python")
  }

  /// Cases where sigstore-python 4.5.1 and sigstore-conformance disagree; Gantry follows the
  /// suite (which the other clients pass), and the disagreement is asserted to stay as noted.
  static let pythonDiffers: [String: String] = [
    // sigstore-python dates only dsse/hashedrekord 0.0.1 entries by their SET; an intoto 0.0.2
    // entry from the public-good log is refused ("Integrated time only supported for …").
    "conformance/intoto-with-custom-trust-root": "Integrated time only supported",
    // sigstore-python treats a TSA's validFor.end as exclusive; the suite's case (and the
    // trusted root specification) make it inclusive.
    "conformance/trust-root-tsa-validity-end-inclusive": "not enough sources of verified time",
  ]

  /// The sigstore-python fixtures, verified by Gantry as the script verifies them.
  static func gantryVerdict(_ name: String) async -> Bool {
    if name.hasPrefix("conformance/") {
      if case .success = await ConformanceTests.verdict(String(name.dropFirst("conformance/".count))) { return true }
      return false
    }
    let staging = "sigstore-python/staging_trusted_root.json"
    let cases: [String: (bundle: String, root: String?, identity: String, issuer: String)] = [
      "bundle_v3_github.whl": ("bundle_v3_github.whl.sigstore", nil, "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2", ConformanceTests.defaultIssuer),
      "bundle.txt": ("bundle.txt.sigstore", staging, "a@tny.town", "https://github.com/login/oauth"),
      "bundle_v3.txt": ("bundle_v3.txt.sigstore", staging, "william@yossarian.net", "https://github.com/login/oauth"),
      "bundle_cve_2022_36056.txt": ("bundle_cve_2022_36056.txt.sigstore", staging, "william@yossarian.net", "https://github.com/login/oauth"),
      "bundle_v3_no_signed_time.txt": ("bundle_v3_no_signed_time.txt.sigstore.json", nil, "william@yossarian.net", "https://github.com/login/oauth"),
    ]
    let artifact = String(name.dropFirst("sigstore-python/".count))
    guard let c = cases[artifact] else { return false }
    do {
      let root = try c.root.map { try TrustedRoot(json: try FixtureFiles.data($0), name: $0) } ?? FixtureFiles.publicGood
      let bundle = try SigstoreBundle(json: try FixtureFiles.data("sigstore-python/\(c.bundle)"))
      _ = try await BundleVerifier(root: root, policy: IdentityPolicy(identity: c.identity, issuer: c.issuer))
        .verify(bundle, artifact: .bytes(try FixtureFiles.data("sigstore-python/\(artifact)")))
      return true
    } catch { return false }
  }

  @Test func verdictsEqualSigstorePython() async throws {
    guard FileManager.default.isExecutableFile(atPath: Self.python) else {
      Issue.record("sigstore-python venv missing at \(Self.python): run scripts/setup")
      return
    }
    let script = FixtureFiles.root.appendingPathComponent("sigstore_python_verdicts.py").path
    let r = try Subprocess.run(Self.python, [script])
    #expect(r.status == 0, "\(String(decoding: r.stderr.suffix(2000), as: UTF8.self))")
    struct Line: Decodable {
      var `case`: String
      var ok: Bool
      var error: String
    }
    let lines = try String(decoding: r.stdout, as: UTF8.self).split(separator: "\n").map { try JSONDecoder().decode(Line.self, from: Data($0.utf8)) }
    #expect(lines.count >= 70, "sigstore-python judged \(lines.count) bundles")
    for l in lines {
      let gantry = await Self.gantryVerdict(l.case)
      if let why = Self.pythonDiffers[l.case] {
        #expect(!l.ok && l.error.contains(why), "\(l.case): sigstore-python no longer differs as noted: \(l.ok) \(l.error)")
        #expect(gantry == !l.case.hasSuffix("_fail"), "\(l.case): Gantry does not follow the suite")
        continue
      }
      #expect(gantry == l.ok, "\(l.case): Gantry \(gantry ? "verifies" : "refuses"), sigstore-python \(l.ok ? "verifies" : "refuses (\(l.error))")")
    }
  }
}
