import ActionsCore
import Basics
import FoundationEssentials
import OCI
import Versioning

/// `build-tag`: image tags and OCI labels for an environment, with no network.
/// Tags follow the reference pipelines: `dev-<sha7>`, `X.Y.Z-SNAPSHOT-<sha7>`, `X.Y.Z`,
/// `X.Y`, `X`, `sha-<sha7>`, `latest` (stable releases only).
public struct BuildTagStage: Stage {
  public static let name = "build-tag"
  public static let abstract = "Image tags and OCI labels for an environment (no network)"

  public static let inputs: [InputDeclaration] = [
    InputDeclaration("images", "Image names, one per line (or comma-separated), e.g. ghcr.io/acme/app. The `images` output pairs each with each tag", kind: .list),
    RegistryInputs.environment.withDefault("dev"),
    RegistryInputs.version,
    VersionStage.shaInput,
    InputDeclaration("ref", "Git ref. Default: GITHUB_REF. A pull request's head branch (GITHUB_HEAD_REF) given here is read as a branch name, never a tag"),
    InputDeclaration(
      "tag-rules",
      "Tags to build, from: \(TagKind.allCases.map(\.rawValue).joined(separator: ", ")). Default by environment: dev → dev, snapshot, sha; production → version, minor, major, latest; others → snapshot, sha",
      kind: .list),
    InputDeclaration("tag-style", "Version tags as X.Y.Z (plain), vX.Y.Z (v) or both; minor and major tags follow (v1.2, v1)", kind: .choice(TagStyle.allCases.map(\.rawValue)), default: "plain"),
    InputDeclaration(
      "latest", "Add `latest`: auto (stable versions in production), true (any stable version), false. Never for a prerelease", kind: .choice(["auto", "true", "false"]), default: "auto"),
    InputDeclaration("tag-prefix", "Prefix for every generated tag except latest and the environment tag"),
    InputDeclaration("tag-suffix", "Suffix for every generated tag except latest and the environment tag"),
    InputDeclaration("extra-tags", "Extra tag templates, one per line: {{version}}, {{major}}, {{minor}}, {{patch}}, {{prerelease}}, {{sha}}, {{sha7}}, {{branch}}, {{env}}", kind: .list),
    InputDeclaration("title", "org.opencontainers.image.title. Default: the repository name"),
    InputDeclaration("description", "org.opencontainers.image.description"),
    InputDeclaration("licenses", "org.opencontainers.image.licenses (SPDX expression)"),
    InputDeclaration("source-url", "org.opencontainers.image.source and .url. Default: the GitHub repository URL"),
    InputDeclaration("created", "org.opencontainers.image.created (RFC 3339). Default: SOURCE_DATE_EPOCH (whole seconds), else now"),
    InputDeclaration("labels", "Extra labels, key=value, one per line; they override generated ones", kind: .list),
  ]

  public static let outputs: [OutputDeclaration] = [
    OutputDeclaration("tags", "build-tag: the tags, one per line"),
    OutputDeclaration("images", "build-tag: every image:tag reference, one per line (for docker/build-push-action `tags`)"),
    OutputDeclaration("labels", "build-tag: OCI labels, key=value, one per line"),
    OutputDeclaration("annotations", "build-tag: OCI annotations, key=value, one per line"),
    OutputDeclaration("json", "build-tag: tags, images, labels and version as JSON"),
    RegistryInputs.versionOutput,
  ]

  public init() {}

