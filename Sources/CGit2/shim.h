// libgit2 for Gantry's repository reader (Sources/Versioning/Git). git_libgit2_opts is
// variadic, which Swift cannot call: each setting Gantry makes is wrapped here.
#ifndef GANTRY_CGIT2_SHIM_H
#define GANTRY_CGIT2_SHIM_H

#include <git2.h>
#include <git2/sys/alloc.h>
#include <stdlib.h>
#include <string.h>

/// The largest single allocation libgit2 may make for Gantry: 256 MiB. Commits and tags are
/// kilobytes; only a hostile object (a loose object or pack entry declaring 300 MB and
/// inflating to it: a zlib bomb) asks for more, and then gets a clean "out of memory" error
/// instead of the memory. Pack files are mapped, not allocated, so big packs are unaffected.
#define CGIT2_MAX_ALLOCATION ((size_t)256 << 20)

static inline int cgit2_mul_ok(size_t a, size_t b, size_t *out) {
  if (b != 0 && a > CGIT2_MAX_ALLOCATION / b) return 0;
  *out = a * b;
  return *out <= CGIT2_MAX_ALLOCATION;
}
static inline void *cgit2_malloc(size_t n, const char *file, int line) {
  (void)file; (void)line;
  return n <= CGIT2_MAX_ALLOCATION ? malloc(n) : NULL;
}
static inline void *cgit2_calloc(size_t nelem, size_t elsize, const char *file, int line) {
  size_t n; (void)file; (void)line;
  return cgit2_mul_ok(nelem, elsize, &n) ? calloc(nelem, elsize) : NULL;
}
static inline char *cgit2_strdup(const char *str, const char *file, int line) {
  (void)file; (void)line;
  return strdup(str);
}
static inline char *cgit2_strndup(const char *str, size_t n, const char *file, int line) {
  (void)file; (void)line;
  return n < CGIT2_MAX_ALLOCATION ? strndup(str, n) : NULL;
}
static inline char *cgit2_substrdup(const char *str, size_t n, const char *file, int line) {
  char *out; (void)file; (void)line;
  if (n >= CGIT2_MAX_ALLOCATION || !(out = malloc(n + 1))) return NULL;
  memcpy(out, str, n);
  out[n] = '\0';
  return out;
}
static inline void *cgit2_realloc(void *ptr, size_t size, const char *file, int line) {
  (void)file; (void)line;
  return size <= CGIT2_MAX_ALLOCATION ? realloc(ptr, size) : NULL;
}
static inline void *cgit2_reallocarray(void *ptr, size_t nelem, size_t elsize, const char *file, int line) {
  size_t n; (void)file; (void)line;
  return cgit2_mul_ok(nelem, elsize, &n) ? realloc(ptr, n) : NULL;
}
static inline void *cgit2_mallocarray(size_t nelem, size_t elsize, const char *file, int line) {
  size_t n; (void)file; (void)line;
  return cgit2_mul_ok(nelem, elsize, &n) ? malloc(n) : NULL;
}
static inline void cgit2_free(void *ptr) { free(ptr); }

/// Sets up libgit2 once for the process (the caller makes it once): the allocation cap,
/// no owner validation (the action's container runs as another user than the checkout's
/// owner; git and libgit2 >= 1.4.3 would refuse it as "dubious ownership"), and no global,
/// XDG or system configuration (the answer depends on the repository alone). 0 on success.
static inline int cgit2_setup(void) {
  static git_allocator allocator = {
    cgit2_malloc, cgit2_calloc, cgit2_strdup, cgit2_strndup, cgit2_substrdup,
    cgit2_realloc, cgit2_reallocarray, cgit2_mallocarray, cgit2_free,
  };
  int error;
  // The allocator is set before init: libgit2 allocates its global state with it.
  if ((error = git_libgit2_opts(GIT_OPT_SET_ALLOCATOR, &allocator)) < 0) return error;
  if ((error = git_libgit2_init()) < 0) return error;
  if ((error = git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0)) < 0) return error;
  const int levels[] = {GIT_CONFIG_LEVEL_SYSTEM, GIT_CONFIG_LEVEL_XDG, GIT_CONFIG_LEVEL_GLOBAL, GIT_CONFIG_LEVEL_PROGRAMDATA};
  for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
    if ((error = git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, levels[i], "")) < 0) return error;
  }
  return 0;
}

#endif
