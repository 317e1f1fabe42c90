// Catching two threads writing one tensor at once. Tensors are not locked: reading one
// from several threads is fine, but writing it in place (assign, setindex, update) while
// another thread writes it would interleave the two writes silently. Each in-place write
// marks its storage as written by this thread's context for its duration; a second
// thread arriving meanwhile stops with a usage error (`knetFail`) naming the problem.
// A read racing a write is not detected (that would cost a mark on every op).

/// The owner id of this thread's writes: its AutoGrad context (a `withErrorHandling`
/// helper thread shares its caller's, so it counts as the caller).
private func writerID(_ context: ThreadContext) -> UInt {
    UInt(bitPattern: Unmanaged.passUnretained(context).toOpaque())
}

/// Runs `body` as the only in-place writer of the storages of `tensors`; a nested call
/// on the same thread passes through. Another thread writing one of them at the same
/// moment is a usage error: "`op`: ... written by another thread at the same time".
///
///     exclusiveWrite("assign", [self]) { Backend.on(device).fill(self, value) }
func exclusiveWrite<R>(_ op: @autoclosure () -> String, _ tensors: [Tensor], _ body: () throws -> R) rethrows -> R {
    let context = ThreadContext.current
    let me = writerID(context)
    let held = context.writing.count
    defer { releaseWrites(context, downTo: held) }
    for t in tensors {
        let (taken, owner) = t.storage.writer.compareExchange(expected: 0, desired: me, ordering: .acquiringAndReleasing)
        if taken { context.writing.append(t.storage) } else if owner != me {
            knetFail("\(op()): a tensor \(t.dtype)\(t.shape) is being written by another thread at the same time; "
                     + "tensors and optimizers must not be mutated from two threads at once (give each thread its own, or synchronize)")
        }
    }
    return try body()
}

/// Clears the marks this thread set after its first `count` (all of them for 0); called
/// by `knetFail` too, since a caught usage error ends the thread without running defers.
func releaseWrites(_ context: ThreadContext, downTo count: Int = 0) {
    while context.writing.count > count { context.writing.removeLast().writer.store(0, ordering: .releasing) }
}
