// libcurl for Sources/CCurl/shim.h: the typed wrappers of its variadic functions, and, unless
// libcurl is linked into the binary (GANTRY_LINK_DIRECT, the `LinkDirect` trait), libcurl.so.4
// loaded on the first call of any of its functions (docs/benchmarks.md "Start-up and size").
#include "../CCurl/shim.h"
#include "loader.h"

#ifdef GANTRY_LINK_DIRECT

#define CURL_CALL(name) name
const char *ccurl_library_file(void) { return NULL; }
const char *ccurl_load(void) { return NULL; }

#else

#include <pthread.h>

// Every libcurl function Gantry calls, the variadic ones included (shim.h wraps them).
#define CURL_FUNCTIONS(F)                                                                     \
  F(curl_global_init) F(curl_version_info) F(curl_easy_strerror) F(curl_easy_init)            \
  F(curl_easy_cleanup) F(curl_easy_reset) F(curl_easy_pause) F(curl_easy_setopt)              \
  F(curl_easy_getinfo) F(curl_slist_append) F(curl_slist_free_all) F(curl_share_init)         \
  F(curl_share_cleanup) F(curl_share_setopt) F(curl_multi_init) F(curl_multi_cleanup)         \
  F(curl_multi_setopt) F(curl_multi_add_handle) F(curl_multi_remove_handle)                   \
  F(curl_multi_perform) F(curl_multi_poll) F(curl_multi_wakeup) F(curl_multi_info_read)

enum {
#define CURL_INDEX(name) index_##name,
  CURL_FUNCTIONS(CURL_INDEX)
#undef CURL_INDEX
  curl_function_count
};

static const char *const curl_names[] = {
#define CURL_NAME(name) #name,
    CURL_FUNCTIONS(CURL_NAME)
#undef CURL_NAME
};
static void *curl_addresses[curl_function_count];
static GLLibrary curl_library = {"libcurl.so.4", "install libcurl4 (Debian, Ubuntu) or libcurl (Fedora)", curl_names, curl_addresses, curl_function_count, NULL, {0}};
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_open(void) { gl_open(&curl_library); }

const char *ccurl_library_file(void) { return curl_library.file; }
const char *ccurl_load(void) {
  pthread_once(&curl_once, curl_open);
  return curl_library.problem;
}
static void *curl_address(size_t index) {
  if (ccurl_load() != NULL) gl_fail(&curl_library);
  return curl_addresses[index];
}
/// `name` as resolved in libcurl.so.4, with `name`'s own type (curl.h's declaration).
#define CURL_CALL(name) ((__typeof__(&name))curl_address(index_##name))

