import Basics
import FoundationEssentials

/// A commit as the API lists it.
public struct GitHubCommit: Sendable, Decodable, Equatable {
  public struct Inner: Sendable, Decodable, Equatable { public var message: String }
  public var sha: String
  public var commit: Inner
  public var message: String { commit.message }
}

/// A tag as `GET /repos/{owner}/{repo}/tags` lists it (the commit it points at, dereferenced).
public struct GitHubTag: Sendable, Decodable, Equatable {
  public struct Target: Sendable, Decodable, Equatable { public var sha: String }
  public var name: String
  public var commit: Target
}

/// How `head` relates to `base` ([compare](https://docs.github.com/en/rest/commits/commits#compare-two-commits)).
public struct GitHubComparison: Sendable, Equatable {
  /// ahead, behind, identical or diverged.
  public var status: String
  /// Every commit in base..head, oldest first (all pages).
  public var commits: [GitHubCommit]
}

/// The repository facts the version stage needs, and its two writes (a tag, a release),
/// through the REST API: for shallow checkouts (actions/checkout's default) and images without git.
public struct GitHubRepository: Sendable {
  public let client: GitHubClient

  public init(client: GitHubClient) { self.client = client }

  /// - Throws: ``GitHubError`` when the repository has more tags than Gantry reads (a cut
  ///   list would read as one without the releases past the cut), saying where to read them.
  public func tags() async throws -> [GitHubTag] {
    do {
      return try await client.all(client.repoPath("/tags"), operation: "list tags")
    } catch GitHubError.listTooLong(let operation, let pages, _, _) {
      let hint = ": more tags than Gantry reads through the API; check out the history with its tags (actions/checkout with fetch-depth: 0) so that git is read instead"
      throw GitHubError.listTooLong(operation: operation, pages: pages, what: " of 100 tags", hint: hint)
    }
  }

  /// `base...head` with every commit: the compare endpoint returns at most 250 commits
  /// unless paginated, so pages of 100 are read until `total_commits` are in hand.
  public func compare(_ base: String, _ head: String) async throws -> GitHubComparison {
    struct Page: Decodable {
      var status: String
      var total_commits: Int
      var commits: [GitHubCommit]
    }
    let path = client.repoPath("/compare/\(base)...\(head)")
    var commits: [GitHubCommit] = []
    var status = ""
    var page = 1
    while true {
      guard let p = try await client.requestIfPresent("GET", path, query: ["per_page": "100", "page": String(page)], operation: "compare \(base)...\(head)", as: Page.self) else {
        throw GitHubError.notFound(operation: "compare \(base)...\(head)", message: "no such tag or commit")
      }
      status = p.status
      for c in p.commits { try Self.expectObjectName(c.sha, "compare \(base)...\(head)") }
      commits += p.commits
      if p.commits.isEmpty || commits.count >= p.total_commits { break }
      // Capped as every list is: 1,000 pages held 100,000 commits and were then used as whole.
      guard page < client.configuration.maxPages else {
        throw GitHubError.listTooLong(operation: "compare \(base)...\(head)", pages: client.configuration.maxPages, what: " (\(commits.count) of \(p.total_commits) commits)", hint: "")
      }
      page += 1
    }
    return GitHubComparison(status: status, commits: commits)
  }

  /// Every commit reachable from `head`, oldest first (when there is no tag yet).
  public func history(_ head: String) async throws -> [GitHubCommit] {
    let operation = "list commits of \(head)"
    let newestFirst: [GitHubCommit] = try await client.all(client.repoPath("/commits"), query: ["sha": head], operation: operation)
    for c in newestFirst { try Self.expectObjectName(c.sha, operation) }
    return newestFirst.reversed()
  }

  /// The commit a tag points at (annotated tags dereferenced), or nil when it does not exist.
  public func commit(ofTag tag: String) async throws -> String? {
    struct Ref: Decodable {
      struct Object: Decodable { var sha: String; var type: String }
      var object: Object
    }
    guard let ref = try await client.requestIfPresent("GET", client.repoPath("/git/ref/tags/\(tag)"), operation: "read tag \(tag)", as: Ref.self) else { return nil }
    try Self.expectObjectName(ref.object.sha, "read tag \(tag)")
    guard ref.object.type == "tag" else { return ref.object.sha }
    guard let annotated = try await client.requestIfPresent("GET", client.repoPath("/git/tags/\(ref.object.sha)"), operation: "read tag object \(tag)", as: Ref.self) else { return nil }
    try Self.expectObjectName(annotated.object.sha, "read tag object \(tag)")
    return annotated.object.sha
  }

