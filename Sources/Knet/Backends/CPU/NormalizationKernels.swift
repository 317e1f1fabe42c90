// The CPU kernels of the fused softmax and batch normalization: one pass per softmax
// column (stable: the maximum subtracted) and two per channel for batch normalization,
// split over the cores. Sums are kept in Double.

extension CPUBackend: NormalizationBackend {
    func softmax(_ x: Tensor, _ layout: NormalizationLayout, log: Bool) -> Tensor? {
        let y = Tensor(uninitialized: x.shape, dtype: x.dtype, device: .cpu)
        func run<T: KnetFloat>(_: T.Type) {
            let (xp, yp) = (x.pointer(T.self), y.pointer(T.self))
            forEachColumn(layout) { base, stride in
                var m = -T.infinity
                for k in 0..<layout.n { m = Swift.max(m, xp[base + k * stride]) }
                if m == -.infinity { m = 0 }                 // all -Inf: exp gives 0/0 = NaN, as the composition
                var total = 0.0
                for k in 0..<layout.n {
                    let e = ScalarMath.exp(xp[base + k * stride] - m)
                    yp[base + k * stride] = e
                    total += Double(e)
                }
                if log {
                    let shift = m + T(Double.log(total))
                    for k in 0..<layout.n { yp[base + k * stride] = xp[base + k * stride] - shift }
                } else {
                    let inverse = T(1 / total)
                    for k in 0..<layout.n { yp[base + k * stride] *= inverse }
                }
            }
        }
        dispatchFloat(x.dtype, { run(Float.self) }, { run(Double.self) })
        return y
    }

    func softmaxBackward(_ y: Tensor, _ dy: Tensor, _ layout: NormalizationLayout, log: Bool) -> Tensor? {
        let dx = Tensor(uninitialized: y.shape, dtype: y.dtype, device: .cpu)
        func run<T: KnetFloat>(_: T.Type) {
            let (yp, dyp, dxp) = (y.pointer(T.self), dy.pointer(T.self), dx.pointer(T.self))
            forEachColumn(layout) { base, stride in
                var total = 0.0
                for k in 0..<layout.n {
                    let i = base + k * stride
                    total += log ? Double(dyp[i]) : Double(dyp[i] * yp[i])
                }
                let s = T(total)
                for k in 0..<layout.n {
                    let i = base + k * stride
                    dxp[i] = log ? dyp[i] - ScalarMath.exp(yp[i]) * s : yp[i] * (dyp[i] - s)
                }
            }
        }
        dispatchFloat(y.dtype, { run(Float.self) }, { run(Double.self) })
        return dx
    }

    func batchNormTraining(_ x: Tensor, scale: Tensor, bias: Tensor, running: (mean: Tensor, variance: Tensor)?,
                           momentum: Double, eps: Double, _ layout: NormalizationLayout) -> (y: Tensor, saved: BatchNormStatistics)? {
        let y = Tensor(uninitialized: x.shape, dtype: x.dtype, device: .cpu)
        let mean = Tensor(uninitialized: [layout.n], dtype: x.dtype, device: .cpu)
        let inverseStd = Tensor(uninitialized: [layout.n], dtype: x.dtype, device: .cpu)
        let m = Double(layout.inner * layout.outer)
        func run<T: KnetFloat>(_: T.Type) {
            let (xp, yp, sp, bp) = (x.pointer(T.self), y.pointer(T.self), scale.pointer(T.self), bias.pointer(T.self))
            let (mp, ip) = (mean.pointer(T.self), inverseStd.pointer(T.self))
            let rp = running.map { ($0.mean.pointer(T.self), $0.variance.pointer(T.self)) }
            Parallel.chunks(layout.n, costPerElement: 4 * layout.inner * layout.outer) { lo, hi in
                for c in lo..<hi {
                    var total = 0.0
                    forEachValue(layout, channel: c) { total += Double(xp[$0]) }
                    let mu = total / Swift.max(m, 1)
                    var squares = 0.0
                    forEachValue(layout, channel: c) { let d = Double(xp[$0]) - mu; squares += d * d }
                    let variance = squares / Swift.max(m, 1), inv = 1 / (variance + eps).squareRoot()
                    let (a, b) = (Double(sp[c]) * inv, Double(bp[c]))
                    forEachValue(layout, channel: c) { yp[$0] = T((Double(xp[$0]) - mu) * a + b) }
                    (mp[c], ip[c]) = (T(mu), T(inv))
                    if let (rm, rv) = rp {
                        rm[c] = T(momentum * mu + (1 - momentum) * Double(rm[c]))
                        rv[c] = T(momentum * variance * m / Swift.max(m - 1, 1) + (1 - momentum) * Double(rv[c]))
                    }
                }
            }
        }
        dispatchFloat(x.dtype, { run(Float.self) }, { run(Double.self) })
        return (y, BatchNormStatistics(mean: mean, inverseStd: inverseStd))
    }

