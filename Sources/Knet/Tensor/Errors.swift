/// Stops with a message naming the op and shapes when `condition` fails.
/// Shape, dtype and device mismatches are programmer errors (as in Julia and PyTorch),
/// so they trap with a clear message rather than throw, unless `withErrorHandling`
/// catches them.
@inline(__always)
func knetCheck(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
               file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { knetFail(message(), file: file, line: line) }
}

/// Reports a usage error and stops, or, inside `withErrorHandling`, ends its helper
/// thread so that the call throws a `KnetError` with the message. In a job of several
/// processes, `failureHandler` ends the whole job instead (naming this rank).
func knetFail(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    let context = ThreadContext.current
    if let trap = context.failureTrap {
        releaseWrites(context)          // the thread ends without running defers
        trap("Knet: " + message)
    }
    failureHandler?(message)
    fatalError("Knet: " + message, file: file, line: line)
}

/// Checks that two operands of `op` agree in dtype and device.
func checkCompatible(_ op: @autoclosure () -> String, _ a: Tensor, _ b: Tensor) {
    knetCheck(a.dtype == b.dtype,
              "\(op()): dtype mismatch \(a.dtype)\(a.shape) vs \(b.dtype)\(b.shape)")
    knetCheck(a.device == b.device,
              "\(op()): device mismatch \(a.device) \(a.shape) vs \(b.device) \(b.shape)")
}

/// Called with a usage error's message before the process stops (outside
/// `withErrorHandling`): `Distributed` sets it in a job of several processes to abort the
/// whole job with the rank named, rather than leave the other processes waiting.
nonisolated(unsafe) var failureHandler: ((String) -> Void)?
