// Nothing to import from here: the functions this target defines are declared where Swift
// sees them, in Sources/CCurl/shim.h and Sources/CGit2/shim.h.
