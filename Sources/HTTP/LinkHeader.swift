/// The `Link` response header ([RFC 8288](https://www.rfc-editor.org/rfc/rfc8288)), as registries
/// (tag lists) and the GitHub API use it for pagination.
public enum LinkHeader {
  /// The target of the `rel="next"` link (also unquoted `rel=next`), or nil. The header may
  /// carry several links (`<a>; rel="prev", <b>; rel="next"`): only the next one counts.
  public static func next(_ header: String?) -> String? {
    guard let header else { return nil }
    for part in header.split(separator: ",") where part.contains("rel=\"next\"") || part.contains("rel=next") {
      guard let open = part.firstIndex(of: "<"), let close = part.firstIndex(of: ">"), open < close else { continue }
      return String(part[part.index(after: open)..<close])
    }
    return nil
  }
}
