// libFuzzer target: every input goes through `checkSafeTensors` (see FuzzChecks).
#if canImport(Glibc)
import Glibc
#endif
import FuzzChecks

exit(runFuzzer { data, size in fuzzEntry(data, size, checkSafeTensors) })
