import Basics

/// An image reference, `[registry[:port]/]path[:tag][@digest]`, with Docker's defaults
/// (`docker.io`, `library/`) as the docker CLI and go-containerregistry's `pkg/name` apply them
/// ([distribution reference grammar](https://github.com/distribution/reference/blob/main/reference.go)).
public struct Reference: Sendable, Hashable, CustomStringConvertible {
  /// `host[:port]`; `docker.io` for Docker Hub.
  public let registry: String
  /// The repository path, e.g. `library/nginx`, `acme/app`.
  public let repository: String
  public let tag: String?
  public let digest: Digest?

  public init(registry: String, repository: String, tag: String? = nil, digest: Digest? = nil) {
    self.registry = registry
    self.repository = repository
    self.tag = tag
    self.digest = digest
  }

  public static let dockerHub = "docker.io"

  public init(parsing text: String) throws(ReferenceError) {
    let trimmed = text.trimmingCharactersInSet(" \t\n")
    guard !trimmed.isEmpty else { throw ReferenceError(text: text, reason: "empty") }
    // A URL pasted from a browser or a registry's web page: say what to drop.
    if let scheme = trimmed.firstRange(of: "://") {
      throw ReferenceError(text: text, reason: "an image reference has no scheme: drop '\(trimmed[..<scheme.upperBound].clipped(to: 16))' (e.g. ghcr.io/acme/app:1.2.0)")
    }
    var rest = Substring(trimmed)
    var digest: Digest?
    if let at = rest.firstIndex(of: "@") {
      digest = try Digest(parsing: String(rest[rest.index(after: at)...]))
      rest = rest[..<at]
    }
    var tag: String?
    let lastSlash = rest.lastIndex(of: "/")
    if let colon = rest.lastIndex(of: ":"), lastSlash.map({ colon > $0 }) ?? true {
      let name = String(rest[rest.index(after: colon)...])
      rest = rest[..<colon]
      guard Reference.isValidTag(name) else {
        throw ReferenceError(text: text, reason: "tag '\(name.clipped(to: 100))' must match [A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
      }
      tag = name
    }
    var parts = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    var registry = Reference.dockerHub
    if parts.count > 1, let first = parts.first, first.contains(".") || first.contains(":") || first == "localhost" || first.first?.isUppercase == true {
      guard Reference.isValidHost(first) else {
        throw ReferenceError(
          text: text, reason: "registry '\(first.clipped(to: 100))' is not host[:port] (host: DNS labels of letters, digits and '-' joined by '.', an IPv4 address or [IPv6]; port: 1-65535)")
      }
      // Lower-cased only while that still reads as a registry: `Host/app` (a single label
      // told apart by its capital) printed as `host/app` would name Docker Hub's `host/app`.
      let lower = Reference.canonicalPort(first.lowercased())
      registry = lower.contains(".") || lower.contains(":") || lower == "localhost" ? lower : first
      parts.removeFirst()
      if registry == "index.docker.io" || registry == "registry-1.docker.io" { registry = Reference.dockerHub }
    }
    if registry == Reference.dockerHub && parts.count == 1 { parts.insert("library", at: 0) }
    for p in parts where !Reference.isValidPathComponent(p) {
      throw ReferenceError(text: text, reason: "repository path component '\(p.clipped(to: 100))' must be lower-case letters and digits separated by '.', '_', '__' or '-'")
    }
    guard !parts.isEmpty, parts.joined(separator: "/").count <= 255 else {
      throw ReferenceError(text: text, reason: "repository name is empty or longer than 255 characters")
    }
    self.init(registry: registry, repository: parts.joined(separator: "/"), tag: tag, digest: digest)
  }

  /// `registry/repository` — the repository's full name.
  public var name: String { "\(registry)/\(repository)" }

  /// ``name`` as one server sees it, for telling repositories apart: `ghcr.io:443/app` is
  /// `ghcr.io/app` (https' own port), though the two stay two names elsewhere, as in docker
  /// (credentials are looked up by the name written).
  public var repositoryKey: String {
    registry.hasSuffix(":443") ? "\(registry.dropLast(4))/\(repository)" : name
  }

  /// The tag or digest to ask the registry for (digest wins); `latest` when neither is given.
  public var identifier: String { digest?.description ?? tag ?? "latest" }

  public var description: String {
    var s = name
    if let tag { s += ":\(tag)" }
    if let digest { s += "@\(digest)" }
    return s
  }

  public func with(tag: String?) -> Reference { Reference(registry: registry, repository: repository, tag: tag, digest: nil) }
  public func with(digest: Digest) -> Reference { Reference(registry: registry, repository: repository, tag: nil, digest: digest) }

  /// The host that serves the API (`registry-1.docker.io` for Docker Hub).
  public var apiHost: String { registry == Reference.dockerHub ? "registry-1.docker.io" : registry }

  /// `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
  public static func isValidTag(_ tag: String) -> Bool {
    guard let first = tag.first, tag.count <= 128, first.isASCII, first.isLetter || first.isNumber || first == "_" else {
      return false
    }
    return tag.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
  }

  /// `host[:port]` as the distribution grammar has it: DNS labels (`[A-Za-z0-9]`, `-` inside)
  /// joined by `.`, or `[IPv6]`; a port of 1-65535. Anything else would make no URL.
  public static func isValidHost(_ text: String) -> Bool {
    var host = Substring(text)
    if host.hasPrefix("[") {
      guard let close = host.firstIndex(of: "]") else { return false }
      let inside = host[host.index(after: host.startIndex)..<close]
      guard inside.count >= 2, inside.count <= 45, inside.contains(":"), inside.allSatisfy({ $0.isASCII && ($0.isHexDigit || $0 == ":" || $0 == ".") }) else { return false }
      host = host[host.index(after: close)...]
      if host.isEmpty { return true }
      guard host.first == ":" else { return false }
      return isValidPort(host.dropFirst())
    }
    if let colon = host.firstIndex(of: ":") {
      guard isValidPort(host[host.index(after: colon)...]) else { return false }
      host = host[..<colon]
    }
    guard !host.isEmpty, host.utf8.count <= 253 else { return false }
    return host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
      guard let f = label.first, let l = label.last, label.count <= 63 else { return false }
      let alnum: (Character) -> Bool = { $0.isASCII && ($0.isLetter || $0.isNumber) }
      return alnum(f) && alnum(l) && label.allSatisfy { alnum($0) || $0 == "-" }
    }
  }

