// Only the header matters (LLVMFuzzerRunDriver comes from libFuzzer); SwiftPM wants a source file.
#include "CFuzzDriver.h"
