import ActionsCore
import Basics
import OCI
import Versioning

/// Step outputs built from a registry's or a record's text hold only validated values: a later
/// `run: ${{ steps.x.outputs.y }}` pastes them into a script, where an extra line would run.
enum OutputValue {
  /// A recorded version when it is a SemVer (a leading `v` allowed), else "" and a warning.
  static func version(_ text: String?, log: Log) -> String {
    guard let text, !text.isEmpty else { return "" }
    guard text.utf8.count <= 256, SemVer.parse(text, prefix: "v") != nil || SemVer.parse(text) != nil else {
      log.warning("the recorded version '\(text.prefix(100))' is not a semantic version; the version output is left empty")
      return ""
    }
    return text
  }

  /// An http(s) address of at most 2048 characters drawn from `A-Z a-z 0-9 - . _ ~ / : % + @ = ,`
  /// (a GitHub page's, percent-encoded as GitHub writes them), else "" and a warning: the
  /// service's text would otherwise reach a `run:` script (`$(…)`, quotes, a new line) and
  /// the summary's markdown.
  static func webURL(_ text: String, what: String, log: Log) -> String {
    let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/:%+@=,")
    let scheme = text.hasPrefix("https://") ? 8 : text.hasPrefix("http://") ? 7 : 0
    guard scheme > 0, text.count <= 2048, text.count > scheme, text.allSatisfy({ allowed.contains($0) }) else {
      log.warning("\(what) '\(text.clipped(to: 100))' is not a plain http(s) address; the output is left empty")
      return ""
    }
    return text
  }

  /// `os/arch[/variant]` whose parts are `[A-Za-z0-9._-]{1,64}`, as the image spec's values
  /// are (linux/arm64/v8, windows/amd64); anything else is left out with a warning.
  static func platforms(_ names: [String], log: Log) -> [String] {
    names.filter { name in
      let parts = name.split(separator: "/", omittingEmptySubsequences: false)
      let ok =
        (2...3).contains(parts.count)
        && parts.allSatisfy { p in (1...64).contains(p.count) && p.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) } }
      if !ok { log.warning("platform '\(name.prefix(100))' from the registry is not os/arch[/variant]; left out of the platforms output") }
      return ok
    }
  }
}
