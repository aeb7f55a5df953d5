import Basics
import FoundationEssentials
import TOMLKit

/// Reads a project's version from its manifest file.
public enum ManifestFiles {
  /// Files `source: auto` looks for, in this order.
  public static let known = ["pyproject.toml", "package.json", "Cargo.toml", "Chart.yaml", "pom.xml", "gradle.properties", "VERSION"]

  /// The largest manifest file read. A manifest is repository contents, which a pull request
  /// controls; the largest real ones (a workspace's Cargo.toml, a big pom.xml) are a few hundred KiB.
  public static let maxBytes = 1 << 20

  /// The first known manifest file in `directory` that carries a version.
  public static func find(in directory: String) -> String? {
    known.map { "\(directory)/\($0)" }.first { Files.kind(atPath: $0) != nil && (try? read($0)) != nil }
  }

  /// The bytes of a manifest: a regular file of at most ``maxBytes``. A symbolic link is not
  /// followed: the checkout is a pull request's, and `VERSION -> /proc/self/environ` (or any
  /// file of the runner's) would be read and quoted back in the error saying it is no version.
  static func contents(_ path: String) throws -> Data {
    switch Files.kind(atPath: path) {
    case nil: throw VersionSourceError("cannot read \(path)")
    case .regular: break
    case .symbolicLink: throw VersionSourceError("\(path) is a symbolic link; Gantry reads only a regular file in the checkout (a link could lead outside it)")
    default: throw VersionSourceError("\(path) is not a regular file")
    }
    guard let bytes = Files.readPrefix(path, limit: maxBytes + 1) else { throw VersionSourceError("cannot read \(path)") }
    guard bytes.count <= maxBytes else { throw VersionSourceError("\(path) is larger than \(maxBytes >> 20) MiB; no manifest file is") }
    return Data(bytes)
  }

  /// The version text in `path`; with `pattern`, the first capture group of that regex.
  /// - Throws: ``VersionSourceError`` saying what was missing.
  public static func read(_ path: String, pattern: String? = nil) throws -> String {
    let data = try contents(path)
    let text = String(decoding: data, as: UTF8.self)
    let name = path.lastPathComponent
    if let pattern {
      guard let re = try? Regex(pattern) else {
        throw VersionSourceError("'\(pattern)' is not a valid regular expression")
      }
      guard let m = text.firstMatch(of: re.anchorsMatchLineEndings()), m.output.count > 1, let group = m.output[1].substring else {
        throw VersionSourceError("\(name): pattern '\(pattern)' did not match (it needs one capture group around the version)")
      }
      return String(group)
    }
    switch name {
    case "pyproject.toml":
      let table = try toml(text, name)
      if let v = table["project"]?["version"]?.string { return v }
      if let v = table["tool"]?["poetry"]?["version"]?.string { return v }
      throw VersionSourceError("pyproject.toml has neither [project].version nor [tool.poetry].version")
    case "Cargo.toml":
      let table = try toml(text, name)
      if let v = table["package"]?["version"]?.string { return v }
      if let v = table["workspace"]?["package"]?["version"]?.string { return v }
      throw VersionSourceError("Cargo.toml has no [package].version")
    case "package.json":
      guard let v = JSONValue.parse(userFile: data)?["version"]?.string else {
        throw VersionSourceError("package.json has no \"version\"")
      }
      return v
    case "Chart.yaml":
      return try firstMatch(#"^version:\s*["']?([^"'\s#]+)"#, text, name, what: "a top-level version:")
    case "gradle.properties":
      return try firstMatch(#"^\s*version\s*[=:]\s*(\S+)"#, text, name, what: "version=")
    case "pom.xml":
      // The project's own <version>, not the parent's or a dependency's.
      let withoutParent = text.replacing(#/<parent>[\s\S]*?</parent>/#, with: "")
      let noDeps = withoutParent.replacing(#/<(dependencies|dependencyManagement|build|plugins|profiles)>[\s\S]*?</\1>/#, with: "")
      return try firstMatch(#"<version>\s*([^<\s]+)\s*</version>"#, noDeps, name, what: "a project <version>")
    default:
      let v = text.trimmingCharacters(in: .whitespacesAndNewlines)
      guard !v.isEmpty else { throw VersionSourceError("\(name) is empty") }
      return v
    }
  }

  private static func toml(_ text: String, _ name: String) throws -> TOMLTable {
    do { return try TOMLTable(string: text) } catch { throw VersionSourceError("\(name) is not valid TOML: \(error)") }
  }

  private static func firstMatch(_ pattern: String, _ text: String, _ name: String, what: String) throws -> String {
    let re = try Regex(pattern).anchorsMatchLineEndings()
    guard let m = text.firstMatch(of: re), m.output.count > 1, let group = m.output[1].substring else {
      throw VersionSourceError("\(name) has no \(what)")
    }
    return String(group)
  }
}

/// A version source that cannot answer.
public struct VersionSourceError: Error, Sendable, Equatable, CustomStringConvertible {
  public var description: String
  public init(_ d: String) { description = d }
}
