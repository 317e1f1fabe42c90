import XCTest
@testable import Knet
#if canImport(Glibc)
import Glibc
#endif

/// The message of the Knet usage error `body` stops with (nil if it finishes normally),
/// caught by `withErrorHandling`.
func knetError(_ body: @escaping () -> Void) -> String? {
    do {
        try withErrorHandling(body)
        return nil
    } catch {
        return (error as? KnetError)?.message ?? "not a KnetError: \(error)"
    }
}

/// Asserts that `body` stops with a Knet usage error whose message contains every
/// string in `fragments`.
func assertKnetError(_ fragments: String..., file: StaticString = #filePath, line: UInt = #line,
                     _ body: @escaping () -> Void) {
    guard let message = knetError(body) else {
        XCTFail("expected a Knet error containing \(fragments), but the code ran normally", file: file, line: line)
        return
    }
    for f in fragments where !message.contains(f) {
        XCTFail("error message \"\(message)\" does not contain \"\(f)\"", file: file, line: line)
    }
}

/// Asserts two tensors have the same shape and elementwise-close values.
func assertClose(_ a: Tensor, _ b: Tensor, rtol: Double = 1e-5, atol: Double = 1e-6,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, "shapes differ", file: file, line: line)
    let x = [Double](a), y = [Double](b)
    guard x.count == y.count else { return }
    for i in x.indices where !(Swift.abs(x[i] - y[i]) <= atol + rtol * Swift.max(Swift.abs(x[i]), Swift.abs(y[i])))
        && !(x[i].isNaN && y[i].isNaN) && x[i] != y[i] {
        XCTFail("element \(i): \(x[i]) vs \(y[i])", file: file, line: line)
        return
    }
}

/// Asserts a tensor's values equal `expected` (and optionally its shape).
func assertValues(_ a: Tensor, _ expected: [Double], shape: [Int]? = nil, rtol: Double = 1e-5, atol: Double = 1e-6,
                  file: StaticString = #filePath, line: UInt = #line) {
    if let shape { XCTAssertEqual(a.shape, shape, "shape", file: file, line: line) }
    assertClose(Tensor([Double](a), shape: [a.count], dtype: .float64),
                Tensor(expected, shape: [expected.count], dtype: .float64), rtol: rtol, atol: atol, file: file, line: line)
}

/// A Float64 random tensor for gradchecks.
func rand64(_ dims: Int...) -> Tensor { rand64(shape: dims) }

/// A Float64 tensor of standard normal values of the given shape.
func rand64(shape: [Int]) -> Tensor { Tensor.randn(shape: shape, dtype: .float64) }

// MARK: - helpers for the core op suites (Elementwise/Broadcast/Reduction/Shape/Indexing)

/// A Float64 tensor of uniform values in [lo, hi).
func uniform64(_ shape: [Int], _ lo: Double, _ hi: Double) -> Tensor {
    Tensor.rand(shape: shape, dtype: .float64) .* (hi - lo) .+ lo
}

/// A tensor of `shape` whose values are `f(linear position)` (column-major).
func tensorFrom(_ shape: [Int], dtype: DType = .float64, _ f: (Int) -> Double) -> Tensor {
    let n = shape.reduce(1, *)
    return Tensor((0..<n).map(f), shape: shape, dtype: dtype)
}

/// The column-major multi-index of linear position `i` in `shape`.
func multiIndex(_ i: Int, _ shape: [Int]) -> [Int] {
    var rem = i
    return shape.map { n in defer { rem /= n }; return rem % n }
}

/// The column-major linear position of `index` in `shape` (missing trailing dims are 0).
func linearPosition(_ index: [Int], _ shape: [Int]) -> Int {
    var pos = 0, stride = 1
    for d in shape.indices { pos += (d < index.count ? index[d] : 0) * stride; stride *= shape[d] }
    return pos
}

/// A naive reduction of column-major `values` of `shape` over `dims` (reduced dims
/// keep size 1), with `initial` and `combine`.
func naiveReduce(_ values: [Double], _ shape: [Int], dims: [Int], initial: Double,
                 _ combine: (Double, Double) -> Double) -> [Double] {
    let outShape = shape.indices.map { dims.contains($0) ? 1 : shape[$0] }
    var out = [Double](repeating: initial, count: outShape.reduce(1, *))
    for i in values.indices {
        let idx = multiIndex(i, shape).enumerated().map { dims.contains($0.offset) ? 0 : $0.element }
        let o = linearPosition(idx, outShape)
        out[o] = combine(out[o], values[i])
    }
    return out
}

// Elementwise power through Knet's `**` (Julia's `.^`).
func tpow(_ a: Tensor, _ b: Tensor) -> Tensor { a ** b }
func tpow(_ a: Tensor, _ b: Double) -> Tensor { a ** b }
func tpow(_ a: Double, _ b: Tensor) -> Tensor { a ** b }

/// Runs `body` in a forked child process, for code that may die of a runtime trap (not
/// a Knet usage error) and would otherwise take the whole test process down. Returns
/// nil when the child finished normally, else how it ended.
func crashInChild(timeout: Double = 30, _ body: () -> Void) -> String? {
    fflush(stdout); fflush(stderr)
    let pid = fork()
    if pid == 0 { body(); fflush(stdout); fflush(stderr); _exit(0) }
    guard pid > 0 else { return "fork failed" }
    var status: Int32 = 0
    var waited = 0.0
    while waitpid(pid, &status, WNOHANG) != pid {
        if waited > timeout { kill(pid, SIGKILL); waitpid(pid, &status, 0); return "timed out after \(timeout) s" }
        usleep(2000); waited += 0.002
    }
    let signal = status & 0x7f
    if signal == 0 {
        let code = (status >> 8) & 0xff
        return code == 0 ? nil : "exited with status \(code)"
    }
    return "killed by signal \(signal)"
}

/// Asserts that `body` runs to completion in a child process (no runtime trap).
func assertNoCrash(_ what: String, file: StaticString = #filePath, line: UInt = #line, _ body: () -> Void) {
    if let fate = crashInChild(body) { XCTFail("\(what): \(fate)", file: file, line: line) }
}
