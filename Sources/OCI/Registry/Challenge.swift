/// A parsed `WWW-Authenticate` challenge ([RFC 9110 §11.6.1](https://www.rfc-editor.org/rfc/rfc9110#section-11.6.1);
/// registry token flow: [distribution token auth](https://distribution.github.io/distribution/spec/auth/token/)).
public struct AuthChallenge: Sendable, Equatable {
  public var scheme: String
  public var parameters: [String: String]

  public var realm: String? { parameters["realm"] }
  public var service: String? { parameters["service"] }

  /// Parses `Bearer realm="https://auth",service="registry",scope="repository:a:pull"`.
  public static func parse(_ header: String) -> AuthChallenge? {
    let trimmed = header.drop { $0 == " " }
    guard let space = trimmed.firstIndex(of: " ") else {
      return trimmed.isEmpty ? nil : AuthChallenge(scheme: trimmed.lowercased(), parameters: [:])
    }
    let scheme = trimmed[..<space].lowercased()
    var params: [String: String] = [:]
    var rest = trimmed[trimmed.index(after: space)...]
    while !rest.isEmpty {
      rest = rest.drop { $0 == " " || $0 == "," }
      guard let eq = rest.firstIndex(of: "=") else { break }
      let key = rest[..<eq].trimmingSpaces().lowercased()
      rest = rest[rest.index(after: eq)...]
      var value = ""
      if rest.first == "\"" {
        rest = rest.dropFirst()
        var escaped = false
        while let c = rest.first {
          rest = rest.dropFirst()
          if escaped { value.append(c); escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { break } else { value.append(c) }
        }
      } else {
        let end = rest.firstIndex(of: ",") ?? rest.endIndex
        value = String(rest[..<end]).trimmingSpaces()
        rest = rest[end...]
      }
      params[key] = value
    }
    return AuthChallenge(scheme: scheme, parameters: params)
  }
}

extension StringProtocol {
  func trimmingSpaces() -> String {
    String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
  }
}
