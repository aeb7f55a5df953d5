import Basics
import CCurl
import FoundationEssentials

/// Sets up an easy handle for one transfer, from the transport's configuration and the request.
enum CurlOptions {
  /// Configures `h` (new, or reset when it was recycled) to run `transfer`; throws when the
  /// request's body cannot be opened. Runs on the engine thread.
  static func configure(_ h: UnsafeMutableRawPointer, _ transfer: Transfer, configuration: TransportConfiguration, share: UnsafeMutableRawPointer?) throws {
    let request = transfer.request
    let userdata = Unmanaged.passUnretained(transfer).toOpaque()
    // String options are copied by libcurl; lists and the error buffer live in the transfer.
    ccurl_setopt_string(h, CURLOPT_URL, request.url.absoluteString)
    ccurl_setopt_pointer(h, CURLOPT_ERRORBUFFER, transfer.errorBuffer)
    ccurl_setopt_pointer(h, CURLOPT_PRIVATE, userdata)
    if let share { ccurl_setopt_pointer(h, CURLOPT_SHARE, share) }
    ccurl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
    ccurl_setopt_string(h, CURLOPT_PROTOCOLS_STR, "http,https")
    ccurl_setopt_string(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
    ccurl_setopt_long(h, CURLOPT_FOLLOWLOCATION, 0)
    ccurl_setopt_long(h, CURLOPT_TCP_KEEPALIVE, 1)
    ccurl_setopt_long(h, CURLOPT_BUFFERSIZE, 256 << 10)
    ccurl_setopt_long(h, CURLOPT_UPLOAD_BUFFERSIZE, 512 << 10)
    ccurl_setopt_long(h, CURLOPT_HTTP_VERSION, configuration.http2 ? ccurl_http_version_2tls : CURL_HTTP_VERSION_1_1)
    // A request to an https origin waits for a connection being set up to it rather than
    // opening its own: that connection's ALPN (in the TLS handshake) says whether it
    // multiplexes, so concurrent requests share one HTTP/2 connection. Not on plain http,
    // where libcurl learns it only from the first answer: a slow server would hold every
    // other request to its origin (libcurl 7.88 waited for good on a stalled one).
    if configuration.http2, request.url.scheme?.lowercased() == "https" { ccurl_setopt_long(h, CURLOPT_PIPEWAIT, 1) }
    ccurl_setopt_string(h, CURLOPT_USERAGENT, configuration.userAgent)
    ccurl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, configuration.connectTimeout.milliseconds)
    if let total = request.timeout ?? configuration.totalTimeout {
      ccurl_setopt_long(h, CURLOPT_TIMEOUT_MS, max(1, total.milliseconds))
    }
    ccurl_setopt_long(h, CURLOPT_LOW_SPEED_LIMIT, request.lowSpeedLimit ?? configuration.lowSpeedLimit)
    ccurl_setopt_long(h, CURLOPT_LOW_SPEED_TIME, max(1, (request.lowSpeedTime ?? configuration.lowSpeedTime).milliseconds / 1000))
    if let ca = configuration.caFile { ccurl_setopt_string(h, CURLOPT_CAINFO, ca) }
    // TLS 1.2 at least, whatever the TLS library would allow (mbedTLS 2.28, which the static
    // libcurl uses, still speaks TLS 1.0 by default; OpenSSL 3 refuses it already).
    ccurl_setopt_long(h, CURLOPT_SSLVERSION, Int(CURL_SSLVERSION_TLSv1_2))
    // (`authority` parses the URL again: only when some host is listed.)
    if !configuration.insecureHosts.isEmpty, configuration.isInsecure(request.authority) {
      ccurl_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 0)
      ccurl_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 0)
    }
    if configuration.verbose { ccurl_setopt_long(h, CURLOPT_VERBOSE, 1) }
    if !configuration.resolve.isEmpty {
      for entry in configuration.resolve { transfer.resolveList = curl_slist_append(transfer.resolveList, entry) }
      ccurl_setopt_slist(h, CURLOPT_RESOLVE, transfer.resolveList)
    }

    try configureMethodAndBody(h, transfer, userdata: userdata)
    for field in request.headers {
      // libcurl sends a header as given: a line break in a value that came from a registry (a
      // manifest's media type, a token) would be a header line of its own, or a second request.
      guard !(field.name + field.value).utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
        throw HTTPError.invalidRequest("header \(field.name.clipped(to: 64)) holds a line break or NUL; not sent")
      }
      transfer.headerList = curl_slist_append(transfer.headerList, "\(field.name): \(field.value)")
    }
    // No "Expect: 100-continue" round trip before uploads.
    transfer.headerList = curl_slist_append(transfer.headerList, "Expect:")
    ccurl_setopt_slist(h, CURLOPT_HTTPHEADER, transfer.headerList)

    ccurl_setopt_header_function(h, curlHeaderCallback)
    ccurl_setopt_pointer(h, CURLOPT_HEADERDATA, userdata)
    ccurl_setopt_write_function(h, curlWriteCallback)
    ccurl_setopt_pointer(h, CURLOPT_WRITEDATA, userdata)
  }

  private static func configureMethodAndBody(_ h: UnsafeMutableRawPointer, _ transfer: Transfer, userdata: UnsafeMutableRawPointer) throws {
    let request = transfer.request
    let method = request.method.uppercased()
    // Every attempt reads a fresh stream from the body's factory (a one-shot source is itself).
    guard let source = try request.body.makeSource() else {
      switch method {
      case "GET": ccurl_setopt_long(h, CURLOPT_HTTPGET, 1)
      case "HEAD": ccurl_setopt_long(h, CURLOPT_NOBODY, 1)
      case "POST", "PUT", "PATCH":
        // An empty upload: announce Content-Length: 0.
        ccurl_setopt_long(h, CURLOPT_POST, 1)
        ccurl_setopt_off(h, CURLOPT_POSTFIELDSIZE_LARGE, 0)
        ccurl_setopt_string(h, CURLOPT_COPYPOSTFIELDS, "")
        if method != "POST" { ccurl_setopt_string(h, CURLOPT_CUSTOMREQUEST, method) }
      default: ccurl_setopt_string(h, CURLOPT_CUSTOMREQUEST, method)
      }
      return
    }
    transfer.source = source
    ccurl_setopt_long(h, CURLOPT_UPLOAD, 1)
    ccurl_setopt_off(h, CURLOPT_INFILESIZE_LARGE, curl_off_t(source.length ?? -1))
    ccurl_setopt_string(h, CURLOPT_CUSTOMREQUEST, method)
    ccurl_setopt_read_function(h, curlReadCallback)
    ccurl_setopt_pointer(h, CURLOPT_READDATA, userdata)
  }

  static func versionName(_ v: Int) -> String {
    switch v {
    case CURL_HTTP_VERSION_1_0: "1.0"
    case CURL_HTTP_VERSION_2_0: "2"
    case 30: "3"
    default: "1.1"
    }
  }
}