  public func run(_ context: StageContext) async throws -> StageResult {
    let inputs = context.inputs
    let env = context.environment
    let environment = inputs.string("environment", default: "dev")
    let ref = inputs.string("ref") ?? env.ref
    // A pull request's head branch (GITHUB_HEAD_REF, passed as `ref` to name tags after it)
    // is a name its author chose, and a branch may be called `refs/tags/v9.9.9`: that ref is
    // the branch, never a tag ref to take a version (and latest) from.
    let headBranch = env["GITHUB_HEAD_REF"].map { !$0.isEmpty && $0 == ref } ?? false
    let version = try Self.version(inputs.string("version"), ref: headBranch ? nil : ref)
    let kinds = try Self.kinds(inputs.list("tag-rules"), environment: environment)

    // Checked whether or not a tag needs it: the revision label takes it too, and a line break
    // in it added a label of the caller's choosing.
    let sha = try VersionStage.commitSHA(inputs.string("sha"), name: "the sha input") ?? VersionStage.commitSHA(env.sha, name: "GITHUB_SHA") ?? ""
    var request = TagRequest(
      environment: environment, version: version, sha: sha,
      branch: headBranch ? ref : Self.branch(ref), kinds: kinds)
    request.style = TagStyle(rawValue: try inputs.choice("tag-style") ?? "plain") ?? .plain
    request.latest = try inputs.choice("latest") ?? "auto"
    request.prefix = try Self.affix(inputs, "tag-prefix", first: true)
    request.suffix = try Self.affix(inputs, "tag-suffix", first: false)
    request.extraTemplates = inputs.list("extra-tags", commas: false)
    let tags = try TagRules.plan(request)
    if tags.isEmpty {
      throw InputError("tag-rules", "no tags were produced for environment '\(environment.clipped(to: 100))'; add tag-rules or extra-tags")
    }

    let images = try inputs.list("images").map { image in
      // The reference grammar refuses tabs, spaces, `..` and the like; the name is kept as written.
      let parsed = try? Reference(parsing: image)
      guard image.lowercased() == image, let parsed, parsed.tag == nil, parsed.digest == nil, UntrustedText.isSingleLine(image), !image.contains(" ") else {
        throw InputError("images", "'\(image.clipped(to: 100))' must be a lower-case image name without tag or digest, e.g. ghcr.io/acme/app")
      }
      return image
    }
    let references = images.flatMap { image in tags.map { "\(image):\($0.tag)" } }
    let labels = try Self.labels(inputs, env, version: version, fallbackVersion: tags[0].tag, sha: request.sha, now: context.now)

    var outputs = Outputs()
    outputs["tags"] = tags.map(\.tag).joined(separator: "\n")
    outputs["images"] = references.joined(separator: "\n")
    outputs["labels"] = labels.map { "\($0.0)=\($0.1)" }.joined(separator: "\n")
    outputs["annotations"] = outputs["labels"]
    outputs["json"] = try Self.json(tags: tags.map(\.tag), images: references, labels: labels, version: version?.description ?? "")
    outputs["version"] = version?.description ?? ""

    var summary = StepSummary()
    summary.heading("Image tags for \(environment)")
    summary.table(["Tag", "Rule"], tags.map { [Markdown.code($0.tag), $0.kind] })
    if !references.isEmpty {
      summary.details("\(references.count) image reference\(references.count == 1 ? "" : "s")", references.map { "- " + Markdown.code($0) }.joined(separator: "\n"))
    }
    summary.table(["Label", "Value"], labels.map { [Markdown.code($0.0), Markdown.cell($0.1)] })
    return StageResult(outputs: outputs, summary: summary)
  }

