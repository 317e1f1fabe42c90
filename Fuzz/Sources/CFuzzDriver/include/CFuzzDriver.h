// libFuzzer's driver, which -sanitize=fuzzer links in (compiler-rt's FuzzerDriver.cpp).
// The targets call it from their own main: SwiftPM gives an executable's main a name of
// its own (and aliases `main` to it), so libFuzzer's main is never linked.
#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer with the command line `argc`/`argv` on `callback` (one input per call).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
