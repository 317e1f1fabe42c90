/// Pooling (Knet's `pool`, `poolx`, `unpool`) over 2-D and 3-D windows of image
/// batches `[X1,X2,C,N]` and volume batches `[X1,X2,X3,C,N]`, each channel of each
/// instance on its own, with cuDNN's semantics.

/// The window, padding and stride of `op` resolved to one entry per spatial dim of a
/// 4-D or 5-D `shape` (a usage error for any other rank).
private func spatialOptions(_ op: String, _ shape: [Int], _ window: PoolSize, _ padding: PoolSize,
                            _ stride: PoolSize?) -> (window: [Int], padding: [Int], stride: [Int]) {
    knetCheck(shape.count == 4 || shape.count == 5,
              "\(op): input must be 4-D [X1,X2,C,N] or 5-D [X1,X2,X3,C,N], got shape \(shape)")
    let nd = shape.count - 2
    return (window.perDim(nd, op, "window", "input of shape \(shape)"),
            padding.perDim(nd, op, "padding", "input of shape \(shape)"),
            (stride ?? window).perDim(nd, op, "stride", "input of shape \(shape)"))
}

extension PoolDescriptor {
    /// Validates the options of `op` for an input of `shape` `[X1,...,Xd,C,N]`
    /// (d = 2 or 3): window and stride ≥ 1, 0 ≤ padding < window (so every window
    /// overlaps the input), and at least one output in every dim.
    init(_ op: String, input shape: [Int], window: PoolSize, padding: PoolSize, stride: PoolSize?,
         mode: Int, maxpoolingNanOpt: Int, alpha: Double) {
        let (w, p, s) = spatialOptions(op, shape, window, padding, stride)
        let nd = w.count
        let what = "window=\(w) padding=\(p) stride=\(s) for input of shape \(shape)"
        knetCheck(w.allSatisfy { $0 >= 1 } && s.allSatisfy { $0 >= 1 },
                  "\(op): window and stride must be positive, got \(what)")
        knetCheck(p.allSatisfy { $0 >= 0 }, "\(op): padding must not be negative, got \(what)")
        knetCheck(zip(p, w).allSatisfy { $0 < $1 }, "\(op): padding must be smaller than the window, got \(what)")
        // Knet's size rule truncates toward zero, so a window may overhang the padded
        // input by less than a stride (Knet's own example pools a [6,1,1,1] array with the
        // default 2×2 window); cells past the input count as padding.
        knetCheck((0..<nd).allSatisfy { shape[$0] >= 1 && 1 + (shape[$0] + 2 * p[$0] - w[$0]) / s[$0] >= 1 },
                  "\(op): window larger than the padded input leaves no output, got \(what)")
        guard let m = Mode(rawValue: mode) else {
            knetFail("\(op): mode must be 0 (max), 1 (average with padding) or 2 (average without), got \(mode) for input of shape \(shape)")
        }
        knetCheck(maxpoolingNanOpt == 0 || maxpoolingNanOpt == 1,
                  "\(op): maxpoolingNanOpt must be 0 or 1, got \(maxpoolingNanOpt) for input of shape \(shape)")
        self.init(window: w, padding: p, stride: s, mode: m, propagateNaN: maxpoolingNanOpt == 1, alpha: alpha)
    }
}

/// Pools each window of `x` `[X1,X2,(X3),C,N]` to one number: the result is
/// `[Y1,Y2,(Y3),C,N]` with `Yi = 1 + (Xi + 2·padding − window) ÷ stride` (the division
/// truncating toward zero, as Knet and cuDNN: a window may overhang the padded input by
/// less than a stride, its missing cells counting as padding). Differentiable (its gradient is `poolx`), also to higher orders.
///
/// - `window` (default 2), `padding` (default 0, at both ends; 0 ≤ padding < window),
///   `stride` (default `window`): one number or one per spatial dim.
/// - `mode`: 0 max (padding never wins), 1 average including the padding zeros in the
///   count, 2 average over the real elements only.
/// - `maxpoolingNanOpt`: 0 skips NaNs in max pooling (a window holding nothing above
///   -Inf gives its first element, NaN or -Inf), 1 propagates them.
/// - `alpha` scales the result.
///
/// Max pooling routes the gradient to the first maximum of each window (column-major
/// order), as PyTorch does.
///
///     let x = Tensor((1...16).map(Double.init), shape: [4, 4, 1, 1])
///     pool(x)                      // [6 14; 8 16], shape [2, 2, 1, 1]
///     pool(x, window: 3, padding: 1, stride: 1, mode: 2)
public func pool(_ x: Tensor, window: PoolSize = 2, padding: PoolSize = 0, stride: PoolSize? = nil,
                 mode: Int = 0, maxpoolingNanOpt: Int = 0, alpha: Double = 1) -> Tensor {
    let d = PoolDescriptor("pool", input: x.shape, window: window, padding: padding, stride: stride,
                           mode: mode, maxpoolingNanOpt: maxpoolingNanOpt, alpha: alpha)
    return pooled(x, selector: nil, d)
}