  /// A tag prefix (it starts the tag: `[A-Za-z0-9_][A-Za-z0-9._-]*`) or suffix (`[A-Za-z0-9._-]*`),
  /// up to 64 characters, checked here so a bad one is named rather than the tag it spoils.
  static func affix(_ inputs: Inputs, _ name: String, first: Bool) throws -> String {
    guard let v = inputs.string(name) else { return "" }
    let allowed: (Character) -> Bool = { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    guard v.count <= 64, v.allSatisfy(allowed), !first || (v.first.map { $0 != "." && $0 != "-" } ?? true) else {
      throw InputError(name, "'\(v.clipped(to: 100))' must be up to 64 of A-Z a-z 0-9 . _ -\(first ? ", not starting with . or -" : "")")
    }
    return v
  }

  /// The version from the input, else from a tag ref.
  static func version(_ input: String?, ref: String?) throws -> SemVer? {
    if let input {
      do { return try SemVer(parsing: input, prefix: "v") } catch let e as SemVerError {
        throw InputError("version", e.description)
      }
    }
    if let ref, ref.hasPrefix("refs/tags/") {
      return SemVer.parse(String(ref.dropFirst("refs/tags/".count)), prefix: "v")
    }
    return nil
  }

  static func kinds(_ list: [String], environment: String) throws -> [TagKind] {
    guard !list.isEmpty else { return EnvironmentClass(environment).defaultKinds }
    return try list.map { word in
      guard let k = TagKind(rawValue: word.lowercased()) else {
        throw InputError("tag-rules", "unknown rule '\(word.clipped(to: 100))'; expected \(TagKind.allCases.map(\.rawValue).joined(separator: ", "))")
      }
      return k
    }
  }

  /// The branch (or tag) name of a ref, for `{{branch}}`.
  static func branch(_ ref: String?) -> String? {
    guard let ref else { return nil }
    for prefix in ["refs/heads/", "refs/tags/"] where ref.hasPrefix(prefix) { return String(ref.dropFirst(prefix.count)) }
    if ref.hasPrefix("refs/pull/") { return "pr-" + (ref.split(separator: "/").dropFirst(2).first.map(String.init) ?? "") }
    return ref
  }

  static func labels(_ inputs: Inputs, _ env: ActionEnvironment, version: SemVer?, fallbackVersion: String, sha: String, now: Date) throws -> [(String, String)] {
    let created: String
    if let c = try inputs.line("created") {
      created = c
    } else if let epoch = env["SOURCE_DATE_EPOCH"] {
      // Whole seconds, as reproducible-builds.org defines it; nan, inf or a year past 9999 is
      // bad input (exit 2), never an empty `created`.
      guard let seconds = Int64(epoch.trimmingCharacters(in: .whitespaces)), (0...253_402_300_799).contains(seconds) else {
        throw InputError("SOURCE_DATE_EPOCH", "expected whole seconds since 1970 from 0 to 253402300799, got '\(epoch.clipped(to: 100))'")
      }
      created = OCILabels.timestamp(Date(timeIntervalSince1970: TimeInterval(seconds)))
    } else {
      created = OCILabels.timestamp(now)
    }
    let source = try inputs.line("source-url") ?? env.repositoryURL
    var labels: [(String, String)] = [(OCILabels.created, created)]
    func add(_ key: String, _ value: String?) { if let value, !value.isEmpty { labels.append((key, value)) } }
    add(OCILabels.revision, sha)
    add(OCILabels.version, version?.description ?? fallbackVersion)
    add(OCILabels.source, source)
    add(OCILabels.url, source)
    add(OCILabels.title, try inputs.line("title") ?? env.repository.map { String($0.split(separator: "/").last ?? "") })
    add(OCILabels.description, try inputs.line("description"))
    add(OCILabels.licenses, try inputs.line("licenses"))
    let extra: [(String, String)]
    do { extra = try OCILabels.parsePairs(inputs.list("labels", commas: false), input: "labels") } catch {
      throw InputError("labels", "'\(error.line.clipped(to: 100))' is not key=value")
    }
    for (k, v) in extra where !UntrustedText.isSingleLine(k + v) {
      throw InputError("labels", "'\("\(k)=\(v)".clipped(to: 100))' holds a control character")
    }
    for (k, v) in extra {
      labels.removeAll { $0.0 == k }
      labels.append((k, v))
    }
    return labels
  }

  static func json(tags: [String], images: [String], labels: [(String, String)], version: String) throws -> String {
    struct Document: Encodable {
      var tags: [String]
      var images: [String]
      var labels: [String: String]
      var version: String
    }
    let doc = Document(tags: tags, images: images, labels: Dictionary(labels, uniquingKeysWith: { $1 }), version: version)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(doc), as: UTF8.self)
  }
}
