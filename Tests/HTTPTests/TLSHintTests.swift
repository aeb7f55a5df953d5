import Foundation
import Testing

@testable import HTTP

/// The hint added to a failed certificate check on a server reached by IP address, which the
/// static binary's TLS library (mbedTLS 2) cannot match.
@Suite("TLS: the IP-address certificate hint")
struct TLSHintTests {
  @Test func ipLiteralsAreRecognised() {
    for host in ["10.0.0.5", "127.0.0.1", "::1", "fe80::1"] { #expect(CurlTransport.isIPLiteral(host), "\(host)") }
    for host in ["registry.example", "10.0.0", "1.2.3.4.5", "1234.0.0.1", "a.b.c.d", "10.0.0.5.nip.io", ""] {
      #expect(!CurlTransport.isIPLiteral(host), "\(host)")
    }
  }

  @Test func theHintNamesTheHostOnlyForAnIPAddressWithMbedTLS() throws {
    let byIP = try #require(URL(string: "https://10.0.0.5:5000/v2/"))
    let byName = try #require(URL(string: "https://registry.example/v2/"))
    #expect(CurlTransport.ipCertificateHint(byName) == nil)
    if CurlTransport.tlsMatchesDNSNamesOnly {
      let hint = try #require(CurlTransport.ipCertificateHint(byIP))
      #expect(hint.contains("10.0.0.5") && hint.contains("GANTRY_TLS=openssl"))
    } else {
      // OpenSSL (the Debian libcurl of `swift build`) matches IP-address certificates itself.
      #expect(CurlTransport.ipCertificateHint(byIP) == nil)
    }
  }
}
