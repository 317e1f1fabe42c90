/// Pooling kernels: the narrow interface `pool`/`poolx`/`unpool` call (DESIGN.md
/// principle 4) and its CPU implementation, direct loops over each window (no im2col),
/// split over channels × batch. A cuDNN backend can implement the same protocol.



extension CPUBackend: PoolingBackend {
    func poolForward(_ v: Tensor, selector: Tensor, into y: Tensor, _ d: PoolDescriptor) {
        let plan = PoolPlan(input: v.shape, d)
        dispatchFloat(v.dtype,
            { plan.forward(v.pointer(Float.self), selector.pointer(Float.self), y.pointer(Float.self)) },
            { plan.forward(v.pointer(Double.self), selector.pointer(Double.self), y.pointer(Double.self)) })
    }

    func poolBackward(_ dy: Tensor, selector: Tensor?, into dx: Tensor, _ d: PoolDescriptor) {
        precondition(selector != nil || d.mode != .max, "poolBackward: max mode needs the selector")
        let plan = PoolPlan(input: dx.shape, d)
        dispatchFloat(dy.dtype,
            { plan.backward(dy.pointer(Float.self), selector?.pointer(Float.self), dx.pointer(Float.self)) },
            { plan.backward(dy.pointer(Double.self), selector?.pointer(Double.self), dx.pointer(Double.self)) })
    }
}

/// The part of one input plane a window covers, clipped to the real (unpadded)
/// elements: `lo..<hi` in each of three spatial dims (2-D pooling has a third dim of
/// size 1).
private struct Window {
    var lo0 = 0, hi0 = 0, lo1 = 0, hi1 = 0, lo2 = 0, hi2 = 0
    /// The number of real elements covered.
    var count: Int { (hi0 - lo0) * (hi1 - lo1) * (hi2 - lo2) }
}

/// A pooling descriptor laid out over three spatial dims and a plane count
/// (channels × batch), with the clipped window bounds of every output position.
private struct PoolPlan {
    let d: PoolDescriptor
    /// Input element strides of spatial dims 1 and 2; elements per input/output plane.
    let xStride1: Int, xStride2: Int, xPlane: Int, yPlane: Int, planes: Int
    /// Output sizes of the three spatial dims; elements of a whole (unclipped) window.
    let y0: Int, y1: Int, y2: Int, windowSize: Int
    /// Per spatial dim, `[lo0, hi0, lo1, hi1, ...]` over the output positions.
    let bounds: [[Int]]

    init(input shape: [Int], _ d: PoolDescriptor) {
        self.d = d
        let nd = d.window.count
        func spatial(_ a: [Int], _ fill: Int) -> [Int] { a + Array(repeating: fill, count: 3 - nd) }
        let x = spatial(Array(shape[0..<nd]), 1), window = spatial(d.window, 1)
        let padding = spatial(d.padding, 0), stride = spatial(d.stride, 1)
        let y: [Int] = (0..<3).map { k in 1 + (x[k] + 2 * padding[k] - window[k]) / stride[k] }
        bounds = (0..<3).map { k in
            var b: [Int] = []
            b.reserveCapacity(2 * y[k])
            for i in 0..<y[k] {
                let start = i * stride[k] - padding[k]
                b.append(Swift.max(start, 0))
                b.append(Swift.min(start + window[k], x[k]))
            }
            return b
        }
        xStride1 = x[0]; xStride2 = x[0] * x[1]; xPlane = x[0] * x[1] * x[2]
        y0 = y[0]; y1 = y[1]; y2 = y[2]; yPlane = y[0] * y[1] * y[2]
        planes = shape[nd...].reduce(1, *)
        windowSize = d.window.reduce(1, *)
    }

    /// Runs `kernel` over every plane and output position, split over threads by
    /// plane. A generic kernel rather than a closure, so its code is inlined here.
    @inline(__always)
    func run<K: WindowKernel>(_ kernel: K) {
        Parallel.chunks(planes, costPerElement: xPlane + yPlane) { lo, hi in
            bounds[0].withUnsafeBufferPointer { b0 in
            bounds[1].withUnsafeBufferPointer { b1 in
            bounds[2].withUnsafeBufferPointer { b2 in
                for plane in lo..<hi {
                    kernel.start(plane: plane)
                    var w = Window(), o = 0
                    for k in 0..<y2 {
                        w.lo2 = b2[2 * k]; w.hi2 = b2[2 * k + 1]
                        for j in 0..<y1 {
                            w.lo1 = b1[2 * j]; w.hi1 = b1[2 * j + 1]
                            for i in 0..<y0 {
                                w.lo0 = b0[2 * i]; w.hi0 = b0[2 * i + 1]
                                kernel.visit(plane: plane, o, w)
                                o += 1
                            }
                        }
                    }
                }
            }}}
        }
    }

