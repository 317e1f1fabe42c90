#if canImport(Glibc)
import Glibc
#endif

/// Round axis ticks for data in `[lo, hi]`: about `count` values 1, 2 or 5 × 10ᵏ apart
/// (the spacing nearest, in ratio, to an even split of the range)
/// (never closer than `minimumStep`), and the axis range they span, which covers the
/// data. An empty range (`lo == hi`) is widened around the value.
///
///     let t = AxisTicks(0.13, 0.92)   // values [0.0, 0.2, ..., 1.0], labels "0.0", "0.2", ...
package struct AxisTicks: Equatable {
    /// The tick values, from `lower` to `upper`.
    package let values: [Double]
    /// The distance between ticks.
    package let step: Double
    /// The axis range.
    package let lower: Double, upper: Double

    package init(_ lo: Double, _ hi: Double, count: Int = 5, minimumStep: Double = 0) {
        var (lo, hi) = (Swift.min(lo, hi), Swift.max(lo, hi))
        if !(hi > lo) {
            let pad = lo == 0 ? 1 : lo.magnitude * 0.1
            (lo, hi) = (lo - pad, hi + pad)
        }
        let raw = (hi - lo) / Double(Swift.max(count - 1, 1))
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let fraction = raw / magnitude
        let nice = (fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10) * magnitude
        let step = Swift.max(nice, minimumStep)
        let lower = (lo / step).rounded(.down) * step, upper = (hi / step).rounded(.up) * step
        let n = Int(((upper - lower) / step).rounded())
        self.step = step
        self.lower = lower
        self.upper = upper
        values = (0...n).map { lower + Double($0) * step }
    }

    /// `v` as a tick label, with as many decimals as the step needs.
    ///
    ///     AxisTicks(0, 1).label(0.4)   // "0.4"
    package func label(_ v: Double) -> String {
        fmt(v, Swift.max(0, Int(-(log10(step)).rounded(.down))))
    }
}
