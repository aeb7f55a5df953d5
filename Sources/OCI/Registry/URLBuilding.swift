import Basics
import FoundationEssentials

/// URL building that cannot trap: a registry's `Link` or `Location` text that makes no URL is
/// an invalid response, not a crash.
extension RegistryClient {
  /// `path` (a registry's `Link` target, say) resolved against `base`.
  func url(_ path: String, relativeTo base: URL) throws -> URL {
    guard let url = URL(string: path, relativeTo: base)?.absoluteURL else {
      throw RegistryError.invalidResponse(registry: registry, why: "'\(path.prefix(200))' is not a URL")
    }
    return url
  }

  /// `url` with `items` appended to its query.
  /// `removing`: a query item dropped first (each occurrence).
  func url(_ url: URL, removing: String? = nil, adding items: [URLQueryItem]) throws -> URL {
    guard var c = URLComponents(url: url, resolvingAgainstBaseURL: false) else {
      throw RegistryError.invalidResponse(registry: registry, why: "'\(url.absoluteString.prefix(200))' is not a URL")
    }
    c.queryItems = (c.queryItems ?? []).filter { $0.name != removing } + items
    guard let result = c.url else {
      throw RegistryError.invalidResponse(registry: registry, why: "'\(url.absoluteString.prefix(200))' takes no query")
    }
    return result
  }
}
