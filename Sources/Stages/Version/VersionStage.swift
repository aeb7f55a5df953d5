import ActionsCore
import Basics
import FoundationEssentials
import GitHub
import Versioning

/// `version`: the version of the code — from a manifest file, or the latest tag plus the bump
/// the conventional commits since then ask for — with snapshot/dev tags and a changelog.
public struct VersionStage: Stage {
  public static let name = "version"
  public static let abstract = "The code's version from a manifest file or tags + conventional commits; snapshot/dev tags; changelog"

  /// Also build-tag's (the same rule reads it there).
  static let shaInput = InputDeclaration("sha", "Commit SHA (7 to 64 hex digits); version reads the history from this commit. Default: GITHUB_SHA")

  public static let inputs: [InputDeclaration] = [
    InputDeclaration(
      "source", "Where the version comes from: auto (a manifest file when found, else tags), file, tags, conventional", kind: .choice(["auto", "file", "tags", "conventional"]), default: "auto"),
    InputDeclaration(
      "file", "version: manifest file (pyproject.toml, package.json, Cargo.toml, Chart.yaml, pom.xml, gradle.properties, VERSION or any file with `pattern`), relative to the workspace"),
    InputDeclaration("pattern", "version: regex whose first group is the version, for files Gantry does not know"),
    InputDeclaration("tag-prefix", "version: prefix of release tags; none for unprefixed tags (1.2.3). Tags without the prefix are not releases", default: "v"),
    InputDeclaration("release-as", "version: force this version (conventional source)"),
    InputDeclaration("initial-version", "version: the version before any tag exists", default: "0.0.0"),
    InputDeclaration("major-on-zero", "version: let a breaking change on 0.x bump to 1.0.0 (default: bump the minor)", kind: .boolean, default: "false"),
    shaInput,
    InputDeclaration("working-directory", "version: the checkout (default: GITHUB_WORKSPACE, else the current directory)"),
    InputDeclaration(
      "history", "version: where tags and commits are read: auto (the checkout when it has full history, else the GitHub API), git, github-api", kind: .choice(["auto", "git", "github-api"]),
      default: "auto"),
    GitHubInputs.token,
    InputDeclaration("create-tag", "version: create the release tag (tag-prefix + version) at the commit through the GitHub API", kind: .boolean, default: "false"),
    InputDeclaration("tag-message", "version: make the created tag annotated, with this message (default: lightweight)"),
    InputDeclaration("create-release", "version: create a GitHub release for the tag", kind: .boolean, default: "false"),
    InputDeclaration(
      "release-notes",
      "version: the release body: changelog (Gantry's, from conventional commits; a release of the latest existing tag gets GitHub's, the changelog listing the commits after it) or generated (GitHub's)",
      kind: .choice(["changelog", "generated"]), default: "changelog"),
    RegistryInputs.dryRun,
    StageTimeout.input,
  ]

  public static let outputs: [OutputDeclaration] = [
    RegistryInputs.versionOutput,
    OutputDeclaration("previous-version", "version: the latest release tag's version"),
    OutputDeclaration("next-version", "version: the version the commits since the last tag call for"),
    OutputDeclaration("bump", "version: major, minor, patch or none"),
    OutputDeclaration("major", "version: major number"),
    OutputDeclaration("minor", "version: minor number"),
    OutputDeclaration("patch", "version: patch number"),
    OutputDeclaration("prerelease", "version: prerelease identifiers (rc.1), or empty"),
    OutputDeclaration("is-prerelease", "version: true for a prerelease"),
    OutputDeclaration("sha", "version: the commit"),
    OutputDeclaration("short-sha", "version: the commit's first 7 hex digits"),
    OutputDeclaration("snapshot-tag", "version: X.Y.Z-SNAPSHOT-<sha7>"),
    OutputDeclaration("dev-tag", "version: dev-<sha7>"),
    OutputDeclaration("tag", "version: the release tag (tag-prefix + version)"),
    OutputDeclaration("changelog", "version: markdown release notes from the commits since the last tag (commit text: read it through env:, never inline it in a run: script)"),
    OutputDeclaration("commits", "version: number of commits since the last tag"),
    OutputDeclaration("version-source", "version: what the version was read from (file path, tag, or tag + commits)"),
    OutputDeclaration("history-source", "version: where tags and commits were read: git, github-api, or none"),
    OutputDeclaration("tag-created", "version: created, exists (already at this commit), dry-run, or empty when not asked"),
    OutputDeclaration("release-url", "version: the GitHub release's page, when create-release"),
  ]