  /// `host:05000` → `host:5000`: curl reads a port's leading zeros away, so both spell one
  /// registry, and a release's one-image-per-repository rule, its history and its credentials
  /// must see one name. Call it on a valid `host[:port]`.
  static func canonicalPort(_ host: String) -> String {
    let port: String.Index?
    if host.hasPrefix("[") {
      port = host.firstIndex(of: "]").flatMap { close in host[close...].dropFirst().first == ":" ? host.index(close, offsetBy: 2) : nil }
    } else {
      port = host.firstIndex(of: ":").map { host.index(after: $0) }
    }
    guard let port, host[port...].first == "0", let n = Int(host[port...]) else { return host }
    return String(host[..<port]) + String(n)
  }

  private static func isValidPort(_ text: Substring) -> Bool {
    guard (1...5).contains(text.count), text.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(text) else { return false }
    return (1...65_535).contains(n)
  }

  /// `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`
  static func isValidPathComponent(_ p: String) -> Bool {
    guard let first = p.first, let last = p.last, isLowerAlnum(first), isLowerAlnum(last) else { return false }
    var separator = ""
    for c in p {
      if isLowerAlnum(c) {
        guard separator.isEmpty || separator == "." || separator == "_" || separator == "__" || separator.allSatisfy({ $0 == "-" }) else { return false }
        separator = ""
      } else if c == "." || c == "_" || c == "-" {
        separator.append(c)
      } else {
        return false
      }
    }
    return true
  }

  private static func isLowerAlnum(_ c: Character) -> Bool { c.isASCII && (c.isNumber || (c.isLetter && c.isLowercase)) }
}

extension String {
  fileprivate func trimmingCharactersInSet(_ set: String) -> String {
    var s = Substring(self)
    while let f = s.first, set.contains(f) { s.removeFirst() }
    while let l = s.last, set.contains(l) { s.removeLast() }
    return String(s)
  }
}
