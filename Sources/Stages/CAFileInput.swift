import ActionsCore
import HTTP

/// The `ca-file` input of the stages that talk to registries or probe a service.
enum CAFileInput {
  static let description = "PEM file of extra CAs to trust, added to the default bundle (SSL_CERT_FILE, else the system's): a private registry's CA"
}

extension TransportConfiguration {
  /// Adds the CAs of the `ca-file` input, if given, to the bundle already trusted; the
  /// combined bundle goes to the runner's temporary directory (`RUNNER_TEMP`, else /tmp).
  mutating func trustCAFile(_ inputs: Inputs, environment: [String: String]) throws {
    guard let extra = inputs.string("ca-file") else { return }
    let directory = environment["RUNNER_TEMP"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    do { caFile = try CABundle.adding(extra, to: caFile, directory: directory) } catch { throw InputError("ca-file", error.description) }
  }
}
