import ActionsCore
import Basics
import FoundationEssentials
import Sigstore

/// The `require-provenance` and `require-attestations` gates over the attestations found for
/// the digest (each already verified, or not, by ``KeylessVerification``), and `policy-mode`.
struct AttestationGate {
  let settings: SupplyChainSettings

  /// Checklist names this gate and the signature gate produce: what `policy-mode: audit` relaxes.
  static let auditable: Set<String> = ["signature", "provenance", "attestations"]

  func checks(_ found: [AttestationCheck]) -> [Check] {
    var checks: [Check] = []
    let verified = found.filter(\.isVerified)
    if settings.requireProvenance {
      let slsa = verified.filter { $0.provenance != nil }
      var problems: [String] = []
      var passed: AttestationCheck?
      for a in slsa {
        guard let p = a.provenance else { continue }
        do {
          try settings.provenance.check(p, signedBy: a.identity)
          passed = a
          break
        } catch {
          problems.append("\(a.location): \(error.message)")
        }
      }
      if let a = passed, let p = a.provenance {
        let detail = "\(a.predicateType ?? "") by \(p.builderID ?? "unknown builder") from \(p.sourceRepository ?? "unknown source")\(p.sourceRef.map { " @ \($0)" } ?? "") (\(a.signer ?? ""))"
        checks.append(Check(name: "provenance", passed: true, detail: detail))
      } else if slsa.isEmpty {
        let failed = found.filter { !$0.isVerified }.map { "\($0.location): \($0.error ?? "")" }
        checks.append(
          Check(
            name: "provenance", passed: false,
            detail: "no verified SLSA provenance attestation of the digest" + (failed.isEmpty ? " (looked for .att layers and Sigstore bundle referrers)" : "; " + Self.reasons(failed))))
      } else {
        checks.append(Check(name: "provenance", passed: false, detail: "no provenance matches the provenance-* inputs: " + Self.reasons(problems)))
      }
    }
    if !settings.requiredAttestations.isEmpty {
      let have = Set(verified.compactMap(\.predicateType))
      let missing = settings.requiredAttestations.filter { !have.contains($0) }
      checks.append(
        Check(
          name: "attestations", passed: missing.isEmpty,
          detail: missing.isEmpty ? "verified: " + settings.requiredAttestations.joined(separator: ", ") : "no verified attestation of type " + missing.joined(separator: ", ")))
    }
    return checks
  }

  /// Why each candidate failed, for a refusal's one line: the first few (the registry decides
  /// how many candidates there are; the summary lists every one).
  static func reasons(_ items: [String], shown: Int = 5) -> String {
    items.joinedFirst(shown, separator: "; ", more: " (the summary lists each)")
  }

  /// In audit mode, a failed supply-chain check becomes a warning and passes.
  static func apply(_ mode: SupplyChainSettings.Mode, to checks: [Check], log: Log) -> [Check] {
    guard mode == .audit else { return checks }
    return checks.map { c in
      guard !c.passed, auditable.contains(c.name) else { return c }
      log.warning("\(c.name): \(c.detail) (policy-mode audit: promoting anyway)", title: "Supply-chain policy (audit)")
      return Check(name: c.name, passed: true, detail: "audit, would refuse: \(c.detail)")
    }
  }
}
