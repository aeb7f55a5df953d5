import ActionsCore
import Basics
import FoundationEssentials

/// The images of a release, as the `manifest` file or the `promote-images` list give them
/// (schema: docs/promote-manifest.md, docs/promote-manifest.schema.json).
///
/// The file lives in the repository, but whoever can open a pull request can change it, so it
/// is read as untrusted: size, image count, string lengths and nesting are capped, every field
/// is checked, and each error names the input, the image index and the field (exit 2).
struct ReleaseManifest: Equatable {
  /// One image of the set: where it comes from, where it goes, and overrides of promote inputs.
  struct Image: Equatable {
    var source: String
    var target: String
    /// Empty: the `tags` input, else the source tag (as for a single promotion).
    var tags: [String]
    /// Promote inputs set for this image only (name → value as an input would hold it).
    var overrides: [String: String]
  }

  var images: [Image]

  /// Caps on what a manifest may hold.
  static let maxBytes = 1 << 20
  static let maxImages = 1000
  static let maxString = 8192
  static let maxTags = 100
  static let maxDepth = 4

  /// The promote inputs an image may override. Credentials, connection settings, the
  /// environment and dry-run stay the release's: one release, one environment, one set of
  /// registry logins (a secret never belongs in a file in the repository).
  static let overridable: Set<String> = Set(
    ["platforms", "max-size", "required-labels", "no-clobber", "force", "require-signature", "cosign-public-key", "version", "copy-artifacts"] + SupplyChainSettings.inputs.map(\.name))

  /// A manifest value: a scalar (strings, numbers and booleans as text) or a list of scalars.
  enum Value: Equatable {
    case scalar(String)
    case list([String])
  }

  // MARK: The file

  /// Reads the file at `path` (relative to `workspace` unless absolute).
  static func load(_ path: String, workspace: String?) throws -> ReleaseManifest {
    let given = path.hasPrefix("/") ? path : (workspace.map { $0 + "/" + path } ?? path)
    let full: String
    switch Files.inCheckout(given, checkout: workspace) {
    case .file(let resolved): full = resolved
    case .missing: throw InputError("manifest", "'\(clip(path))' does not exist (relative paths start at the workspace)")
    case .escapes: throw InputError("manifest", "'\(clip(path))' leads outside the workspace, into its .git or to nothing through a symbolic link; a release manifest is a file of the checkout")
    }
    guard Files.kind(atPath: full) == .regular else {
      throw InputError("manifest", "'\(clip(path))' is not a regular file (relative paths start at the workspace; symbolic links are followed only within it)")
    }
    guard let bytes = Files.readPrefix(full, limit: maxBytes + 1) else { throw InputError("manifest", "cannot read '\(clip(path))'") }
    guard bytes.count <= maxBytes else { throw InputError("manifest", "'\(clip(path))' is larger than \(maxBytes >> 20) MiB") }
    return try parse(bytes)
  }

  /// Parses JSON (the first non-blank byte is `{`) or the documented YAML subset.
  static func parse(_ bytes: [UInt8]) throws -> ReleaseManifest {
    guard let text = String(validating: bytes, as: UTF8.self) else { throw InputError("manifest", "the file is not UTF-8 text") }
    let first = text.unicodeScalars.first { !$0.properties.isWhitespace }
    let items: [[(String, Value)]]
    if first == "{" || first == "[" {
      items = try fromJSON(bytes)
    } else {
      do { items = try ReleaseYAML.parse(text) } catch { throw InputError("manifest", error.description) }
    }
    return try ReleaseManifest(items: items)
  }

  private static func fromJSON(_ bytes: [UInt8]) throws -> [[(String, Value)]] {
    // Nesting is measured before decoding: the decoder recurses on it.
    var depth = 0
    var inString = false
    var escaped = false
    for b in bytes {
      if inString {
        if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
        continue
      }
      switch b {
      case UInt8(ascii: "\""): inString = true
      case UInt8(ascii: "{"), UInt8(ascii: "["):
        depth += 1
        if depth > maxDepth { throw InputError("manifest", "JSON nested deeper than \(maxDepth) levels (the schema needs 4: {images: [{field: [ ]}]})") }
      case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
      default: break
      }
    }
    // As JSONValue.parse(userFile:), with the reason and the byte (a key given twice among them).
    let json: JSONValue
    do throws(JSONParseError) { json = try JSONValue.parse(bytes: bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? bytes.dropFirst(3) : bytes[...]) } catch {
      throw InputError("manifest", "not valid JSON: \(error)")
    }
    guard case .object(let top) = json else { throw InputError("manifest", "the top level must be an object with `images`") }
    for key in top.keys where key != "images" && key != "$schema" { throw InputError("manifest", "unknown top-level field '\(clip(key))' (accepted: images)") }
    guard case .array(let list)? = top["images"] else { throw InputError("manifest", "`images` must be a list of {source, target, tags, …}") }
    guard list.count <= maxImages else { throw InputError("manifest", "more than \(maxImages) images") }
    return try list.enumerated().map { index, item in
      guard case .object(let fields) = item else { throw InputError("manifest", "images[\(index)] must be an object") }
      return try fields.sorted { $0.key < $1.key }.map { key, value in
        let field = "images[\(index)].\(clip(key))"
        switch value {
        case .string(let s): return (key, .scalar(s))
        case .bool(let b): return (key, .scalar(b ? "true" : "false"))
        case .int(let i): return (key, .scalar(String(i)))
        case .array(let a):
          return (
            key,
            .list(
              try a.map {
                guard case .string(let s) = $0 else { throw InputError("manifest", "\(field): list items must be strings") }
                return s
              })
          )
        default: throw InputError("manifest", "\(field): expected a string, a boolean, a whole number or a list of strings")
        }
      }
    }
  }