    /// Whether `v` replaces the running maximum `m`: it is larger, or it is the first NaN
    /// when NaNs propagate. Written without branches (comparisons of random data are
    /// unpredictable).
    @inline(__always)
    func wins<T: KnetFloat>(_ v: T, over m: T) -> Bool {
        (v > m) || (d.propagateNaN && v != v && m == m)
    }

    /// The offset (within the plane `p`) of the window's maximum: the first maximum in
    /// column-major order, or the first NaN when NaNs propagate (the first element when
    /// nothing exceeds -Inf).
    @inline(__always)
    func argmax<T: KnetFloat>(_ p: UnsafePointer<T>, _ w: Window) -> Int {
        var best = w.lo0 + w.lo1 * xStride1 + w.lo2 * xStride2, m = -T.infinity
        forEachElement(w) { i in
            let v = p[i], take = wins(v, over: m)
            m = take ? v : m
            best = take ? i : best
        }
        return best
    }

    /// The value at `argmax(p, w)`, found without tracking the position.
    @inline(__always)
    func maximum<T: KnetFloat>(_ p: UnsafePointer<T>, _ w: Window) -> T {
        var m = -T.infinity
        forEachElement(w) { i in
            let v = p[i]
            m = wins(v, over: m) ? v : m
        }
        return m == -.infinity ? p[w.lo0 + w.lo1 * xStride1 + w.lo2 * xStride2] : m
    }

    /// The number a window's sum is divided by in the average modes.
    @inline(__always)
    func divisor(_ w: Window) -> Int {
        d.mode == .averageIncludingPadding ? windowSize : w.count
    }

    /// Calls `body(offset)` for each real element of a window (offsets within a plane).
    @inline(__always)
    func forEachElement(_ w: Window, _ body: (Int) -> Void) {
        for c in w.lo2..<w.hi2 {
            for b in w.lo1..<w.hi1 {
                let row = c * xStride2 + b * xStride1
                for a in w.lo0..<w.hi0 { body(row + a) }
            }
        }
    }

    func forward<T: KnetFloat>(_ v: UnsafeMutablePointer<T>, _ selector: UnsafeMutablePointer<T>,
                               _ y: UnsafeMutablePointer<T>) {
        if tilesByPairs {
            if T.self == Float.self && selector == v && y0 >= 8 {
                return eightWindowBlocks(EightMaxima(v: cast(v), y: cast(y), alpha: Float(d.alpha), propagateNaN: d.propagateNaN,
                                                     rowStride: xStride1))
            }
            return pairs(PairForward(plan: self, v: v, selector: selector, y: y, alpha: T(d.alpha)))
        }
        run(PoolForward(plan: self, v: v, selector: selector, y: y))
    }

    func backward<T: KnetFloat>(_ dy: UnsafeMutablePointer<T>, _ selector: UnsafeMutablePointer<T>?,
                                _ dx: UnsafeMutablePointer<T>) {
        if tilesByPairs, let selector {
            if T.self == Float.self && y0 >= 8 {
                return eightWindowBlocks(EightGradients(dy: cast(dy), selector: cast(selector), dx: cast(dx), alpha: Float(d.alpha),
                                                        propagateNaN: d.propagateNaN, rowStride: xStride1))
            }
            return pairs(PairBackward(plan: self, dy: dy, selector: selector, dx: dx, alpha: T(d.alpha)))
        }
        run(PoolBackward(plan: self, dy: dy, selector: selector, dx: dx))
    }

    // MARK: 2×2 max pooling

    /// Max pooling of 2-D planes of even sizes by 2×2 windows with stride 2 and no
    /// padding (LeNet's, and most CNNs'): the windows tile each plane exactly, so `pairs`
    /// visits them with no window bookkeeping and the gradient writes each element of
    /// `dx` once.
    var tilesByPairs: Bool {
        d.mode == .max && d.window == [2, 2] && d.stride == [2, 2] && d.padding == [0, 0]
            && 2 * y0 == xStride1 && 2 * y1 * xStride1 == xPlane
    }

    /// Calls `kernel.visit(window, o)` for every output `o` (flat over all planes) with
    /// the flat input offset of its window's first element, split over threads by plane.
    @inline(__always)
    func pairs<K: PairKernel>(_ kernel: K) {
        Parallel.chunks(planes, costPerElement: xPlane + yPlane) { lo, hi in
            for plane in lo..<hi {
                var o = plane * yPlane
                for j in 0..<y1 {
                    let row = plane * xPlane + 2 * j * xStride1
                    for i in 0..<y0 { kernel.visit(row + 2 * i, o); o += 1 }
                }
            }
        }
    }

