/// Stops with a message naming the op and shapes when `condition` fails.
/// Shape, dtype and device mismatches are programmer errors (as in Julia and PyTorch),
/// so they trap with a clear message rather than throw.
@inline(__always)
func knetCheck(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
               file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { knetFail(message(), file: file, line: line) }
}

/// Reports a usage error and stops. Tests install a per-thread trap
/// (`FailureTrap.install`) to observe the message instead of crashing the process.
func knetFail(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    if let trap = ThreadContext.current.failureTrap { trap("Knet: " + message) }
    fatalError("Knet: " + message, file: file, line: line)
}

/// Lets a test observe a usage error on the current thread: `trap` receives the
/// message and must not return (the test helper ends the thread).
enum FailureTrap {
    static func install(_ trap: ((String) -> Never)?) { ThreadContext.current.failureTrap = trap }
}

/// Checks that two operands of `op` agree in dtype and device.
func checkCompatible(_ op: @autoclosure () -> String, _ a: Tensor, _ b: Tensor) {
    knetCheck(a.dtype == b.dtype,
              "\(op()): dtype mismatch \(a.dtype)\(a.shape) vs \(b.dtype)\(b.shape)")
    knetCheck(a.device == b.device,
              "\(op()): device mismatch \(a.device) \(a.shape) vs \(b.device) \(b.shape)")
}
