// libgit2 for Sources/CGit2/shim.h: Gantry's set-up (allocation cap, options), and, unless
// libgit2 is linked into the binary (GANTRY_LINK_DIRECT, the `LinkDirect` trait),
// libgit2.so.<LIBGIT2_SOVERSION> loaded on the first call of any of its functions.
#include "../CGit2/shim.h"
#include "loader.h"

#include <stdlib.h>
#include <string.h>

#ifdef GANTRY_LINK_DIRECT

#define GIT2_CALL(name) name
const char *cgit2_library_file(void) { return NULL; }
const char *cgit2_load(void) { return NULL; }

#else

#include <pthread.h>

// Every libgit2 function Gantry calls, the variadic git_libgit2_opts included.
#define GIT2_FUNCTIONS(F)                                                                                         \
  F(git_libgit2_init) F(git_libgit2_opts) F(git_error_last) F(git_repository_open_ext) F(git_repository_free)    \
  F(git_repository_is_shallow) F(git_repository_commondir) F(git_reference_lookup) F(git_reference_free)          \
  F(git_reference_type) F(git_reference_target) F(git_reference_symbolic_target) F(git_reference_name)            \
  F(git_reference_name_is_valid) F(git_reference_iterator_new) F(git_reference_next) F(git_reference_iterator_free) \
  F(git_object_lookup) F(git_object_lookup_prefix) F(git_object_free) F(git_object_id) F(git_object_type)          \
  F(git_object_type2string) F(git_commit_lookup) F(git_commit_free) F(git_commit_message_raw)                     \
  F(git_commit_message_encoding) F(git_tag_target_id) F(git_oid_fromstr) F(git_oid_fromstrn) F(git_oid_tostr_s)   \
  F(git_revwalk_new) F(git_revwalk_free) F(git_revwalk_push) F(git_revwalk_hide) F(git_revwalk_next)

enum {
#define GIT2_INDEX(name) index_##name,
  GIT2_FUNCTIONS(GIT2_INDEX)
#undef GIT2_INDEX
  git2_function_count
};

static const char *const git2_names[] = {
#define GIT2_NAME(name) #name,
    GIT2_FUNCTIONS(GIT2_NAME)
#undef GIT2_NAME
};
static void *git2_addresses[git2_function_count];
static GLLibrary git2_library = {"libgit2.so." LIBGIT2_SOVERSION, "install libgit2-" LIBGIT2_SOVERSION " (Debian, Ubuntu)", git2_names, git2_addresses, git2_function_count, NULL, {0}};
static pthread_once_t git2_once = PTHREAD_ONCE_INIT;
static void git2_open(void) { gl_open(&git2_library); }

const char *cgit2_library_file(void) { return git2_library.file; }
const char *cgit2_load(void) {
  pthread_once(&git2_once, git2_open);
  return git2_library.problem;
}
static void *git2_address(size_t index) {
  if (cgit2_load() != NULL) gl_fail(&git2_library);
  return git2_addresses[index];
}
/// `name` as resolved in libgit2.so, with `name`'s own type (git2.h's declaration).
#define GIT2_CALL(name) ((__typeof__(&name))git2_address(index_##name))

// The functions Swift calls by their own names (see curl.c).
const git_error *git_error_last(void) { return GIT2_CALL(git_error_last)(); }
int git_repository_open_ext(git_repository **out, const char *path, unsigned int flags, const char *ceiling_dirs) {
  return GIT2_CALL(git_repository_open_ext)(out, path, flags, ceiling_dirs);
}
void git_repository_free(git_repository *repo) { GIT2_CALL(git_repository_free)(repo); }
int git_repository_is_shallow(git_repository *repo) { return GIT2_CALL(git_repository_is_shallow)(repo); }
const char *git_repository_commondir(const git_repository *repo) { return GIT2_CALL(git_repository_commondir)(repo); }
int git_reference_lookup(git_reference **out, git_repository *repo, const char *name) { return GIT2_CALL(git_reference_lookup)(out, repo, name); }
void git_reference_free(git_reference *ref) { GIT2_CALL(git_reference_free)(ref); }
git_reference_t git_reference_type(const git_reference *ref) { return GIT2_CALL(git_reference_type)(ref); }
const git_oid *git_reference_target(const git_reference *ref) { return GIT2_CALL(git_reference_target)(ref); }
const char *git_reference_symbolic_target(const git_reference *ref) { return GIT2_CALL(git_reference_symbolic_target)(ref); }
const char *git_reference_name(const git_reference *ref) { return GIT2_CALL(git_reference_name)(ref); }
int git_reference_name_is_valid(int *valid, const char *refname) { return GIT2_CALL(git_reference_name_is_valid)(valid, refname); }
int git_reference_iterator_new(git_reference_iterator **out, git_repository *repo) { return GIT2_CALL(git_reference_iterator_new)(out, repo); }
int git_reference_next(git_reference **out, git_reference_iterator *iter) { return GIT2_CALL(git_reference_next)(out, iter); }
void git_reference_iterator_free(git_reference_iterator *iter) { GIT2_CALL(git_reference_iterator_free)(iter); }
int git_object_lookup(git_object **object, git_repository *repo, const git_oid *id, git_object_t type) {
  return GIT2_CALL(git_object_lookup)(object, repo, id, type);
}
int git_object_lookup_prefix(git_object **object, git_repository *repo, const git_oid *id, size_t len, git_object_t type) {
  return GIT2_CALL(git_object_lookup_prefix)(object, repo, id, len, type);
}
void git_object_free(git_object *object) { GIT2_CALL(git_object_free)(object); }
const git_oid *git_object_id(const git_object *object) { return GIT2_CALL(git_object_id)(object); }
git_object_t git_object_type(const git_object *object) { return GIT2_CALL(git_object_type)(object); }
const char *git_object_type2string(git_object_t type) { return GIT2_CALL(git_object_type2string)(type); }
int git_commit_lookup(git_commit **commit, git_repository *repo, const git_oid *id) { return GIT2_CALL(git_commit_lookup)(commit, repo, id); }
void git_commit_free(git_commit *commit) { GIT2_CALL(git_commit_free)(commit); }
const char *git_commit_message_raw(const git_commit *commit) { return GIT2_CALL(git_commit_message_raw)(commit); }
const char *git_commit_message_encoding(const git_commit *commit) { return GIT2_CALL(git_commit_message_encoding)(commit); }
const git_oid *git_tag_target_id(const git_tag *tag) { return GIT2_CALL(git_tag_target_id)(tag); }
int git_oid_fromstr(git_oid *out, const char *str) { return GIT2_CALL(git_oid_fromstr)(out, str); }
int git_oid_fromstrn(git_oid *out, const char *str, size_t length) { return GIT2_CALL(git_oid_fromstrn)(out, str, length); }
char *git_oid_tostr_s(const git_oid *oid) { return GIT2_CALL(git_oid_tostr_s)(oid); }
int git_revwalk_new(git_revwalk **out, git_repository *repo) { return GIT2_CALL(git_revwalk_new)(out, repo); }
void git_revwalk_free(git_revwalk *walk) { GIT2_CALL(git_revwalk_free)(walk); }
int git_revwalk_push(git_revwalk *walk, const git_oid *id) { return GIT2_CALL(git_revwalk_push)(walk, id); }
int git_revwalk_hide(git_revwalk *walk, const git_oid *id) { return GIT2_CALL(git_revwalk_hide)(walk, id); }
int git_revwalk_next(git_oid *out, git_revwalk *walk) { return GIT2_CALL(git_revwalk_next)(out, walk); }

