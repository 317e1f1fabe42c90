// Convolution and transposed convolution (Knet's conv4 / deconv4). Three primitives
// share the backend's lowering: conv4 (y), conv4x (its data gradient) and conv4w (its
// filter gradient); the gradient of each is written with the others, as in Knet.jl's
// src/conv.jl, so gradients of gradients work.

/// The keyword arguments of a convolution, carried by its primitives.
struct ConvOptions {
    var padding: ConvSize, stride: ConvSize, dilation: ConvSize
    var mode: Int, alpha: Double, group: Int

    /// Checks the shapes' rank and the options for `op` on filter shape `w` and input
    /// shape `x`, and returns padding, stride and dilation with one value per spatial dim.
    func resolved(_ op: String, w: [Int], x: [Int]) -> (padding: [Int], stride: [Int], dilation: [Int]) {
        func shapes() -> String { "w \(w), x \(x)" }   // only built for an error message
        knetCheck(w.count == x.count && (3...5).contains(x.count),
                  "\(op): w and x must both have 3 to 5 dims ([W..., C/group, O] and [X..., C, N]), got \(shapes())")
        knetCheck(w.allSatisfy { $0 > 0 } && x.dropLast().allSatisfy { $0 > 0 },
                  "\(op): empty filter, image or channel dim in \(shapes())")
        knetCheck(mode == 0 || mode == 1,
                  "\(op): mode must be 0 (convolution) or 1 (cross-correlation), got \(mode) (\(shapes()))")
        knetCheck(group >= 1, "\(op): group must be at least 1, got \(group) (\(shapes()))")
        let dims = x.count - 2
        let p = padding.perDim(dims, op, "padding", shapes())
        let s = stride.perDim(dims, op, "stride", shapes())
        let d = dilation.perDim(dims, op, "dilation", shapes())
        knetCheck(p.allSatisfy { $0 >= 0 }, "\(op): negative padding \(padding) (\(shapes()))")
        knetCheck(s.allSatisfy { $0 >= 1 }, "\(op): stride \(stride) must be at least 1 (\(shapes()))")
        knetCheck(d.allSatisfy { $0 >= 1 }, "\(op): dilation \(dilation) must be at least 1 (\(shapes()))")
        return (p, s, d)
    }

    /// The geometry of convolving input shape `x` with filter shape `w`, checked.
    func geometry(_ op: String, w: [Int], x: [Int]) -> ConvGeometry {
        let (p, s, d) = resolved(op, w: w, x: x)
        let dims = x.count - 2
        func shapes() -> String { "w \(w), x \(x)" }
        let (channels, outChannels) = (x[dims], w[dims + 1])
        knetCheck(channels == w[dims] * group,
                  "\(op): x has \(channels) channels but w expects \(w[dims])×\(group) (w [..., C/group, O] with group \(group); \(shapes()))")
        knetCheck(outChannels % group == 0,
                  "\(op): \(outChannels) output channels of w are not divisible by group \(group) (\(shapes()))")
        var ySize = [Int]()
        for i in 0..<dims {
            let window = (w[i] - 1) * d[i] + 1
            knetCheck(window <= x[i] + 2 * p[i],
                      "\(op): window \(window) (filter \(w[i]), dilation \(d[i])) is larger than the padded input \(x[i] + 2 * p[i]) along dim \(i) (\(shapes()), padding \(padding))")
            ySize.append(1 + (x[i] + 2 * p[i] - window) / s[i])
        }
        @inline(__always) func three(_ v: [Int], _ fill: Int) -> [Int] { v + Array(repeating: fill, count: 3 - dims) }
        return ConvGeometry(spatialDims: dims, xSize: three(Array(x.prefix(dims)), 1), kernel: three(Array(w.prefix(dims)), 1),
                            ySize: three(ySize, 1), padding: three(p, 0), stride: three(s, 1), dilation: three(d, 1),
                            channels: channels, outChannels: outChannels, batch: x[dims + 1], groups: group,
                            flipped: mode == 0)
    }

