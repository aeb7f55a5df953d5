// libcurl as Gantry's Swift code sees it: libcurl's own headers, plus typed wrappers around its
// variadic API (which Swift cannot import), one per argument type
// (https://curl.se/libcurl/c/curl_easy_setopt.html).
//
// The headers only: the functions are reached through Sources/CCurlLoader, which either calls
// a libcurl linked into the binary (the `LinkDirect` trait: scripts/build-static) or loads
// libcurl.so.4 with dlopen the first time one of them is called (every other build), so a run
// that needs no HTTP (`--version`, `--help`, bad input, build-tag) never loads libcurl and the
// ~30 libraries it depends on (docs/benchmarks.md "Start-up and size").
#ifndef GANTRY_CCURL_SHIM_H
#define GANTRY_CCURL_SHIM_H

#include <curl/curl.h>

/// The library file loaded on first use ("libcurl.so.4"), or NULL when libcurl is linked into
/// the binary. Loads nothing.
const char *ccurl_library_file(void);
/// Loads libcurl if it is not linked in (once per process, thread-safe): NULL when it can be
/// used, else one line saying why not (the library's name and the loader's reason). A libcurl
/// function called after a failed load prints that line to stderr and exits 1.
const char *ccurl_load(void);

CURLcode ccurl_global_init(void);

CURLcode ccurl_setopt_long(CURL *h, CURLoption o, long v);
CURLcode ccurl_setopt_string(CURL *h, CURLoption o, const char *v);
CURLcode ccurl_setopt_pointer(CURL *h, CURLoption o, void *v);
CURLcode ccurl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v);
CURLcode ccurl_setopt_off(CURL *h, CURLoption o, curl_off_t v);

typedef size_t (*ccurl_data_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);
typedef int (*ccurl_xferinfo_callback)(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow);

CURLcode ccurl_setopt_write_function(CURL *h, ccurl_data_callback f);
CURLcode ccurl_setopt_read_function(CURL *h, ccurl_data_callback f);
CURLcode ccurl_setopt_header_function(CURL *h, ccurl_data_callback f);
CURLcode ccurl_setopt_xferinfo_function(CURL *h, ccurl_xferinfo_callback f);

CURLcode ccurl_getinfo_long(CURL *h, CURLINFO i, long *v);
CURLcode ccurl_getinfo_string(CURL *h, CURLINFO i, char **v);
CURLcode ccurl_getinfo_off(CURL *h, CURLINFO i, curl_off_t *v);

/// CURLVERSION_NOW is a macro alias Swift cannot see.
const curl_version_info_data *ccurl_version_info(void);

static const size_t ccurl_readfunc_abort = CURL_READFUNC_ABORT;
static const size_t ccurl_readfunc_pause = CURL_READFUNC_PAUSE;
static const size_t ccurl_writefunc_pause = CURL_WRITEFUNC_PAUSE;
static const int ccurl_pause_cont = CURLPAUSE_CONT;
static const long ccurl_pipe_multiplex = CURLPIPE_MULTIPLEX;

// curl_multi (one engine thread drives every transfer) and curl_share (TLS sessions shared
// between easy handles). Variadic setters, wrapped like the easy ones.
CURLMcode ccurl_multi_setopt_long(CURLM *m, CURLMoption o, long v);
CURLSHcode ccurl_share_setopt_long(CURLSH *s, CURLSHoption o, long v);
/// CURLMsg's result lives in a union.
static inline CURLcode ccurl_msg_result(const CURLMsg *m) { return m->data.result; }
static const long ccurl_http_version_2tls = CURL_HTTP_VERSION_2TLS;

#endif