    func batchNormBackward(_ x: Tensor, _ dy: Tensor, scale: Tensor, saved: BatchNormStatistics, eps: Double,
                           _ layout: NormalizationLayout) -> (dx: Tensor, dscale: Tensor, dbias: Tensor)? {
        let dx = Tensor(uninitialized: x.shape, dtype: x.dtype, device: .cpu)
        let dscale = Tensor(uninitialized: [layout.n], dtype: x.dtype, device: .cpu)
        let dbias = Tensor(uninitialized: [layout.n], dtype: x.dtype, device: .cpu)
        let m = Double(layout.inner * layout.outer)
        func run<T: KnetFloat>(_: T.Type) {
            let (xp, dyp, dxp, sp) = (x.pointer(T.self), dy.pointer(T.self), dx.pointer(T.self), scale.pointer(T.self))
            let (mp, ip, dsp, dbp) = (saved.mean.pointer(T.self), saved.inverseStd.pointer(T.self),
                                      dscale.pointer(T.self), dbias.pointer(T.self))
            Parallel.chunks(layout.n, costPerElement: 4 * layout.inner * layout.outer) { lo, hi in
                for c in lo..<hi {
                    let (mu, inv) = (Double(mp[c]), Double(ip[c]))
                    var (sumDy, sumDyXhat) = (0.0, 0.0)
                    forEachValue(layout, channel: c) { i in
                        let g = Double(dyp[i])
                        sumDy += g
                        sumDyXhat += g * (Double(xp[i]) - mu) * inv
                    }
                    // dx = scale · inv / m · (m · dy − Σ dy − x̂ · Σ dy x̂)
                    let f = Double(sp[c]) * inv / Swift.max(m, 1)
                    forEachValue(layout, channel: c) { i in
                        let xhat = (Double(xp[i]) - mu) * inv
                        dxp[i] = T(f * (m * Double(dyp[i]) - sumDy - xhat * sumDyXhat))
                    }
                    (dsp[c], dbp[c]) = (T(sumDyXhat), T(sumDy))
                }
            }
        }
        dispatchFloat(x.dtype, { run(Float.self) }, { run(Double.self) })
        return (dx, dscale, dbias)
    }
}

/// `body(base, stride)` for each softmax column of `layout` (its values are at `base + k ·
/// stride`, k < n), split over the cores.
private func forEachColumn(_ layout: NormalizationLayout, _ body: (Int, Int) -> Void) {
    let columns = layout.inner * layout.outer
    Parallel.chunks(columns, costPerElement: 8 * layout.n) { lo, hi in
        for j in lo..<hi { body(j % layout.inner + (j / layout.inner) * layout.inner * layout.n, layout.inner) }
    }
}

/// `body(i)` for the flat index of every value of channel `c` of `layout`.
@inline(__always)
private func forEachValue(_ layout: NormalizationLayout, channel c: Int, _ body: (Int) -> Void) {
    for o in 0..<layout.outer {
        let start = (o * layout.n + c) * layout.inner
        for i in start..<(start + layout.inner) { body(i) }
    }
}
