import Basics

/// A registry said no, in words a user can act on. `side` is "source" or "target" (or the
/// registry name) so the message can name the input to fix.
public enum RegistryError: Error, Sendable, Equatable, CustomStringConvertible {
  case unauthorized(registry: String, hint: String, detail: String)
  case forbidden(registry: String, repository: String, detail: String)
  case notFound(what: String, registry: String, detail: String)
  case tooManyRequests(registry: String, detail: String)
  case tagImmutable(registry: String, repository: String, tag: String, detail: String)
  case unexpected(registry: String, status: Int, operation: String, detail: String)
  case digestMismatch(expected: String, got: String, registry: String)
  case invalidResponse(registry: String, why: String)
  case unreachable(registry: String, why: String)
  /// A request failed in a way another attempt would not fix: a TLS or certificate failure,
  /// a refused redirect, a body over its limit.
  case failed(registry: String, why: String)

  /// 401 or 403: the credentials may not do this. Nothing was stored.
  public var refusesCredentials: Bool {
    switch self {
    case .unauthorized, .forbidden: true
    default: false
    }
  }

  public var description: String {
    switch self {
    case .unauthorized(let r, let hint, let d): "unauthorized at \(r): \(hint)\(d.isEmpty ? "" : " (\(d))")"
    case .forbidden(let r, let repo, let d): "forbidden at \(r): the credentials may not access \(repo)\(d.isEmpty ? "" : " (\(d))")"
    case .notFound(let what, let r, let d): "\(what) not found at \(r)\(d.isEmpty ? "" : " (\(d))")"
    case .tooManyRequests(let r, let d): "rate limited by \(r) (HTTP 429)\(d.isEmpty ? "" : ": \(d)")"
    case .tagImmutable(let r, let repo, let tag, let d):
      "\(r)/\(repo): tag '\(tag)' cannot be moved — the repository has immutable tags (\(d)). Use a new tag per release, or allow tag mutability for the environment tag"
    case .unexpected(let r, let s, let op, let d): "\(op) at \(r) failed with HTTP \(s)\(d.isEmpty ? "" : ": \(d)")"
    case .digestMismatch(let e, let g, let r): "\(r) served content with digest \(g), expected \(e)"
    case .invalidResponse(let r, let why): "unexpected answer from \(r): \(why)"
    case .unreachable(let r, let why): "cannot reach \(r): \(why)"
    case .failed(let r, let why): "request to \(r) failed: \(why)"
    }
  }

  /// Worth another attempt (transient).
  public var isTransient: Bool {
    switch self {
    case .tooManyRequests, .unreachable: true
    case .unexpected(_, let s, _, _): s >= 500
    default: false
    }
  }
}

/// The registry's JSON error body, `{"errors":[{"code","message","detail"}]}`
/// ([distribution-spec error codes](https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes)).
struct RegistryErrorBody: Decodable {
  struct Entry: Decodable {
    var code: String?
    var message: String?
  }
  var errors: [Entry]?

  static func describe(_ body: [UInt8]) -> String {
    guard let parsed = try? JSONDecoderShared.decode(RegistryErrorBody.self, from: body), let errors = parsed.errors, !errors.isEmpty else {
      let text = String(decoding: body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
      return text
    }
    // Cut as a body that is no JSON is: every message of a 64 KiB error body went whole into
    // one `::error` line (a release rollback joins one per image).
    let text = errors.map { [$0.code, $0.message].compactMap { $0 }.joined(separator: ": ") }.joined(separator: "; ")
    return text.clipped(to: 300)
  }
}
