/// The regular expressions of the policy inputs (`certificate-identity-regexp`,
/// `certificate-oidc-issuer-regexp`, `provenance-source-ref`), read as cosign reads them (Go's
/// RE2) where the two differ in what they admit: `\d` is 0-9, `\w` [0-9A-Za-z_], `\s` ASCII
/// space (the `(?DSWP)` options: `Regex.asciiOnlyClasses()` is not public in this toolchain).
/// Swift's defaults take any Unicode digit or letter, so `refs/tags/v\d+` would admit a tag of Arabic-Indic digits that a tag rule for `v[0-9]*`
/// does not protect. Always matched against the whole value.
enum PolicyPattern {
  static func compile(_ pattern: String) -> Regex<AnyRegexOutput>? {
    // The pattern alone must compile ("a)|(b" would once wrapped).
    guard (try? Regex(pattern)) != nil else { return nil }
    return try? Regex("(?DSWP)(?:" + pattern + ")")
  }

  static func wholeMatch(_ value: String?, _ pattern: String) -> Bool {
    guard let value, let re = compile(pattern) else { return false }
    return (try? re.wholeMatch(in: value)) != nil
  }
}
