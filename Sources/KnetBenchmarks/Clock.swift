import Knet
#if canImport(Glibc)
import Glibc
#endif

/// Seconds `body` takes, once, including the GPU work it queued on the default device.
func timed(_ body: () -> Void) -> Double {
    let t0 = monotonicSeconds()
    body()
    if case .gpu(let n) = Device.current { synchronize(n) }
    return monotonicSeconds() - t0
}

/// One timed run of `body` as a `RunResult` (loss to be filled in), with the cores other
/// processes used meanwhile (`LoadMonitor`).
func timedRun(_ body: () -> Void) -> RunResult {
    let monitor = LoadMonitor()
    let seconds = timed(body)
    return RunResult(seconds: seconds, loss: .nan, otherCores: monitor.otherCores())
}

/// Median of `runs` timings of `body` (seconds), after one untimed warm-up call.
func median(runs: Int, _ body: () -> Void) -> Double {
    body()
    return median((0..<runs).map { _ in timed(body) })
}

/// The median of `values` (the mean of the middle two for an even count); NaN when empty.
func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    let s = values.sorted(), m = s.count / 2
    return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

/// `v` with `digits` decimals (no exponent notation); "—" for NaN or infinity.
///
///     fmt(3.14159, 2)   // "3.14"
public func fmt(_ v: Double, _ digits: Int = 3) -> String {
    guard v.isFinite else { return "—" }
    let scaled = (v.magnitude * pow(10, Double(digits))).rounded()
    guard scaled < 9e18 else { return String(v) }
    var s = String(Int(scaled))
    while s.count <= digits { s = "0" + s }
    if digits > 0 { s.insert(".", at: s.index(s.endIndex, offsetBy: -digits)) }
    return (v < 0 && scaled != 0 ? "-" : "") + s
}

extension String {
    /// Padded with spaces on the left to `n` characters.
    func leftPad(_ n: Int) -> String { String(repeating: " ", count: Swift.max(0, n - count)) + self }
    /// Padded with spaces on the right to `n` characters.
    func rightPad(_ n: Int) -> String { self + String(repeating: " ", count: Swift.max(0, n - count)) }
}