#endif

// The largest single allocation libgit2 may make for Gantry (shim.h says why).
#define CGIT2_MAX_ALLOCATION ((size_t)256 << 20)

static int cgit2_mul_ok(size_t a, size_t b, size_t *out) {
  if (b != 0 && a > CGIT2_MAX_ALLOCATION / b) return 0;
  *out = a * b;
  return *out <= CGIT2_MAX_ALLOCATION;
}
static void *cgit2_malloc(size_t n, const char *file, int line) {
  (void)file; (void)line;
  return n <= CGIT2_MAX_ALLOCATION ? malloc(n) : NULL;
}
static void *cgit2_calloc(size_t nelem, size_t elsize, const char *file, int line) {
  size_t n; (void)file; (void)line;
  return cgit2_mul_ok(nelem, elsize, &n) ? calloc(nelem, elsize) : NULL;
}
static char *cgit2_strdup(const char *str, const char *file, int line) {
  (void)file; (void)line;
  return strdup(str);
}
static char *cgit2_strndup(const char *str, size_t n, const char *file, int line) {
  (void)file; (void)line;
  return n < CGIT2_MAX_ALLOCATION ? strndup(str, n) : NULL;
}
static char *cgit2_substrdup(const char *str, size_t n, const char *file, int line) {
  char *out; (void)file; (void)line;
  if (n >= CGIT2_MAX_ALLOCATION || !(out = malloc(n + 1))) return NULL;
  memcpy(out, str, n);
  out[n] = '\0';
  return out;
}
static void *cgit2_realloc(void *ptr, size_t size, const char *file, int line) {
  (void)file; (void)line;
  return size <= CGIT2_MAX_ALLOCATION ? realloc(ptr, size) : NULL;
}
static void *cgit2_reallocarray(void *ptr, size_t nelem, size_t elsize, const char *file, int line) {
  size_t n; (void)file; (void)line;
  return cgit2_mul_ok(nelem, elsize, &n) ? realloc(ptr, n) : NULL;
}
static void *cgit2_mallocarray(size_t nelem, size_t elsize, const char *file, int line) {
  size_t n; (void)file; (void)line;
  return cgit2_mul_ok(nelem, elsize, &n) ? malloc(n) : NULL;
}
static void cgit2_free(void *ptr) { free(ptr); }

int cgit2_setup(void) {
  static git_allocator allocator = {
    cgit2_malloc, cgit2_calloc, cgit2_strdup, cgit2_strndup, cgit2_substrdup,
    cgit2_realloc, cgit2_reallocarray, cgit2_mallocarray, cgit2_free,
  };
  int error;
  // The allocator is set before init: libgit2 allocates its global state with it.
  if ((error = GIT2_CALL(git_libgit2_opts)(GIT_OPT_SET_ALLOCATOR, &allocator)) < 0) return error;
  if ((error = GIT2_CALL(git_libgit2_init)()) < 0) return error;
  if ((error = GIT2_CALL(git_libgit2_opts)(GIT_OPT_SET_OWNER_VALIDATION, 0)) < 0) return error;
  const int levels[] = {GIT_CONFIG_LEVEL_SYSTEM, GIT_CONFIG_LEVEL_XDG, GIT_CONFIG_LEVEL_GLOBAL, GIT_CONFIG_LEVEL_PROGRAMDATA};
  for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
    if ((error = GIT2_CALL(git_libgit2_opts)(GIT_OPT_SET_SEARCH_PATH, levels[i], "")) < 0) return error;
  }
  return 0;
}
