import CKnetCPU
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The one-time notice on stderr that this Knet is an unoptimized (debug) build, printed
/// by the first backward pass (`grad`, `gradloss`, `diff`, a `Trainer` step). `swift run`
/// and `swift build` build debug by default, and SwiftPM then compiles Knet's Swift at
/// -Onone and its C kernels at -O0, which no flag a package may set changes: LeNet's
/// step took 13 times as long as in a release build (0.18 s against 0.014 s, 2 cores). `KNET_QUIET_DEBUG=1` hides it.
enum DebugBuildNotice {
    /// True when Knet's Swift code or its C kernels were compiled without optimization
    /// (what matters is Knet's own build, not the caller's).
    static let isUnoptimized = _isDebugAssertConfiguration() || knet_cpu_kernels_optimized() == 0

    /// What the notice says.
    static let message = """
        Knet: this is a debug build (unoptimized Swift and C kernels): training runs about 13× \
        slower than in a release build (LeNet). Build with `swift run -c release …` or `swift build -c release` \
        for real work; KNET_QUIET_DEBUG=1 hides this notice.
        """

    private struct State {
        var emitted = false
        /// Where the notice goes; nil for stderr (tests capture it).
        var sink: (@Sendable (String) -> Void)?
    }
    private static let state = Mutex(State())

    /// Prints the notice the first time it is called in an unoptimized build, unless
    /// `KNET_QUIET_DEBUG` is set to anything but `0` or empty.
    @inline(__always)
    static func emitOnce() {
        guard isUnoptimized else { return }
        emitFirstTime()
    }

    private static func emitFirstTime() {
        let sink: (@Sendable (String) -> Void)?? = state.withLock { s in
            if s.emitted { return nil }
            s.emitted = true
            return .some(s.sink)
        }
        guard let sink, !isQuiet() else { return }
        if let sink { sink(message) } else { fputs(message + "\n", stderr) }
    }

    /// True when `KNET_QUIET_DEBUG` asks for silence.
    private static func isQuiet() -> Bool {
        guard let v = getenv("KNET_QUIET_DEBUG") else { return false }
        let s = String(cString: v)
        return !s.isEmpty && s != "0"
    }

    /// Sets whether the notice counts as printed and sends it to `sink` (nil: stderr)
    /// from now on, for tests.
    static func reset(emitted: Bool = false, sink: (@Sendable (String) -> Void)?) {
        state.withLock { $0 = State(emitted: emitted, sink: sink) }
    }
}