    /// Calls `kernel.visit(row, o)` for blocks of eight windows of Float `tilesByPairs`
    /// planes at least 8 windows wide: `row` is the flat input offset of the block's first
    /// element (its second input row starts `xStride1` later), `o` the flat output offset
    /// of its first window. The last block of a row may overlap the one before.
    @inline(__always)
    func eightWindowBlocks<K: EightWindowKernel>(_ kernel: K) {
        Parallel.chunks(planes, costPerElement: xPlane + yPlane) { lo, hi in
            for plane in lo..<hi {
                for j in 0..<y1 {
                    var i = 0
                    while i < y0 {
                        i = Swift.min(i, y0 - 8)
                        kernel.visit(plane * xPlane + 2 * j * xStride1 + 2 * i, plane * yPlane + j * y0 + i)
                        i += 8
                    }
                }
            }
        }
    }

    /// The window element `argmax` picks, numbered in column-major order (0 and 1 are
    /// neighbours along dim 0, 2 and 3 the same one step along dim 1); `p` is element 0.
    @inline(__always)
    func pairArgmax<T: KnetFloat>(_ p: UnsafePointer<T>) -> Int {
        var m = -T.infinity, k = 0
        @inline(__always) func visit(_ v: T, _ index: Int) {
            let take = wins(v, over: m)
            m = take ? v : m
            k = take ? index : k
        }
        visit(p[0], 0); visit(p[1], 1); visit(p[xStride1], 2); visit(p[xStride1 + 1], 3)
        return k
    }

    /// The offset within a window of its element number `k` (see `pairArgmax`).
    @inline(__always)
    func pairOffset(_ k: Int) -> Int { (k >> 1) * xStride1 + (k & 1) }
}

/// The maxima of eight windows whose elements, in column-major order, are the lanes of
/// c0, c1, c2, c3, and which of the four each is (the index `PoolPlan.pairArgmax` gives:
/// NaNs skipped or propagated, 0 where nothing is above -Inf, whose maximum here is then
/// c0, the window's first element).
@inline(__always)
private func windowArgmax(_ c0: SIMD8<Float>, _ c1: SIMD8<Float>, _ c2: SIMD8<Float>, _ c3: SIMD8<Float>,
                          propagateNaN: Bool) -> (maximum: SIMD8<Float>, index: SIMD8<Int32>) {
    var m = SIMD8<Float>(repeating: -.infinity), k = SIMD8<Int32>(repeating: 0)
    @inline(__always) func take(_ c: SIMD8<Float>, _ index: Int32) {
        var wins = c .> m
        if propagateNaN { wins = wins .| ((c .!= c) .& (m .== m)) }
        m.replace(with: c, where: wins)
        k.replace(with: index, where: wins)
    }
    take(c0, 0); take(c1, 1); take(c2, 2); take(c3, 3)
    m.replace(with: c0, where: m .== SIMD8(repeating: -.infinity))
    return (m, k)
}

/// Work done for each block of eight windows by `PoolPlan.eightWindowBlocks`.
private protocol EightWindowKernel {
    /// Called with the block's first input offset and first output offset.
    func visit(_ row: Int, _ o: Int)
}

/// `y = alpha · pool(v)`, eight windows at a time.
private struct EightMaxima: EightWindowKernel {
    let v: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>, alpha: Float, propagateNaN: Bool, rowStride: Int

    @inline(__always)
    func visit(_ row: Int, _ o: Int) {
        let top = UnsafeRawPointer(v + row).loadUnaligned(as: SIMD16<Float>.self)
        let bottom = UnsafeRawPointer(v + row + rowStride).loadUnaligned(as: SIMD16<Float>.self)
        let m = windowArgmax(top.evenHalf, top.oddHalf, bottom.evenHalf, bottom.oddHalf, propagateNaN: propagateNaN).maximum
        UnsafeMutableRawPointer(y + o).storeBytes(of: m * alpha, as: SIMD8<Float>.self)
    }
}

/// The adjoint of `EightMaxima` with the maxima located in `selector`: each window gets
/// `alpha · dy` at its argmax and +0 elsewhere.
private struct EightGradients: EightWindowKernel {
    let dy: UnsafeMutablePointer<Float>, selector: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>
    let alpha: Float, propagateNaN: Bool, rowStride: Int