    /// The output shape of `deconv4` for filter shape `w` [W..., Cy/group, Cx] and input
    /// shape `x` [X..., Cx, N]: `Yi = (Xi-1)*stride + (Wi-1)*dilation + 1 - 2*padding`;
    /// errors name `op`.
    func deconvShape(_ op: String = "deconv4", w: [Int], x: [Int]) -> [Int] {
        let (p, s, d) = resolved(op, w: w, x: x)
        let dims = x.count - 2
        func shapes() -> String { "w \(w), x \(x)" }
        knetCheck(x[dims] == w[dims + 1],
                  "\(op): x has \(x[dims]) channels but w [..., Cy/group, Cx] has \(w[dims + 1]) (\(shapes()))")
        let y = (0..<dims).map { (i: Int) -> Int in
            let window: Int = (w[i] - 1) * d[i] + 1
            return (x[i] - 1) * s[i] + window - 2 * p[i]
        }
        knetCheck(y.allSatisfy { $0 >= 1 }, "\(op): padding \(padding) leaves an empty output \(y) (\(shapes()))")
        return y + [w[dims] * group, x[dims + 1]]
    }

    /// Runs one backend call into a fresh tensor of `shape` after the dtype/device checks.
    func run(_ op: String, _ a: Tensor, _ b: Tensor, shape: [Int],
             _ call: (ConvolutionBackend, Tensor, Tensor, Tensor) -> Void) -> Tensor {
        checkCompatible(op, a, b)
        let out = Tensor(uninitialized: shape, dtype: a.dtype, device: a.device)
        call(Backend.on(a.device), a.contiguousData(), b.contiguousData(), out)
        return out
    }
}

/// Checks that `dy` has the output shape of geometry `g` (the gradient primitives).
private func checkOutputGradient(_ op: String, _ dy: Tensor, _ g: ConvGeometry) {
    knetCheck(dy.shape == g.yShape,
              "\(op): dy has shape \(dy.shape), the convolution of x \(g.xShape) by w \(g.wShape) has \(g.yShape)")
}

/// y = conv4(w, x) as a primitive; gradients conv4w and conv4x.
private func conv4(_ w: Tensor, _ x: Tensor, _ o: ConvOptions) -> Tensor {
    apply(Primitive("conv4", forward: { xs in
        let g = o.geometry("conv4", w: xs[0].shape, x: xs[1].shape)
        return o.run("conv4", xs[0], xs[1], shape: g.yShape) { $0.convolution($1, $2, into: $3, g, alpha: o.alpha) }
    }, gradients: [
        { dy, _, xs in conv4w(xs[0], xs[1], dy, o) },
        { dy, _, xs in conv4x(xs[0], xs[1], dy, o) },
    ]), [w, x])
}

/// dx = conv4x(w, x, dy), the gradient of `sum(conv4(w, x) .* dy)` with respect to x (x
/// only gives the shape). It is linear in w and in dy, whose gradients are conv4w and conv4.
private func conv4x(_ w: Tensor, _ x: Tensor, _ dy: Tensor, _ o: ConvOptions) -> Tensor {
    apply(Primitive("conv4x", forward: { xs in
        let g = o.geometry("conv4x", w: xs[0].shape, x: xs[1].shape)
        checkOutputGradient("conv4x", xs[2], g)
        return o.run("conv4x", xs[0], xs[2], shape: g.xShape) {
            $0.convolutionBackwardData($1, $2, into: $3, g, alpha: o.alpha)
        }
    }, gradients: [
        { ddx, _, xs in conv4w(xs[0], ddx, xs[2], o) },
        { _, _, _ in nil },
        { ddx, _, xs in conv4(xs[0], ddx, o) },
    ]), [w, x, dy])
}

