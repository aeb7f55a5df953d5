#include <zlib.h>

// inflateInit is a macro (it passes ZLIB_VERSION and the struct size): wrapped for Swift.
static inline int czlib_inflate_init(z_streamp stream) { return inflateInit(stream); }
