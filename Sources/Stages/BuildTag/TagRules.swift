import ActionsCore
import Basics
import FoundationEssentials
import OCI
import Versioning

/// The kinds of tag `build-tag` can produce.
public enum TagKind: String, Sendable, CaseIterable {
  /// `X.Y.Z` (or `vX.Y.Z`, per ``TagStyle``), the full version.
  case version
  /// `X.Y`, stable releases only.
  case minor
  /// `X`, stable releases with X ≥ 1 only.
  case major
  /// `latest`, stable releases only.
  case latest
  /// `X.Y.Z-SNAPSHOT-<sha7>`, an immutable pre-production build of version X.Y.Z.
  case snapshot
  /// `dev-<sha7>`.
  case dev
  /// `sha-<sha7>`.
  case sha
  /// The environment's name (`staging`), a moving tag for deploy tools that watch tags.
  case env
}

/// How version tags are spelled.
public enum TagStyle: String, Sendable, CaseIterable {
  case plain, v, both
}

/// Environments that release; others build snapshots.
public enum EnvironmentClass: Sendable, Equatable {
  case development, preProduction, production

  public init(_ name: String) {
    switch name.lowercased() {
    case "production", "prod", "release", "live": self = .production
    case "dev", "development", "develop", "local", "sandbox": self = .development
    default: self = .preProduction
    }
  }

  /// The tags built when `tag-rules` is not given.
  public var defaultKinds: [TagKind] {
    switch self {
    case .development: [.dev, .snapshot, .sha]
    case .preProduction: [.snapshot, .sha]
    case .production: [.version, .minor, .major, .latest]
    }
  }
}

/// Everything the tag rules look at.
public struct TagRequest: Sendable {
  public var environment: String
  public var version: SemVer?
  public var sha: String
  public var branch: String?
  public var kinds: [TagKind]
  public var style: TagStyle = .plain
  /// `auto`: latest for stable versions in production; `true`: for any stable version; `false`: never.
  public var latest: String = "auto"
  public var prefix: String = ""
  public var suffix: String = ""
  /// Templates such as `{{version}}-{{sha7}}` or `pr-{{branch}}`.
  public var extraTemplates: [String] = []

  public init(environment: String, version: SemVer?, sha: String, branch: String? = nil, kinds: [TagKind]) {
    self.environment = environment
    self.version = version
    self.sha = sha
    self.branch = branch
    self.kinds = kinds
  }

  public var sha7: String { String(sha.prefix(7)) }
}

/// A produced tag and why.
public struct PlannedTag: Sendable, Equatable {
  public var tag: String
  public var kind: String
}

/// The tag rules of the reference pipelines, as a pure function.
public enum TagRules {
  /// The OCI tag grammar: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`
  /// ([distribution spec](https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests)).
  public static func isValidTag(_ tag: String) -> Bool { Reference.isValidTag(tag) }