  public init() {}

  public func run(_ context: StageContext) async throws -> StageResult {
    let inputs = context.inputs
    let env = context.environment
    let directory =
      inputs.string("working-directory").map { $0.hasPrefix("/") ? $0 : (env.workspace ?? FileManager.default.currentDirectoryPath) + "/" + $0 }
      ?? env.workspace ?? FileManager.default.currentDirectoryPath
    // A mistyped working-directory is the input's fault, not "no git checkout" (exit 1).
    // (A link is left to the checkout rules below, which say where it leads.)
    if inputs.string("working-directory") != nil {
      switch Files.kind(atPath: directory) {
      case nil: throw InputError("working-directory", "\(directory) does not exist (relative paths start at the workspace)")
      case .regular: throw InputError("working-directory", "\(directory) is a file, not a directory")
      default: break
      }
    }
    let prefix = try Self.tagPrefix(inputs)
    let majorOnZero = try inputs.bool("major-on-zero")
    let initial = try Self.version(inputs, "initial-version", default: "0.0.0", prefix: prefix)
    var source = try inputs.choice("source") ?? "auto"
    let explicitFile = inputs.string("file").map { $0.hasPrefix("/") ? $0 : "\(directory)/\($0)" }
    // Links in manifests are followed within the checkout only.
    let checkout = env.workspace ?? directory
    if source == "auto" { source = (explicitFile != nil || ManifestFiles.find(in: directory, checkout: checkout) != nil) ? "file" : "tags" }

    // The commit: the sha input, else GITHUB_SHA, else HEAD. The history is read from that
    // same commit, so `version` and `snapshot-tag` always describe one commit.
    let shaInput = try Self.commitSHA(inputs.string("sha"), name: "the sha input")
    // Not "no checkout here" when libgit2 itself is missing: that says what to install.
    if let problem = GitRepository.libraryProblem { throw StageFailure(problem, title: "version failed") }
    let repo = try? GitRepository(path: directory)
    let envSHA = try Self.commitSHA(env.sha, name: "GITHUB_SHA")
    var sha = shaInput ?? envSHA ?? (try? repo?.head()) ?? ""
    var readHistory = true
    if let repo, !sha.isEmpty, !repo.isShallow, try inputs.choice("history") != "github-api" {
      do { sha = try repo.resolveCommit(sha) } catch let e as VersionSourceError {
        if shaInput == nil, let head = try? repo.head() {
          context.log.warning("GITHUB_SHA \(sha.prefix(12)) is not in the checkout at \(directory); versioning its HEAD \(head.prefix(12)) (set sha to choose the commit)")
          sha = head
        } else if source == "file" {
          // The file gives the version; only previous-version and the changelog need history.
          context.log.warning("sha \(sha.prefix(12)): \(e.description); previous-version and changelog are left empty")
          readHistory = false
        } else {
          // Unset, the sha is GITHUB_SHA's, and the checkout has no HEAD to version instead.
          let advice =
            shaInput == nil
            ? "GITHUB_SHA \(sha.prefix(12)): \(e.description) at \(directory), which has no commit checked out: check out that commit"
            : "sha \(sha.prefix(12)): \(e.description) at \(directory): check out that commit, or leave sha unset to version HEAD"
          throw StageFailure(advice, title: "version failed")
        }
      }
    }
    let history = readHistory ? try chooseHistory(context, repo: repo, directory: directory, sha: sha, needed: source != "file") : nil
    if let history { context.doing("reading the release tags and commits (\(history.kind))") }
    let found = try await history?.release(prefix: prefix)
    for warning in found?.warnings ?? [] { context.log.warning(warning) }
    let last = found?.last
    let commits = found?.commits ?? []
    let previous = last?.version ?? initial
    let bump = commits.map(\.bump).max() ?? .none
    let next: SemVer
    do { next = try bump.apply(to: previous, majorOnZero: majorOnZero) } catch let e as SemVerError {
      // Fatal only when the bumped version is the answer (conventional, without release-as).
      if source != "conventional" || inputs.string("release-as") != nil {
        context.log.warning("next-version: \(e.description); left at \(previous)")
        next = previous
      } else if last == nil {
        throw InputError("initial-version", "\(e.description); a \(bump.rawValue) bump is due")
      } else {
        throw StageFailure("the latest release tag \(last?.tag ?? ""): \(e.description); a \(bump.rawValue) bump is due", title: "version failed")
      }
    }

    let version: SemVer
    let origin: String
    switch source {
    case "file":
      guard let path = explicitFile ?? ManifestFiles.find(in: directory, checkout: checkout) else {
        throw InputError("file", "no manifest file found in \(directory); looked for \(ManifestFiles.known.joined(separator: ", "))")
      }
      let text: String
      do { text = try ManifestFiles.read(path, pattern: inputs.string("pattern"), checkout: checkout) } catch let e as VersionSourceError {
        throw InputError(inputs.string("pattern") != nil ? "pattern" : "file", e.description)
      }
      do { version = try SemVer(parsing: text, prefix: "v") } catch let e as SemVerError { throw StageFailure("\(path.lastPathComponent): \(e.description)", title: "version failed") }
      origin = path.lastPathComponent
    case "tags":
      version = previous
      origin = last.map { "tag \($0.tag)" } ?? "initial-version \(initial) (no \(prefix)* tag yet)"
    default:
      if let forced = inputs.string("release-as") {
        version = try Self.version(inputs, "release-as", default: forced, prefix: prefix)
        origin = "release-as"
      } else {
        version = next
        origin = (last.map { "tag \($0.tag)" } ?? "initial-version \(initial)") + " + \(commits.count) commit\(commits.count == 1 ? "" : "s")"
      }
    }

    let short = String(sha.prefix(7))
    let changelog = Changelog.markdown(commits, escape: Markdown.text)
    var o = Outputs()
    o["version"] = version.description
    o["previous-version"] = last?.version.description ?? ""
    o["next-version"] = next.description
    o["bump"] = bump.rawValue
    o["major"] = String(version.major)
    o["minor"] = String(version.minor)
    o["patch"] = String(version.patch)
    o["prerelease"] = version.prerelease.joined(separator: ".")
    o["is-prerelease"] = String(version.isPrerelease)
    o["sha"] = sha
    o["short-sha"] = short
    o["snapshot-tag"] = short.isEmpty ? "" : "\(version.core)-SNAPSHOT-\(short)"
    o["dev-tag"] = short.isEmpty ? "" : "dev-\(short)"
    o["tag"] = prefix + version.description
    o["changelog"] = changelog
    o["commits"] = String(commits.count)
    o["version-source"] = origin
    o["history-source"] = history?.kind ?? "none"

    // Writes, only when asked.
    let createTag = try inputs.bool("create-tag")
    let createRelease = try inputs.bool("create-release")
    var tagState = ""
    var releaseURL = ""
    if createTag || createRelease {
      // The API client the history already uses, or one made now: writes go through the API only.
      guard let api = (history as? GitHubCommitHistory)?.repo ?? GitHubRepository.from(context) else {
        throw InputError("github-token", "create-tag and create-release need github-token and GITHUB_REPOSITORY (set in GitHub Actions)")
      }
      guard !sha.isEmpty else { throw InputError("sha", "create-tag and create-release need the commit: set sha or GITHUB_SHA") }
      let writer = ReleaseWriter(repo: api, dryRun: try inputs.bool("dry-run"), log: context.log)
      let tag = prefix + version.description
      context.doing("creating the tag \(tag) and release through the GitHub API")
      if createTag { tagState = try await writer.tag(tag, at: sha, message: inputs.string("tag-message")) }
      if createRelease {
        // A release of the latest tag itself (source tags; a file or the commits calling for no
        // new version) holds the commits up to that tag: the changelog lists the ones after it.
        // GitHub writes such a release's notes from the release before.
        let generated = try inputs.choice("release-notes") == "generated"
        let ofLastTag = last.map { $0.version == version } ?? false
        if ofLastTag && !generated {
          context.log.notice(
            "release notes of \(tag): GitHub's generated ones, since the changelog lists the commits after tag \(last?.tag ?? tag), which this release does not hold",
            title: "Release notes")
        }
        let body = generated || ofLastTag ? nil : (changelog.isEmpty ? "No changes since \(last?.tag ?? "the beginning")." : changelog)
        releaseURL = try await writer.release(tag, sha: sha, body: body, prerelease: version.isPrerelease).url
      }
    }
    o["tag-created"] = tagState
    o["release-url"] = releaseURL

    var s = StepSummary()
    s.heading("Version \(version)")
    s.table(
      ["", ""],
      [
        ["Version", Markdown.code(version.description)], ["Read from", Markdown.cell(origin)],
        ["History", history.map { $0.kind == "git" ? "git checkout" : "GitHub API (\(env.repository ?? ""))" } ?? "none"],
        ["Previous release", last.map { Markdown.code($0.tag) } ?? "none"], ["Bump from commits", bump.rawValue],
        ["Next version", Markdown.code(next.description)], ["Snapshot tag", Markdown.code(o["snapshot-tag"] ?? "")],
      ])
    let reasons = commits.filter { $0.bump == bump && bump != .none }
    if !reasons.isEmpty {
      s.raw("**\(bump.rawValue) bump because of:** " + reasons.prefix(5).map { Markdown.code(String($0.sha.prefix(7))) + " " + Markdown.text($0.subject) }.joined(separator: "; "))
    }
    if !tagState.isEmpty { s.raw("**Tag** \(Markdown.code(prefix + version.description)): \(tagState)") }
    if !releaseURL.isEmpty { s.raw("**Release**: " + Markdown.link(releaseURL, releaseURL)) }
    if !changelog.isEmpty { s.details("Changelog (\(commits.count) commits)", changelog) }
    return StageResult(outputs: o, summary: s)
  }

