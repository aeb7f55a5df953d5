// libgit2 for Gantry's repository reader (Sources/Versioning/Git): libgit2's own headers and
// the set-up Gantry makes (git_libgit2_opts is variadic, which Swift cannot call).
//
// The headers only: the functions are reached through Sources/CGit2Loader, which either calls
// a libgit2 linked into the binary (the `LinkDirect` trait: scripts/build-static) or loads
// libgit2.so.<LIBGIT2_SOVERSION> with dlopen the first time one of them is called (every other
// build), so a run that reads no repository never loads it (docs/benchmarks.md).
#ifndef GANTRY_CGIT2_SHIM_H
#define GANTRY_CGIT2_SHIM_H

#include <git2.h>
#include <git2/sys/alloc.h>

/// The library file loaded on first use ("libgit2.so.1.5"), or NULL when libgit2 is linked
/// into the binary. Loads nothing.
const char *cgit2_library_file(void);
/// Loads libgit2 if it is not linked in (once per process, thread-safe): NULL when it can be
/// used, else one line saying why not (the library's name and the loader's reason). A libgit2
/// function called after a failed load prints that line to stderr and exits 1.
const char *cgit2_load(void);

/// Sets up libgit2 once for the process (the caller makes it once): an allocation cap of 256
/// MiB (only a hostile object, a zlib bomb, asks for more: it gets a clean "out of memory"
/// error instead of the memory; packs are mapped, not allocated), no owner validation (the
/// action's container runs as another user than the checkout's owner; git and libgit2 >= 1.4.3
/// would refuse it as "dubious ownership"), and no global, XDG or system configuration (the
/// answer depends on the repository alone). 0 on success.
int cgit2_setup(void);

#endif
