#if canImport(Glibc)
import Glibc
#endif

/// Per-thread AutoGrad state: how many `grad`/`diff` calls are recording on this
/// thread, and the stack of `diff` contexts that `Param`s attach to. Each thread has
/// its own, so two threads can train two models at once.
final class ThreadContext {
    var recordingDepth = 0
    var diffStack: [DiffContext] = []
    /// Set by `withErrorHandling` to turn `knetFail` into a thrown `KnetError`.
    var failureTrap: ((String) -> Never)?
    /// The storages this thread is writing in place now (`exclusiveWrite`).
    var writing: [Storage] = []

    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k) { p in if let p { Unmanaged<ThreadContext>.fromOpaque(p).release() } }
        return k
    }()

    /// This thread's context, created on first use.
    static var current: ThreadContext {
        if let p = pthread_getspecific(key) { return Unmanaged<ThreadContext>.fromOpaque(p).takeUnretainedValue() }
        let c = ThreadContext()
        pthread_setspecific(key, Unmanaged.passRetained(c).toOpaque())
        return c
    }

    /// Makes `context` this (new) thread's context too, so a helper thread records on
    /// its caller's tapes (`withErrorHandling`); released when the thread ends.
    static func adopt(_ context: ThreadContext) {
        pthread_setspecific(key, Unmanaged.passRetained(context).toOpaque())
    }

    /// Runs `body` counted as recording (see `isRecording()`).
    static func recording<R>(_ body: () throws -> R) rethrows -> R {
        let c = current
        c.recordingDepth += 1
        defer { c.recordingDepth -= 1 }
        return try body()
    }
}

/// True while a `grad`, `gradloss` or `diff` call is recording on this thread (used
/// by `dropout` to be active only during training).
public func isRecording() -> Bool { ThreadContext.current.recordingDepth > 0 }

/// The tape of one `diff { }` call and the boxes of the `Param`s it has met.
final class DiffContext {
    let tape = Tape()
    var boxes: [ObjectIdentifier: (param: Tensor, box: Tensor)] = [:]
    var order: [ObjectIdentifier] = []

    func box(_ param: Tensor) -> Tensor {
        let id = ObjectIdentifier(param)
        if let b = boxes[id] { return b.box }
        let b = tape.leaf(param.untracked)
        boxes[id] = (param, b)
        order.append(id)
        return b
    }
}

/// Attaching `Param`s to the innermost `diff` of this thread.
enum ParamRegistry {
    static func boxParams(_ xs: inout [Tensor]) {
        guard let ctx = ThreadContext.current.diffStack.last else { return }
        for i in xs.indices where xs[i].isParam { xs[i] = ctx.box(xs[i]) }
    }
}
