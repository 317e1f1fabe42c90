#if canImport(Glibc)
import Glibc
#endif

/// A Knet usage error — a shape, dtype or device mismatch, an out-of-range label or
/// index, an invalid argument — caught by `withErrorHandling`. `message` is the text
/// that would otherwise have stopped the process.
///
///     do { try withErrorHandling { _ = a * b } }
///     catch let error as KnetError { print(error.message) }   // "Knet: *: ... [3, 4] ... [5, 2]"
public struct KnetError: Error, CustomStringConvertible, Sendable {
    /// The error's text, starting with "Knet: " and naming the op and shapes.
    public let message: String
    /// Same as `message`.
    public var description: String { message }
}

/// Runs `body` and returns its result, turning a Knet usage error inside it — which
/// otherwise stops the process — into a thrown `KnetError` with the same message (as
/// MLX Swift's `withError`). Errors `body` throws itself pass through unchanged.
/// Outside such a call misuse keeps trapping, as Julia's and Swift's own checks do.
///
/// After a caught error the thread's AutoGrad state is as it was when `body` started:
/// an enclosing `grad` or `diff` goes on recording, and later `grad` calls work. The
/// values the failed code held are not freed (Swift cannot unwind its frames), so
/// catch errors of misuse, not as control flow in a loop. `body` runs on a helper
/// thread while the calling thread waits (it sees the caller's AutoGrad state; about
/// 20–50 µs a call), so it must not depend on thread-local state of its own.
///
///     let loss = try withErrorHandling { nll(predict(w, x), labels) }
///     // a label of 10 with 10 classes → KnetError "Knet: nll: label 10 ..."
public func withErrorHandling<R>(_ body: @escaping () throws -> R) throws -> R {
    let context = ThreadContext.current
    var result: Result<R, Error>?
    let job = GuardedJob({ result = Result { try body() } }, context: context)
    let depth = context.recordingDepth, diffs = context.diffStack.count, trap = context.failureTrap
    defer { context.failureTrap = trap }
    job.runOnHelperThread()
    if let message = job.failure {
        context.recordingDepth = depth
        context.diffStack.removeLast(context.diffStack.count - diffs)
        throw KnetError(message: message)
    }
    return try result!.get()
}

/// `body` run on a thread of its own that shares `context`, ending that thread (and
/// keeping the message) when a usage error reaches `knetFail`.
private final class GuardedJob {
    let body: () -> Void
    let context: ThreadContext
    var failure: String?

    init(_ body: @escaping () -> Void, context: ThreadContext) {
        self.body = body
        self.context = context
    }

    func runOnHelperThread() {
        var thread = pthread_t()
        let arg = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            let job = Unmanaged<GuardedJob>.fromOpaque(raw!).takeUnretainedValue()
            ThreadContext.adopt(job.context)
            job.context.failureTrap = { [unowned job] message in
                job.failure = message
                pthread_exit(nil)
            }
            job.body()
            return nil
        }, arg)
        precondition(rc == 0, "withErrorHandling: pthread_create failed (\(rc))")
        pthread_join(thread, nil)
        Unmanaged<GuardedJob>.fromOpaque(arg).release()
    }
}