  /// The `tag-prefix` input: `none` selects unprefixed tags (`1.2.3`), since an empty input
  /// cannot be told from an unset one (the runner passes every declared input, empty when
  /// unset) and so means the default `v`. A prefix must be usable in a tag name.
  static func tagPrefix(_ inputs: Inputs) throws -> String {
    let value = inputs.string("tag-prefix", default: "v")
    if value == "none" { return "" }
    let forbidden = Set(" ~^:?*[\\".unicodeScalars)
    guard value.count <= 100, !value.contains(".."), !value.contains("@{"), !value.hasPrefix("-"), !value.hasPrefix("/"),
      !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || forbidden.contains($0) })
    else {
      throw InputError("tag-prefix", "must be the start of a git tag name (no spaces, control characters, `..` or any of ~^:?*[\\), or none for unprefixed tags")
    }
    return value
  }

  /// A version input: a semantic version, with or without the tag prefix.
  static func version(_ inputs: Inputs, _ name: String, default fallback: String, prefix: String) throws -> SemVer {
    let text = inputs.string(name, default: fallback)
    do { return try SemVer(parsing: text) } catch let e as SemVerError {
      if !prefix.isEmpty, text.hasPrefix(prefix), let v = SemVer.parse(String(text.dropFirst(prefix.count))) { return v }
      throw InputError(name, e.description)
    }
  }

  /// A commit SHA from the sha input or GITHUB_SHA: 7 to 64 hex digits (SHA-256
  /// repositories have 64), nil when unset. The sha input's errors name `sha`.
  static func commitSHA(_ value: String?, name: String) throws -> String? {
    guard let value, !value.isEmpty else { return nil }
    guard (7...64).contains(value.count), value.isASCIIHex else {
      throw InputError("sha", "\(name) must be a commit SHA of 7 to 64 hex digits, got '\(value.clipped(to: 80))'")
    }
    return value.lowercased()
  }

  /// The checkout when it has the whole history; else the GitHub API; never a truncated history.
  private func chooseHistory(
    _ context: StageContext, repo: GitRepository?, directory: String, sha: String, needed: Bool
  ) throws -> (any CommitHistory)? {
    let mode = try context.inputs.choice("history") ?? "auto"
    let shallow = repo?.isShallow ?? false
    if mode != "github-api", let repo, !shallow {
      return LocalCommitHistory(repo: repo, tip: sha.isEmpty ? try repo.head() : sha)
    }
    let why = repo == nil ? "\(directory) is not a git checkout" : "\(directory) is a shallow checkout (tags and commits missing)"
    // No checkout at all is not fixed by fetch-depth: the step runs before checkout or elsewhere.
    let remedy =
      repo == nil
      ? "run actions/checkout with `fetch-depth: 0` before this step, or set working-directory to the checkout" : "set `fetch-depth: 0` on actions/checkout"
    if mode == "git" {
      guard needed else { return nil }
      throw StageFailure("\(why): \(remedy), or history: auto to use the GitHub API", title: "version failed")
    }
    guard let api = GitHubRepository.from(context), !sha.isEmpty else {
      guard needed || mode == "github-api" else { return nil }
      throw StageFailure(
        "\(why), and the GitHub API cannot be used (it needs github-token, GITHUB_REPOSITORY and the commit): \(remedy), or pass github-token", title: "version failed")
    }
    if mode == "auto" { context.log.info("\(why): reading tags and commits through the GitHub API") }
    return GitHubCommitHistory(repo: api, head: sha)
  }
}
