import CGit2

/// libgit2, set up once per process, and its errors as Gantry reports them.
///
/// Error text from libgit2 names paths and refs of the repository, which is untrusted: it is
/// made one printable line here (``printable(_:)``) and reaches stdout only through the log's
/// escaping (``ActionsCore/UntrustedText``), like every other repository text.
enum LibGit2 {
  /// `cgit2_setup`'s result: run once, lazily and thread-safely (a global's initialiser).
  private static let setup: Int32 = cgit2_setup()

  /// Sets libgit2 up on first use: allocation cap, no owner validation, no global config
  /// (Sources/CGit2/shim.h says why).
  static func start() throws {
    if let problem = libraryProblem { throw VersionSourceError(problem) }
    guard setup >= 0 else { throw VersionSourceError("libgit2 could not start: \(lastError())") }
  }

  /// Why libgit2 cannot be used, one line naming the library file, or nil when it can. Loads
  /// it in a build that loads libgit2 on first use (once per process); the static binary links it.
  static var libraryProblem: String? { cgit2_load().map { String(cString: $0) } }

  /// The last libgit2 error of this thread, one printable line.
  static func lastError() -> String {
    guard let e = git_error_last(), let m = e.pointee.message else { return "the repository is corrupt (libgit2 gives no reason)" }
    return printable(String(cString: m))
  }

  /// Throws `what` and libgit2's reason when `code` is an error (negative).
  static func check(_ code: Int32, _ what: @autoclosure () -> String) throws {
    guard code < 0 else { return }
    throw VersionSourceError("\(what()): \(lastError())")
  }

  /// Untrusted names and messages shortened to one line, control characters replaced.
  static func printable(_ text: some StringProtocol, limit: Int = 200) -> String {
    String(String(text).unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : Character($0) }.prefix(limit))
  }

  /// An object name in hex.
  static func hex(_ oid: git_oid) -> String {
    var oid = oid
    return git_oid_tostr_s(&oid).map { String(cString: $0) } ?? ""
  }

  /// Whether `name` is a full ref name git accepts (`git check-ref-format`): no `..`, no
  /// component starting with `.`, no control characters. Checked before a name read from
  /// the repository is looked up, so a ref cannot lead outside `.git`.
  static func isValidRefName(_ name: String) -> Bool {
    var valid: Int32 = 0
    return git_reference_name_is_valid(&valid, name) == 0 && valid == 1
  }
}
