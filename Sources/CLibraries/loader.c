#include "loader.h"

#ifndef GANTRY_LINK_DIRECT

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void gl_open(GLLibrary *library) {
  // Local: the library's symbols stay out of the global scope (Gantry's own stubs of the same
  // names in curl.c and git2.c are what the rest of the binary calls). Lazy binding: the ~30
  // libraries libcurl depends on are relocated as their functions are first used.
  void *handle = dlopen(library->file, RTLD_LAZY | RTLD_LOCAL);
  if (handle == NULL) {
    const char *reason = dlerror();
    snprintf(library->message, sizeof library->message, "%s could not be loaded (%s): %s, or use the static binary (the action image)",
             library->file, reason ? reason : "no reason given", library->remedy);
    library->problem = library->message;
    return;
  }
  for (size_t i = 0; i < library->count; i++) {
    library->addresses[i] = dlsym(handle, library->names[i]);
    if (library->addresses[i] == NULL) {
      snprintf(library->message, sizeof library->message, "%s has no %s: too old for Gantry; %s, or use the static binary (the action image)",
               library->file, library->names[i], library->remedy);
      library->problem = library->message;
      return;
    }
  }
  library->problem = NULL;
}

_Noreturn void gl_fail(const GLLibrary *library) {
  char line[600];
  int n = snprintf(line, sizeof line, "gantry: %s\n", library->problem);
  if (n > 0) {
    ssize_t ignored = write(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    (void)ignored;
  }
  _exit(1);
}

#endif
