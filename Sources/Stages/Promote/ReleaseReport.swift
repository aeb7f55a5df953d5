import ActionsCore
import Basics
import FoundationEssentials
import HTTP
import OCI

/// What a release reports: the outputs (a JSON map of digests, totals) and one summary table
/// of the whole release, with every failing image and why.
struct ReleaseReport {
  var releaseID: String
  var environment: String?
  var images: [PromoteSettings]
  /// Each image's place in the release manifest (a copy job has a shard of them).
  var positions: [Int]
  /// The plan of each image (nil: it could not be read).
  var plans: [ImagePlan?]
  var failures: [Release.ImageFailure] = []
  var copies: [CopyReport] = []
  /// Per image, the tags that already pointed at it.
  var unchanged: [Set<String>] = []
  var status = ""
  /// The release's GitHub deployment (`deployment: true`): its id, empty when GitHub refused;
  /// nil when none was asked for.
  var deploymentID: String?
  /// What the summary says of the deployment.
  var deploymentNote: String?

  /// Target repository → digest, as compact JSON with sorted keys. Both are validated values
  /// (a parsed reference, a digest), never text read from a registry.
  func digestsJSON() -> String {
    var map: [String: JSONValue] = [:]
    for plan in plans.compactMap({ $0 }) { map[plan.target.description] = .string(plan.root.digest.description) }
    return (try? JSONValue.object(map).serialized()).flatMap { String(validating: $0, as: UTF8.self) } ?? "{}"
  }

  /// The outputs of a release that went through (`status`: promoted, validated, copied, dry-run).
  func outputs(status: String, started: ContinuousClock.Instant, clock: ContinuousClock) -> Outputs {
    var o = failureOutputs()
    o["digests"] = digestsJSON()
    o["status"] = status
    o["duration-ms"] = String((clock.now - started).milliseconds)
    return o
  }

  /// The outputs of a release that stopped: no `digests`, since nothing was promoted (a step
  /// run `if: failure()` must not read them as live).
  func failureOutputs() -> Outputs {
    var o = Outputs()
    o["release-id"] = releaseID
    o["status"] = status
    o["bytes-copied"] = String(copies.reduce(Int64(0)) { $0.addingSaturating($1.bytesCopied) })
    o["bytes-mounted"] = String(copies.reduce(Int64(0)) { $0.addingSaturating($1.bytesMounted) })
    o["blobs-skipped"] = String(copies.reduce(0) { $0 + $1.blobsSkipped })
    if let deploymentID { o["deployment-id"] = deploymentID }
    return o
  }

  func render() -> StepSummary {
    var s = StepSummary()
    s.heading("Release \(releaseID): \(status)")
    if let environment {
      // Rendered for a promoted release, or one that moved nothing (validated, copied, stopped).
      s.raw("Environment: \(Markdown.code(environment)) (\(status == "promoted" ? "its tags moved last" : "its tags move last, after every copy; no tag moved"))")
    }
    if let deploymentNote { s.paragraph(deploymentNote) }
    let failing = Dictionary(failures.map { ($0.index, $0.why) }, uniquingKeysWith: { a, _ in a })
    s.table(
      ["#", "Target", "Source", "Digest", "Tags", "Copied", "Result"],
      images.enumerated().map { i, image in
        let position = i < positions.count ? positions[i] : i
        let plan = i < plans.count ? plans[i] : nil
        let copy = i < copies.count ? copies[i] : nil
        let same = i < unchanged.count ? unchanged[i] : []
        return [
          String(position), Markdown.code(image.target.with(tag: nil).description), Markdown.code(image.source.description),
          plan.map { Markdown.code($0.root.digest.short) } ?? "",
          image.tags.map { Markdown.code($0) + (same.contains($0) ? " (already here)" : "") }.joined(separator: " "),
          copy.map { "\($0.blobsCopied) blobs, \(ByteSize.format($0.bytesCopied))" } ?? "",
          failing[position].map { "✗ " + Markdown.cell($0) } ?? (status == "promoted" ? "✓ promoted" : status == "dry-run" ? "✓ would promote" : "✓ passed"),
        ]
      })
    if !failures.isEmpty {
      s.heading("Why the release stopped (nothing was copied and no tag moved)", level: 3)
      s.table(["#", "Target", "Failed"], failures.map { [String($0.index), Markdown.code($0.label), Markdown.cell($0.why)] })
    }
    return s
  }
}