  // MARK: The list input

  /// `promote-images`: one image per line, `SOURCE -> TARGET [TAG …]` (tags separated by
  /// spaces).
  static func parseList(_ lines: [String]) throws -> ReleaseManifest {
    guard lines.count <= maxImages else { throw InputError("promote-images", "more than \(maxImages) images") }
    let items: [[(String, Value)]] = try lines.enumerated().map { index, line in
      let parts = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
      guard parts.count >= 3, parts[1] == "->" else {
        throw InputError("promote-images", "line \(index + 1): expected `SOURCE -> TARGET [TAG …]`, got '\(clip(line))'")
      }
      var item: [(String, Value)] = [("source", .scalar(parts[0])), ("target", .scalar(parts[2]))]
      if parts.count > 3 { item.append(("tags", .list(Array(parts[3...])))) }
      return item
    }
    do { return try ReleaseManifest(items: items) } catch let e as InputError {
      throw InputError("promote-images", e.message)
    }
  }

  // MARK: Shape

  /// Checks the shape shared by both forms: fields known, values of the right kind and length.
  init(items: [[(String, Value)]]) throws {
    guard !items.isEmpty else { throw InputError("manifest", "no images: `images` is empty") }
    guard items.count <= Self.maxImages else { throw InputError("manifest", "more than \(Self.maxImages) images") }
    images = try items.enumerated().map { index, fields in
      var image = Image(source: "", target: "", tags: [], overrides: [:])
      var seen = Set<String>()
      for (key, value) in fields {
        let field = "images[\(index)].\(Self.clip(key))"
        guard seen.insert(key).inserted else { throw InputError("manifest", "\(field) is given twice") }
        for s in value.strings {
          guard s.utf8.count <= Self.maxString else { throw InputError("manifest", "\(field) is longer than \(Self.maxString) bytes") }
          // Values become inputs: one line each, except a PEM key.
          guard key == "cosign-public-key" || UntrustedText.isSingleLine(s) else { throw InputError("manifest", "\(field) must be one line without control characters") }
        }
        switch (key, value) {
        case ("source", .scalar(let s)): image.source = s
        case ("target", .scalar(let s)): image.target = s
        case ("tags", .list(let l)):
          guard l.count <= Self.maxTags else { throw InputError("manifest", "\(field) has more than \(Self.maxTags) tags") }
          image.tags = l
        case ("tags", .scalar(let s)):
          // Split as the `tags` input is, and capped as a list is (8 KiB of `a,b,…` was 4,000 tags).
          let l = Inputs.splitList(s)
          guard l.count <= Self.maxTags else { throw InputError("manifest", "\(field) has more than \(Self.maxTags) tags") }
          image.tags = l
        case ("source", .list), ("target", .list): throw InputError("manifest", "\(field) must be a string, not a list")
        case (let name, let v) where Self.overridable.contains(name):
          switch v {
          case .scalar(let s): image.overrides[name] = s
          case .list(let l): image.overrides[name] = l.joined(separator: "\n")
          }
        default:
          let accepted = ["source", "target", "tags"] + Self.overridable.sorted()
          let hint = NameSuggestion.closest(to: key, among: accepted).map { "; did you mean '\($0)'?" } ?? ""
          throw InputError("manifest", "\(field) is not a field of an image\(hint) (accepted: \(accepted.joined(separator: ", ")))")
        }
      }
      guard !image.source.isEmpty else { throw InputError("manifest", "images[\(index)].source is missing") }
      guard !image.target.isEmpty else { throw InputError("manifest", "images[\(index)].target is missing") }
      return image
    }
  }

  /// A field name from the file, shortened for a message.
  static func clip(_ s: String) -> String {
    let printable = String(s.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(64).map(Character.init))
    return printable.count < s.count ? printable + "…" : printable
  }
}

extension ReleaseManifest.Value {
  var strings: [String] {
    switch self {
    case .scalar(let s): [s]
    case .list(let l): l
    }
  }
}