  /// An object name from the API is 40 or 64 hex digits: it goes into the next request's
  /// path (`../../x`, `?`, `#` or a new line would make another request of it, or a
  /// megabyte-long error), into the message comparing commits, and (a listed commit's) into
  /// the changelog as it is: `<!--` there hid the rest of the summary and of the release notes.
  static func expectObjectName(_ sha: String, _ operation: String) throws {
    guard sha.utf8.count == 40 || sha.utf8.count == 64, sha.isASCIIHex else {
      throw GitHubError.unexpected(operation: operation, status: 200, message: "the answer names object '\(sha.clipped(to: 80))', which is no object name (40 or 64 hex digits)")
    }
  }

  /// Creates `refs/tags/<tag>` at `sha`; annotated (a tag object with `message`) when a message is given.
  /// ([git refs](https://docs.github.com/en/rest/git/refs#create-a-reference), [git tags](https://docs.github.com/en/rest/git/tags#create-a-tag-object)).
  public func createTag(_ tag: String, at sha: String, message: String?) async throws {
    struct Object: Decodable { var sha: String }
    var target = sha
    if let message {
      let object = try await client.request(
        "POST", client.repoPath("/git/tags"), body: ["tag": tag, "message": message, "object": sha, "type": "commit"], operation: "create tag object \(tag)", as: Object.self)
      target = object.sha
    }
    struct Ref: Decodable { var ref: String }
    _ = try await client.request("POST", client.repoPath("/git/refs"), body: ["ref": "refs/tags/\(tag)", "sha": target], operation: "create tag \(tag)", as: Ref.self)
  }

  /// A release, as the API returns it: the two fields Gantry uses (an `id` it never reads
  /// is not decoded, so no odd one can fail the run).
  public struct Release: Sendable, Decodable, Equatable {
    public var html_url: String
    public var tag_name: String
  }

  /// The release of `tag`, or nil. A release of another tag is an error, not that tag's: it
  /// would be reported as this one's and its page linked as this release.
  public func release(tag: String) async throws -> Release? {
    let operation = "read release \(tag)"
    guard let release = try await client.requestIfPresent("GET", client.repoPath("/releases/tags/\(tag)"), operation: operation, as: Release.self) else { return nil }
    try Self.expect(release, of: tag, operation)
    return release
  }

  static func expect(_ release: Release, of tag: String, _ operation: String) throws {
    guard release.tag_name == tag else {
      throw GitHubError.unexpected(operation: operation, status: 200, message: "the answer is the release of tag '\(release.tag_name.clipped(to: 100))', not \(tag)")
    }
  }

  /// GitHub refuses a release body longer than this many characters (Unicode code points):
  /// "body is too long (maximum is 125000 characters)", a 422, documented nowhere else.
  public static let maxReleaseBody = 125_000

  /// `body` within ``maxReleaseBody``: cut at a line end, with a note of what was left out. A
  /// changelog is commit subjects, which anyone whose commit is merged writes: one of 200 KB
  /// (or a first release of a long history) made GitHub refuse the release.
  public static func fitted(releaseBody body: String) -> String {
    let scalars = body.unicodeScalars
    guard scalars.count > maxReleaseBody else { return body }
    let note = "\n\n*Release notes cut: GitHub keeps at most \(maxReleaseBody) characters; the step's changelog output has more.*"
    var end = scalars.index(scalars.startIndex, offsetBy: maxReleaseBody - note.unicodeScalars.count)
    if let newline = scalars[..<end].lastIndex(of: "\n") { end = newline }
    return String(scalars[..<end]) + note
  }

  /// Creates a release ([releases](https://docs.github.com/en/rest/releases/releases#create-a-release)).
  /// With `body` nil, GitHub generates the notes.
  public func createRelease(tag: String, sha: String, name: String, body: String?, prerelease: Bool) async throws -> Release {
    var payload: [String: JSONValue] = ["tag_name": .string(tag), "target_commitish": .string(sha), "name": .string(name), "prerelease": .bool(prerelease), "draft": false]
    if let body { payload["body"] = .string(Self.fitted(releaseBody: body)) } else { payload["generate_release_notes"] = true }
    let operation = "create release \(tag)"
    let release = try await client.request("POST", client.repoPath("/releases"), body: payload, operation: operation, as: Release.self)
    try Self.expect(release, of: tag, operation)
    return release
  }
}
