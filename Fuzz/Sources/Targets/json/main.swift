// libFuzzer target: every input goes through `checkJSON` (see FuzzChecks).
#if canImport(Glibc)
import Glibc
#endif
import FuzzChecks

exit(runFuzzer { data, size in fuzzEntry(data, size, checkJSON) })