// The functions Swift calls by their own names: the binary is not linked against libcurl, so
// these are the definitions it finds. Not exported (the binary exports none of its symbols),
// so libcurl's calls to itself still reach libcurl.
CURLcode curl_global_init(long flags) { return CURL_CALL(curl_global_init)(flags); }
curl_version_info_data *curl_version_info(CURLversion v) { return CURL_CALL(curl_version_info)(v); }
const char *curl_easy_strerror(CURLcode c) { return CURL_CALL(curl_easy_strerror)(c); }
CURL *curl_easy_init(void) { return CURL_CALL(curl_easy_init)(); }
void curl_easy_cleanup(CURL *h) { CURL_CALL(curl_easy_cleanup)(h); }
void curl_easy_reset(CURL *h) { CURL_CALL(curl_easy_reset)(h); }
CURLcode curl_easy_pause(CURL *h, int bitmask) { return CURL_CALL(curl_easy_pause)(h, bitmask); }
struct curl_slist *curl_slist_append(struct curl_slist *list, const char *s) { return CURL_CALL(curl_slist_append)(list, s); }
void curl_slist_free_all(struct curl_slist *list) { CURL_CALL(curl_slist_free_all)(list); }
CURLSH *curl_share_init(void) { return CURL_CALL(curl_share_init)(); }
CURLSHcode curl_share_cleanup(CURLSH *s) { return CURL_CALL(curl_share_cleanup)(s); }
CURLM *curl_multi_init(void) { return CURL_CALL(curl_multi_init)(); }
CURLMcode curl_multi_cleanup(CURLM *m) { return CURL_CALL(curl_multi_cleanup)(m); }
CURLMcode curl_multi_add_handle(CURLM *m, CURL *h) { return CURL_CALL(curl_multi_add_handle)(m, h); }
CURLMcode curl_multi_remove_handle(CURLM *m, CURL *h) { return CURL_CALL(curl_multi_remove_handle)(m, h); }
CURLMcode curl_multi_perform(CURLM *m, int *running) { return CURL_CALL(curl_multi_perform)(m, running); }
CURLMcode curl_multi_poll(CURLM *m, struct curl_waitfd extra[], unsigned int n, int timeout_ms, int *ret) {
  return CURL_CALL(curl_multi_poll)(m, extra, n, timeout_ms, ret);
}
CURLMcode curl_multi_wakeup(CURLM *m) { return CURL_CALL(curl_multi_wakeup)(m); }
CURLMsg *curl_multi_info_read(CURLM *m, int *queued) { return CURL_CALL(curl_multi_info_read)(m, queued); }

#endif

// The wrappers shim.h declares, the same in both builds.
CURLcode ccurl_global_init(void) { return CURL_CALL(curl_global_init)(CURL_GLOBAL_ALL); }

CURLcode ccurl_setopt_long(CURL *h, CURLoption o, long v) { return CURL_CALL(curl_easy_setopt)(h, o, v); }
CURLcode ccurl_setopt_string(CURL *h, CURLoption o, const char *v) { return CURL_CALL(curl_easy_setopt)(h, o, v); }
CURLcode ccurl_setopt_pointer(CURL *h, CURLoption o, void *v) { return CURL_CALL(curl_easy_setopt)(h, o, v); }
CURLcode ccurl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return CURL_CALL(curl_easy_setopt)(h, o, v); }
CURLcode ccurl_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return CURL_CALL(curl_easy_setopt)(h, o, v); }

CURLcode ccurl_setopt_write_function(CURL *h, ccurl_data_callback f) { return CURL_CALL(curl_easy_setopt)(h, CURLOPT_WRITEFUNCTION, f); }
CURLcode ccurl_setopt_read_function(CURL *h, ccurl_data_callback f) { return CURL_CALL(curl_easy_setopt)(h, CURLOPT_READFUNCTION, f); }
CURLcode ccurl_setopt_header_function(CURL *h, ccurl_data_callback f) { return CURL_CALL(curl_easy_setopt)(h, CURLOPT_HEADERFUNCTION, f); }
CURLcode ccurl_setopt_xferinfo_function(CURL *h, ccurl_xferinfo_callback f) { return CURL_CALL(curl_easy_setopt)(h, CURLOPT_XFERINFOFUNCTION, f); }

CURLcode ccurl_getinfo_long(CURL *h, CURLINFO i, long *v) { return CURL_CALL(curl_easy_getinfo)(h, i, v); }
CURLcode ccurl_getinfo_string(CURL *h, CURLINFO i, char **v) { return CURL_CALL(curl_easy_getinfo)(h, i, v); }
CURLcode ccurl_getinfo_off(CURL *h, CURLINFO i, curl_off_t *v) { return CURL_CALL(curl_easy_getinfo)(h, i, v); }

const curl_version_info_data *ccurl_version_info(void) { return CURL_CALL(curl_version_info)(CURLVERSION_NOW); }

CURLMcode ccurl_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return CURL_CALL(curl_multi_setopt)(m, o, v); }
CURLSHcode ccurl_share_setopt_long(CURLSH *s, CURLSHoption o, long v) { return CURL_CALL(curl_share_setopt)(s, o, v); }
