import ActionsCore
import Basics

/// Files that inputs name (a cosign key, a trusted root), read whole up to a limit, regular
/// files only: a FIFO named there would block the read, a device would never end it, and a
/// file of gigabytes would be read into memory to be refused as "not a key".
///
/// A path a release manifest gives is confined to the checkout (outside `.git`), as the
/// manifest itself is: the manifest is a file of the repository, which whoever opens a pull
/// request can change, and one line of it could otherwise make the step read any file of the
/// runner. A step's own input is the workflow's, and reads what it names.
struct InputFiles: Sendable {
  /// The inputs whose paths a release manifest gave.
  var confined: Set<String> = []
  /// The checkout (`GITHUB_WORKSPACE`): where confined and relative manifest paths start.
  /// Without it (run by hand) paths are read as given, as the manifest's own is.
  var workspace: String?

  /// The bytes of the file `path` names for `input`, at most `limit` of them.
  func read(_ path: String, input: String, limit: Int) throws -> [UInt8] {
    let quoted = "'\(path.clipped(to: 100))'"
    var full = path
    if confined.contains(input), let workspace {
      let given = path.hasPrefix("/") ? path : workspace + "/" + path
      // inCheckout reads a path outside the checkout as given: here that is refused.
      guard given.hasPrefix(workspace.hasSuffix("/") ? workspace : workspace + "/") else {
        throw InputError(input, "\(quoted) is outside the workspace: a release manifest names files of the checkout only")
      }
      switch Files.inCheckout(given, checkout: workspace) {
      case .file(let resolved): full = resolved
      case .missing: throw InputError(input, "\(quoted) does not exist (a release manifest's paths start at the workspace)")
      case .escapes:
        throw InputError(input, "\(quoted) leads outside the workspace, into its .git or to nothing: a release manifest names files of the checkout only")
      }
    }
    guard let bytes = Files.readPrefix(full, limit: limit + 1) else { throw InputError(input, "cannot read \(quoted) (a regular file is needed)") }
    guard bytes.count <= limit else { throw InputError(input, "\(quoted) is larger than \(limit >> 10) KiB, which no \(input) is") }
    return bytes
  }
}
