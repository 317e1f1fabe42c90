/// Pooling kernels: the narrow interface `pool`/`poolx`/`unpool` call (DESIGN.md
/// principle 4) and its CPU implementation, direct loops over each window (no im2col, in
/// C: `WindowKernels`), split over channels × batch. A cuDNN backend can implement the
/// same protocol.

import CKnetCPU

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

/// A pooling descriptor laid out over three spatial dims and a plane count
/// (channels × batch), with the clipped window bounds of every output position, run by
/// `WindowKernels`' loops split over threads by plane.
private struct PoolPlan {
    let d: PoolDescriptor
    /// Input element strides of spatial dims 1 and 2; elements per input/output plane.
    let xStride1: Int, xStride2: Int, xPlane: Int, yPlane: Int, planes: Int
    /// Output sizes of the three spatial dims; elements of a whole (unclipped) window.
    let y0: Int, y1: Int, y2: Int, windowSize: Int
    /// Per spatial dim in turn, `lo, hi` of the part of the input each output position's
    /// window covers, clipped to the real (unpadded) elements.
    let bounds: [Int]

    init(input shape: [Int], _ d: PoolDescriptor) {
        self.d = d
        let nd = d.window.count
        func spatial(_ a: [Int], _ fill: Int) -> [Int] { a + Array(repeating: fill, count: 3 - nd) }
        let x = spatial(Array(shape[0..<nd]), 1), window = spatial(d.window, 1)
        let padding = spatial(d.padding, 0), stride = spatial(d.stride, 1)
        let y: [Int] = (0..<3).map { k in 1 + (x[k] + 2 * padding[k] - window[k]) / stride[k] }
        var b: [Int] = []
        b.reserveCapacity(2 * (y[0] + y[1] + y[2]))
        for k in 0..<3 {
            for i in 0..<y[k] {
                let start = i * stride[k] - padding[k]
                b.append(Swift.max(start, 0))
                b.append(Swift.min(start + window[k], x[k]))
            }
        }
        bounds = b
        xStride1 = x[0]; xStride2 = x[0] * x[1]; xPlane = x[0] * x[1] * x[2]
        y0 = y[0]; y1 = y[1]; y2 = y[2]; yPlane = y[0] * y[1] * y[2]
        planes = shape[nd...].reduce(1, *)
        windowSize = d.window.reduce(1, *)
    }

    /// `y = alpha · pool(v)`, max mode's maxima located in `selector`.
    func forward<T: KnetFloat>(_ v: UnsafeMutablePointer<T>, _ selector: UnsafeMutablePointer<T>,
                               _ y: UnsafeMutablePointer<T>) {
        let loops = WindowKernels.entryPoints(T.self)
        let loop = (tilesByPairs ? loops.pool_2x2 : loops.pool)!
        forEachPlanes { p, lo, hi in loop(p, v, selector, y, lo, hi) }
    }

    /// `dx` = the adjoint of `forward` applied to `dy` (`selector` only in max mode).
    func backward<T: KnetFloat>(_ dy: UnsafeMutablePointer<T>, _ selector: UnsafeMutablePointer<T>?,
                                _ dx: UnsafeMutablePointer<T>) {
        let loops = WindowKernels.entryPoints(T.self)
        let loop = (tilesByPairs ? loops.pool_2x2_backward : loops.pool_backward)!
        forEachPlanes { p, lo, hi in loop(p, dy, selector, dx, lo, hi) }
    }

    /// Max pooling of 2-D planes of even sizes by 2×2 windows with stride 2 and no
    /// padding (LeNet's, and most CNNs'): the windows tile each plane exactly, so the 2×2
    /// loops visit them with no window bookkeeping and the gradient writes each element of
    /// `dx` once.
    var tilesByPairs: Bool {
        d.mode == .max && d.window == [2, 2] && d.stride == [2, 2] && d.padding == [0, 0]
            && 2 * y0 == xStride1 && 2 * y1 * xStride1 == xPlane
    }

    /// Calls `body(plan, lo, hi)` with the C loops' form of this plan for ranges of planes
    /// `lo..<hi` covering them all, on several threads when they are large enough.
    private func forEachPlanes(_ body: (UnsafePointer<knet_pool>, Int, Int) -> Void) {
        bounds.withUnsafeBufferPointer { b in
            var p = knet_pool(x_stride1: xStride1, x_stride2: xStride2, x_plane: xPlane, y_plane: yPlane, y: (y0, y1, y2),
                              bounds: b.baseAddress, mode: Int32(d.mode.rawValue), propagate_nan: d.propagateNaN ? 1 : 0,
                              window_size: windowSize, alpha: d.alpha)
            withUnsafePointer(to: &p) { p in
                Parallel.chunks(planes, costPerElement: xPlane + yPlane) { lo, hi in body(p, lo, hi) }
            }
        }
    }
}
