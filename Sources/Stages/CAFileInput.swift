import ActionsCore
import HTTP

/// The `ca-file` input of the stages that talk to registries or probe a service.
enum CAFileInput {
  static let description = "PEM file of extra CAs to trust, added to the default bundle (SSL_CERT_FILE, else the system's): a private registry's CA"
}

extension TransportConfiguration {
  /// Adds the CAs of the `ca-file` input, if given, to the bundle already trusted.
  mutating func trustCAFile(_ inputs: Inputs) throws {
    guard let extra = inputs.string("ca-file") else { return }
    do { caFile = try CABundle.adding(extra, to: caFile) } catch { throw InputError("ca-file", error.description) }
  }
}