/// The gradient of `pool` (cuDNN's poolingBackward): `dx` of `x`'s shape for the
/// output `y = pool(x; options)` and its gradient `dy`, with the same options as the
/// `pool` call. `y` is checked for shape only (the CPU recomputes each window's
/// maximum from `x`). Differentiable in `dy` (it is linear in `dy`; the gradient is a
/// pooling of `ddx` with the same routing), to any order; its gradient in `x` and `y`
/// is zero (max routing is piecewise constant, the averages do not depend on them).
///
///     let y = pool(x)
///     let dx = poolx(x, y, Tensor.ones(shape: y.shape))   // 1 at each window's maximum
public func poolx(_ x: Tensor, _ y: Tensor, _ dy: Tensor, window: PoolSize = 2, padding: PoolSize = 0,
                  stride: PoolSize? = nil, mode: Int = 0, maxpoolingNanOpt: Int = 0, alpha: Double = 1) -> Tensor {
    let d = PoolDescriptor("poolx", input: x.shape, window: window, padding: padding, stride: stride,
                           mode: mode, maxpoolingNanOpt: maxpoolingNanOpt, alpha: alpha)
    let expected = d.outputShape(x.shape)
    knetCheck(y.shape == expected && dy.shape == expected,
              "poolx: y \(y.shape) and dy \(dy.shape) must have the pooled shape \(expected) of x \(x.shape)")
    checkCompatible("poolx", x, dy)
    checkCompatible("poolx", y, dy)
    return unpooled(dy, selector: d.mode == .max ? x : nil, input: x.shape, d)
}

/// The reverse of pooling (Knet's `unpool`): each element of `x` `[Y1,Y2,(Y3),C,N]`
/// is copied over its window of the result `[X1,X2,(X3),C,N]`, where
/// `Xi = (Yi − 1)·stride + window − 2·padding`, so that `pool(unpool(x; o...); o...) == x`
/// for the same options whenever windows do not overlap (stride ≥ window; overlapping
/// windows add up). Computed as the gradient of average pooling scaled by the window
/// size (mode 1 for `pool` modes 0 and 2, mode 2 for `pool` mode 1) and by `1/alpha`.
/// Differentiable, to any order.
///
///     let x = Tensor([1, 2, 3, 4], shape: [2, 2, 1, 1])
///     unpool(x)                    // [1 1 3 3; 1 1 3 3; 2 2 4 4; 2 2 4 4]
public func unpool(_ x: Tensor, window: PoolSize = 2, padding: PoolSize = 0, stride: PoolSize? = nil,
                   mode: Int = 0, maxpoolingNanOpt: Int = 0, alpha: Double = 1) -> Tensor {
    knetCheck(alpha != 0, "unpool: alpha must not be 0 for input of shape \(x.shape)")
    let (w, p, s) = spatialOptions("unpool", x.shape, window, padding, stride)
    let nd = w.count
    let up = x.shape.indices.map { i in i < nd ? (x.shape[i] - 1) * s[i] + w[i] - 2 * p[i] : x.shape[i] }
    knetCheck((0..<nd).allSatisfy { up[$0] >= 1 },
              "unpool: window=\(w) padding=\(p) stride=\(s) leave no output for input of shape \(x.shape) (got \(up))")
    let d = PoolDescriptor("unpool", input: up, window: window, padding: padding, stride: stride,
                           mode: mode, maxpoolingNanOpt: maxpoolingNanOpt, alpha: alpha)
    let spread = d.with(mode: d.mode == .averageIncludingPadding ? .averageExcludingPadding : .averageIncludingPadding,
                        alpha: Double(w.reduce(1, *)) / alpha)
    return unpooled(x, selector: nil, input: up, spread)
}

/// The primitive `alpha · pool(v)`; in max mode the windows' maxima are located in
/// `selector` (`v` itself when nil). Its gradient in `v` is `unpooled` with the same
/// routing; `selector` gets none.
func pooled(_ v: Tensor, selector: Tensor?, _ d: PoolDescriptor) -> Tensor {
    apply(Primitive("pool", forward: { xs in
        let v = xs[0].contiguousData()
        let y = Tensor(uninitialized: d.outputShape(v.shape), dtype: v.dtype, device: v.device)
        Backend.on(v.device).poolForward(v, selector: xs.count > 1 ? xs[1].contiguousData() : v, into: y, d)
        return y
    }, gradients: [{ dy, _, xs in
        unpooled(dy, selector: d.mode == .max ? xs.last : nil, input: xs[0].shape, d)
    }]), selector.map { [v, $0] } ?? [v])
}

/// The primitive `poolx`: `dy` routed back to an input of shape `input` (to the
/// argmax of `selector` in max mode). Linear in `dy`, whose gradient is `pooled` with
/// the same routing; `selector` gets none.
func unpooled(_ dy: Tensor, selector: Tensor?, input: [Int], _ d: PoolDescriptor) -> Tensor {
    apply(Primitive("poolx", forward: { xs in
        let dy = xs[0].contiguousData()
        let dx = Tensor(uninitialized: input, dtype: dy.dtype, device: dy.device)
        Backend.on(dy.device).poolBackward(dy, selector: xs.count > 1 ? xs[1].contiguousData() : nil,
                                                    into: dx, d)
        return dx
    }, gradients: [{ ddx, _, xs in
        pooled(ddx, selector: xs.count > 1 ? xs[1] : nil, d)
    }]), selector.map { [dy, $0] } ?? [dy])
}
