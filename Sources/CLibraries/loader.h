// Loading a shared library on first use, for curl.c and git2.c: each keeps one `GLLibrary`
// (its file, the names of the functions Gantry calls, their addresses once resolved) and opens
// it under its own pthread_once.
#ifndef GANTRY_CLIBRARIES_LOADER_H
#define GANTRY_CLIBRARIES_LOADER_H

#ifndef GANTRY_LINK_DIRECT

#include <stddef.h>

typedef struct {
  /// The file dlopen is given, e.g. "libcurl.so.4".
  const char *file;
  /// How to get it, for the error: "install libcurl4 (Debian, Ubuntu)".
  const char *remedy;
  const char *const *names;
  void **addresses;
  size_t count;
  /// NULL once every address is resolved; else `message`.
  const char *problem;
  char message[512];
} GLLibrary;

/// Opens `library` and resolves every name; on failure sets `problem` (one line naming the
/// library and why). Called once per library, under its pthread_once.
void gl_open(GLLibrary *library);

/// Prints `library`'s problem to stderr and exits 1: a function of a library that could not be
/// loaded was called anyway (Swift checks `ccurl_load`/`cgit2_load` first; this is the backstop).
_Noreturn void gl_fail(const GLLibrary *library);

#endif
#endif