/// dw = conv4w(w, x, dy), the gradient of `sum(conv4(w, x) .* dy)` with respect to w (w
/// only gives the shape). It is linear in x and in dy, whose gradients are conv4x and conv4.
private func conv4w(_ w: Tensor, _ x: Tensor, _ dy: Tensor, _ o: ConvOptions) -> Tensor {
    apply(Primitive("conv4w", forward: { xs in
        let g = o.geometry("conv4w", w: xs[0].shape, x: xs[1].shape)
        checkOutputGradient("conv4w", xs[2], g)
        return o.run("conv4w", xs[1], xs[2], shape: g.wShape) {
            $0.convolutionBackwardFilter($1, $2, into: $3, g, alpha: o.alpha)
        }
    }, gradients: [
        { _, _, _ in nil },
        { ddw, _, xs in conv4x(ddw, xs[1], xs[2], o) },
        { ddw, _, xs in conv4(ddw, xs[1], o) },
    ]), [w, x, dy])
}

/// Convolution of `x` `[X1,X2,(X3),C,N]` by filters `w` `[W1,W2,(W3),C/group,O]` (Knet's
/// `conv4`), giving `[Y1,Y2,(Y3),O,N]` with
/// `Yi = 1 + (Xi + 2*padding[i] - ((Wi-1)*dilation[i] + 1)) / stride[i]`. A 1-D form
/// (`x [X,C,N]`, `w [W,C/group,O]`) works too.
///
/// - `padding`, `stride`, `dilation`: one number, or one per spatial dim.
/// - `mode`: 0 = convolution (the kernel is flipped; Knet's default), 1 = cross-correlation
///   (PyTorch's `conv2d`).
/// - `alpha`: scales the result (cuDNN's alpha).
/// - `group`: channels split into `group` independent groups (C and O divisible by it).
///
/// Differentiable in `w` and `x`, to any order. The CPU lowers row tiles of each image
/// (im2col) and multiplies them by the filters with one GEMM per image and group,
/// spreading the batch over the cores.
///
///     let y = conv4(w, x, padding: 1)        // w [3,3,1,20], x [28,28,1,100] → [28,28,20,100]
public func conv4(_ w: Tensor, _ x: Tensor, padding: ConvSize = 0, stride: ConvSize = 1, dilation: ConvSize = 1,
                  mode: Int = 0, alpha: Double = 1, group: Int = 1) -> Tensor {
    conv4(w, x, ConvOptions(padding: padding, stride: stride, dilation: dilation, mode: mode, alpha: alpha, group: group))
}

/// Transposed convolution (Knet's `deconv4`), the reverse of `conv4`: for `w`
/// `[W1,W2,(W3),Cy/group,Cx]` and `x` `[X1,X2,(X3),Cx,N]` it gives `y` `[Y1,Y2,(Y3),Cy,N]`
/// with `Yi = (Xi-1)*stride[i] + (Wi-1)*dilation[i] + 1 - 2*padding[i]`, the shape that
/// `conv4(w, y)` (same options) maps back to x's. Its value is the x-gradient of that
/// convolution (PyTorch's `conv_transpose2d` for `mode: 1`); options as in `conv4`.
/// Differentiable in `w` and `x`, to any order.
///
///     let up = deconv4(w, x, stride: 2)      // w [2,2,16,32], x [7,7,32,N] → [14,14,16,N]
public func deconv4(_ w: Tensor, _ x: Tensor, padding: ConvSize = 0, stride: ConvSize = 1, dilation: ConvSize = 1,
                    mode: Int = 0, alpha: Double = 1, group: Int = 1) -> Tensor {
    let o = ConvOptions(padding: padding, stride: stride, dilation: dilation, mode: mode, alpha: alpha, group: group)
    return apply(Primitive("deconv4", forward: { xs in
        let g = o.geometry("deconv4", w: xs[0].shape, x: o.deconvShape(w: xs[0].shape, x: xs[1].shape))
        return o.run("deconv4", xs[0], xs[1], shape: g.xShape) {
            $0.convolutionBackwardData($1, $2, into: $3, g, alpha: o.alpha)
        }
    }, gradients: [
        { dy, _, xs in conv4w(xs[0], dy, xs[1], o) },
        { dy, _, xs in conv4(xs[0], dy, o) },
    ]), [w, x])
}
