#if canImport(Glibc)
import Glibc
#endif

/// Compares the gradient of `f` with respect to `w` with central finite differences
/// on up to `samples` random entries of each tensor of `w` (all entries of small
/// tensors). Use Float64 parameters: Float32 differences are too noisy. Returns true
/// when every checked entry agrees within `atol + rtol * max(|analytic|, |numeric|)`;
/// otherwise prints the worst entry to standard error and returns false.
///
///     let ok = gradcheck({ (w: Tensor, x: Tensor) in sum(tanh(w * x)) },
///                        Tensor.randn(3, 4, dtype: .float64), Tensor.randn(4, 2, dtype: .float64))
@discardableResult
public func gradcheck<P: Params, each A>(_ f: @escaping (P, repeat each A) -> Tensor, _ w: P,
                                         _ args: repeat each A, samples: Int = 10,
                                         delta: Double? = nil, rtol: Double = 1e-4, atol: Double = 1e-6,
                                         verbose: Bool = false) -> Bool {
    let df = grad(f)
    let analytic = df(w, repeat each args).tensors
    let params = w.tensors
    var worst: (excess: Double, report: String)?
    for (t, (p, g)) in zip(params, analytic).enumerated() {
        knetCheck(g.shape == p.shape, "gradcheck: gradient \(t) has shape \(g.shape), parameter has \(p.shape)")
        let h = delta ?? (p.dtype == .float64 ? 1e-6 : 1e-2)
        let picks = p.count <= samples ? Array(0..<p.count) : (0..<samples).map { _ in Int(RandomSource.shared.uniform() * Double(p.count)) % p.count }
        for i in picks {
            let saved = p[flat: i]
            p.setFlat(i, saved + h)
            let plus = f(w, repeat each args).scalar
            p.setFlat(i, saved - h)
            let minus = f(w, repeat each args).scalar
            p.setFlat(i, saved)
            let numeric = (plus - minus) / (2 * h)
            let a = g[flat: i]
            let raw = Swift.abs(a - numeric) - (atol + rtol * Swift.max(Swift.abs(a), Swift.abs(numeric)))
            let excess = raw.isNaN ? .infinity : raw        // a NaN gradient is a mismatch
            if verbose || excess > 0 {
                let line = "gradcheck: tensor \(t) \(p.shape) entry \(i): analytic \(a), numeric \(numeric)"
                if verbose { fputs(line + "\n", stderr) }
                if excess > (worst?.excess ?? 0) { worst = (excess, line) }
            }
        }
    }
    if let worst { fputs(worst.report + "  <- worst mismatch\n", stderr) }
    return worst == nil
}