  /// Turns free text (a branch, a template result) into a tag: other characters become `-`,
  /// leading `.`/`-` go, at most `maxLength` characters. Empty when nothing usable is left.
  public static func sanitize(_ text: String, maxLength: Int = 128) -> String {
    var mapped = String(text.map { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) ? $0 : "-" })
    while let f = mapped.first, f == "." || f == "-" { mapped.removeFirst() }
    return String(mapped.prefix(max(0, maxLength)))
  }

  /// A version as a tag: `+` (build metadata) is not allowed in tags and becomes `_`, as Helm does.
  public static func versionTag(_ v: SemVer) -> String {
    v.description.replacingOccurrences(of: "+", with: "_")
  }

  /// At most this many `extra-tags` templates (a promotion takes at most 100 tags).
  public static let maxExtraTags = 100

  /// Produces the tags, in a stable order, without duplicates.
  /// - Throws: ``InputError`` when a rule needs a version or a SHA that is missing, or a result is not a tag.
  public static func plan(_ r: TagRequest) throws -> [PlannedTag] {
    guard r.extraTemplates.count <= maxExtraTags else {
      throw InputError("extra-tags", "\(r.extraTemplates.count) templates; at most \(maxExtraTags) are accepted")
    }
    var out: [PlannedTag] = []
    var planned = Set<String>()
    func add(_ tag: String, _ kind: String, input: String, affix: Bool = true) throws {
      let full = affix ? r.prefix + tag + r.suffix : tag
      guard isValidTag(full) else {
        // Blame what made the tag invalid: the value, else the prefix, else the suffix.
        let culprit = !affix || !isValidTag(tag) ? input : (!isValidTag(r.prefix + tag) ? "tag-prefix" : "tag-suffix")
        throw InputError(culprit, "'\(full.clipped(to: 100))' is not a valid image tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})")
      }
      if planned.insert(full).inserted { out.append(PlannedTag(tag: full, kind: kind)) }
    }
    // `tag-style` applies to every tag of the version: v1.2.3 goes with v1.2 and v1 (they were
    // 1.2 and 1 beside v1.2.3).
    func styled(_ tag: String, _ kind: String) throws {
      if r.style != .v { try add(tag, kind, input: "version") }
      if r.style != .plain { try add("v" + tag, kind, input: "version") }
    }
    func needVersion(_ kind: TagKind) throws -> SemVer {
      guard let v = r.version else {
        throw InputError("version", "the '\(kind.rawValue)' tag needs a version: set `version`, or run on a tag ref like refs/tags/v1.2.3")
      }
      return v
    }
    func needSHA(_ kind: TagKind) throws -> String {
      guard !r.sha.isEmpty else {
        // By hand, outside a runner: say what to set rather than quote an empty value.
        throw InputError("sha", "the '\(kind.rawValue)' tag needs a commit SHA and none is given: set `sha` (--sha), or GITHUB_SHA as a runner does")
      }
      guard r.sha.count >= 7, r.sha.isASCIIHex else {
        throw InputError("sha", "the '\(kind.rawValue)' tag needs a commit SHA of at least 7 hex digits (default GITHUB_SHA), got '\(r.sha.clipped(to: 100))'")
      }
      return r.sha7.lowercased()
    }

    let stable = r.version.map { !$0.isPrerelease } ?? false
    if r.latest == "true", let v = r.version, v.isPrerelease {
      throw InputError("latest", "'true' but \(v) is a prerelease; latest is only for stable releases")
    }
    for kind in r.kinds {
      switch kind {
      case .version:
        try styled(versionTag(try needVersion(kind)), "version")
      case .minor:
        let v = try needVersion(kind)
        if stable { try styled("\(v.major).\(v.minor)", "minor") }
      case .major:
        let v = try needVersion(kind)
        if stable && v.major > 0 { try styled("\(v.major)", "major") }
      case .latest:
        break  // decided below, once, from the `latest` input
      case .snapshot:
        let v = try needVersion(kind)
        try add("\(versionTag(v.core))-SNAPSHOT-\(try needSHA(kind))", "snapshot", input: "version")
      case .dev:
        try add("dev-\(try needSHA(kind))", "dev", input: "sha")
      case .sha:
        try add("sha-\(try needSHA(kind))", "sha", input: "sha")
      case .env:
        let tag = sanitize(r.environment)
        guard !tag.isEmpty else { throw InputError("environment", "'\(r.environment.clipped(to: 100))' cannot be made into a tag") }
        try add(tag, "environment", input: "environment", affix: false)
      }
    }
    let wantsLatest: Bool
    switch r.latest {
    case "true": wantsLatest = stable
    case "false": wantsLatest = false
    default: wantsLatest = stable && r.kinds.contains(.latest) && EnvironmentClass(r.environment) == .production
    }
    if wantsLatest { try add("latest", "latest", input: "latest", affix: false) }

    for template in r.extraTemplates {
      let rendered = try render(template, r)
      // Cut to leave room for tag-prefix and tag-suffix: a pull request's branch of 200
      // characters made `pr-` + 128 characters, refused as a bad tag-prefix (exit 2).
      let tag = sanitize(rendered, maxLength: 128 - r.prefix.count - r.suffix.count)
      guard !tag.isEmpty else { throw InputError("extra-tags", "'\(template.clipped(to: 100))' renders to '\(rendered.clipped(to: 100))', which has nothing usable as a tag") }
      try add(tag, "extra", input: "extra-tags")
    }
    return out
  }

  /// Placeholders: `{{version}}`, `{{major}}`, `{{minor}}`, `{{patch}}`, `{{prerelease}}`,
  /// `{{sha}}`, `{{sha7}}`, `{{branch}}`, `{{env}}`.
  public static let placeholders = ["version", "major", "minor", "patch", "prerelease", "sha", "sha7", "branch", "env"]

  static func render(_ template: String, _ r: TagRequest) throws -> String {
    var out = ""
    var rest = Substring(template)
    while let open = rest.firstRange(of: "{{") {
      out += rest[..<open.lowerBound]
      guard let close = rest[open.upperBound...].firstRange(of: "}}") else {
        throw InputError("extra-tags", "unclosed '{{' in '\(template.clipped(to: 100))'")
      }
      let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
      let value: String?
      switch name {
      case "version": value = r.version.map(versionTag)
      case "major": value = r.version.map { String($0.major) }
      case "minor": value = r.version.map { String($0.minor) }
      case "patch": value = r.version.map { String($0.patch) }
      case "prerelease": value = r.version.map { $0.prerelease.joined(separator: ".") }
      case "sha": value = r.sha.isEmpty ? nil : r.sha
      case "sha7": value = r.sha.isEmpty ? nil : r.sha7
      case "branch": value = r.branch
      case "env": value = r.environment
      default:
        throw InputError("extra-tags", "unknown placeholder '{{\(name.clipped(to: 40))}}' in '\(template.clipped(to: 100))'; known: \(placeholders.map { "{{\($0)}}" }.joined(separator: ", "))")
      }
      guard let value else {
        throw InputError("extra-tags", "'{{\(name.clipped(to: 40))}}' in '\(template.clipped(to: 100))' has no value in this run")
      }
      out += value
      rest = rest[close.upperBound...]
    }
    return out + rest
  }
}
