import CFuzzDriver

// What the libFuzzer targets share: turning libFuzzer's input into bytes, and the rule
// that a parser of outside bytes either returns a value that passes its checks or throws
// its own typed error. Anything else (another error, a trap, an ASan report, a hang)
// is a finding, which libFuzzer saves as `crash-…` / `timeout-…` for a regression test.

/// Runs `check` on one libFuzzer input and returns 0 (libFuzzer's "keep going").
///
///     @_cdecl("LLVMFuzzerTestOneInput")
///     public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 { fuzzEntry(data, size, checkIDX) }
public func fuzzEntry(_ data: UnsafePointer<UInt8>?, _ size: Int, _ check: ([UInt8]) -> Void) -> Int32 {
    check(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

/// Stops the process with `message`: libFuzzer reports it and saves the input.
func finding(_ message: @autoclosure () -> String) -> Never {
    fatalError("fuzz finding: \(message())")
}

/// `body`'s value, or nil when it threw an `E` for which `accepted` holds; any other
/// error is a finding (a parser of outside bytes throws only its own typed errors).
func result<E: Error, R>(_ parser: String, throwing _: E.Type, accepted: (E) -> Bool = { _ in true },
                         _ body: () throws -> R) -> R? {
    do { return try body() } catch let error as E where accepted(error) { return nil } catch {
        finding("\(parser) threw \(type(of: error)): \(error)")
    }
}

/// Checks `condition`, a finding with `message` when it fails.
func expect(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { finding(message()) }
}

/// The input's first byte as a fraction in [0, 1] (a parameter a target varies with the input).
func fraction(_ bytes: [UInt8]) -> Double { Double(bytes.first ?? 0) / 255 }

/// Runs libFuzzer (its command line is this process's) with `entry` as the function
/// that takes one input, and returns its exit status.
///
///     exit(runFuzzer { data, size in fuzzEntry(data, size, checkIDX) })
public func runFuzzer(_ entry: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32 {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    return LLVMFuzzerRunDriver(&argc, &argv, entry)
}