    @inline(__always)
    func visit(_ row: Int, _ o: Int) {
        let s0 = UnsafeRawPointer(selector + row).loadUnaligned(as: SIMD16<Float>.self)
        let s1 = UnsafeRawPointer(selector + row + rowStride).loadUnaligned(as: SIMD16<Float>.self)
        let k = windowArgmax(s0.evenHalf, s0.oddHalf, s1.evenHalf, s1.oddHalf, propagateNaN: propagateNaN).index
        let zero = SIMD8<Float>(repeating: 0)
        let g = UnsafeRawPointer(dy + o).loadUnaligned(as: SIMD8<Float>.self) * alpha + zero   // -0 lands as +0
        @inline(__always) func at(_ index: Int32) -> SIMD8<Float> { zero.replacing(with: g, where: k .== SIMD8(repeating: index)) }
        UnsafeMutableRawPointer(dx + row).storeBytes(of: interleave(at(0), at(1)), as: SIMD16<Float>.self)
        UnsafeMutableRawPointer(dx + row + rowStride).storeBytes(of: interleave(at(2), at(3)), as: SIMD16<Float>.self)
    }
}

/// Lanes of `a` and `b` alternating: a0 b0 a1 b1 ... a7 b7.
@inline(__always)
private func interleave(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD16<Float> {
    SIMD16(a[0], b[0], a[1], b[1], a[2], b[2], a[3], b[3], a[4], b[4], a[5], b[5], a[6], b[6], a[7], b[7])
}

/// Work done at each output position by `PoolPlan.pairs`.
private protocol PairKernel {
    /// Called for output `o` whose window starts at input offset `window`.
    func visit(_ window: Int, _ o: Int)
}

/// `PoolForward` for `PoolPlan.tilesByPairs`.
private struct PairForward<T: KnetFloat>: PairKernel {
    let plan: PoolPlan, v: UnsafeMutablePointer<T>, selector: UnsafeMutablePointer<T>, y: UnsafeMutablePointer<T>, alpha: T

    @inline(__always)
    func visit(_ window: Int, _ o: Int) {
        y[o] = alpha * v[window + plan.pairOffset(plan.pairArgmax(UnsafePointer(selector + window)))]
    }
}

/// `PoolBackward` (max mode) for `PoolPlan.tilesByPairs`: writes the whole window.
private struct PairBackward<T: KnetFloat>: PairKernel {
    let plan: PoolPlan, dy: UnsafeMutablePointer<T>, selector: UnsafeMutablePointer<T>, dx: UnsafeMutablePointer<T>, alpha: T

    @inline(__always)
    func visit(_ window: Int, _ o: Int) {
        // g + 0: a gradient of -0 lands as +0, as the general path's 0 + g gives
        let k = plan.pairArgmax(UnsafePointer(selector + window)), g = alpha * dy[o] + 0, p = dx + window
        p[0] = k == 0 ? g : 0
        p[1] = k == 1 ? g : 0
        p[plan.xStride1] = k == 2 ? g : 0
        p[plan.xStride1 + 1] = k == 3 ? g : 0
    }
}

/// Work done at each output position by `PoolPlan.run`.
private protocol WindowKernel {
    /// Called once per plane, before its windows.
    func start(plane: Int)
    /// Called for output `o` (within `plane`) and its window.
    func visit(plane: Int, _ o: Int, _ w: Window)
}

/// `y = alpha · pool(v)`, max located in `selector` (max mode).
private struct PoolForward<T: KnetFloat>: WindowKernel {
    let plan: PoolPlan, v: UnsafeMutablePointer<T>, selector: UnsafeMutablePointer<T>, y: UnsafeMutablePointer<T>

    func start(plane: Int) {}

    @inline(__always)
    func visit(plane: Int, _ o: Int, _ w: Window) {
        let p = UnsafePointer(v + plane * plan.xPlane), alpha = T(plan.d.alpha)
        let out: T
        switch plan.d.mode {
        case .max where selector == v: out = plan.maximum(p, w)
        case .max: out = p[plan.argmax(UnsafePointer(selector + plane * plan.xPlane), w)]
        case .averageIncludingPadding, .averageExcludingPadding:
            var s: T = 0
            plan.forEachElement(w) { s += p[$0] }
            out = s / T(plan.divisor(w))
        }
        y[plane * plan.yPlane + o] = alpha * out
    }
}

/// `dx` = the adjoint of `PoolForward` applied to `dy`; each plane zeroed first by the
/// thread that fills it.
private struct PoolBackward<T: KnetFloat>: WindowKernel {
    let plan: PoolPlan, dy: UnsafeMutablePointer<T>, selector: UnsafeMutablePointer<T>?, dx: UnsafeMutablePointer<T>

    func start(plane: Int) { (dx + plane * plan.xPlane).update(repeating: 0, count: plan.xPlane) }

    @inline(__always)
    func visit(plane: Int, _ o: Int, _ w: Window) {
        let p = dx + plane * plan.xPlane, g = T(plan.d.alpha) * dy[plane * plan.yPlane + o]
        if let selector, plan.d.mode == .max {
            p[plan.argmax(UnsafePointer(selector + plane * plan.xPlane), w)] += g
        } else {
            let share = g / T(plan.divisor(w))
            plan.forEachElement(w) { p[$0] += share }
        }
    }
}
