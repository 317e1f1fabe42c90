// The cuDNN path of the GPU backend: convolution and pooling (each call of
// `CUDAConvolution.swift` is first offered here and runs on Knet's own kernels when this
// declines), softmax and batch normalization (`NormalizationBackend`; declined, the ops
// compose them from elementwise and reduction kernels). A call is declined when there is
// no cuDNN (absent, `KNET_CUDNN=0`, or no handle on this device), a size is past C ints,
// a tensor is empty, cuDNN's descriptors or heuristics refuse the configuration, or for
// `poolx`'s separate selector (cuDNN locates maxima in the pooled input only). A cuDNN
// failure once a call has been accepted stops with cuDNN's message. Workspaces come from
// the caching allocator, stream-ordered like every other buffer.

extension CUDABackend: NormalizationBackend {
    /// `call` through cuDNN on operands `inputs` (forward: x, w; backward data: w, dy;
    /// backward filter: x, dy) into `output`, scaled by `alpha`; false when declined.
    func cudnnConvolution(_ call: CUDNN.ConvolutionCall, _ g: ConvGeometry, inputs: (Tensor, Tensor), output: Tensor,
                          alpha: Double) -> Bool {
        guard let layout = CUDNNConvolutionLayout(g), ![layout.x, layout.w, layout.y].contains(where: { $0.contains(0) })
        else { return false }
        return withCUDNN("cudnnConvolution\(call.cName) \(g.xShape) * \(g.wShape)") { dnn, h -> Bool? in
            guard let d = try? dnn.convolutionDescriptors(layout, dtype: output.dtype),
                  let choice = try? dnn.choose(h, call, d, device: gpu.ordinal, workspaceLimit: CUDAConvolution.columnBudgetBytes)
            else { return nil }
            let workspace = scratch(bytes: choice.workspace)
            try dnn.convolution(h, call, d, choice, inputs: (address(inputs.0), address(inputs.1)), output: address(output),
                                workspace: workspace.map(address) ?? 0, alpha: alpha)
            return true
        } ?? false
    }

    /// `y = alpha · pool(v)` through cuDNN; false when declined (also when `selector` is
    /// not `v`).
    func cudnnPoolForward(_ v: Tensor, selector: Tensor, into y: Tensor, _ d: PoolDescriptor) -> Bool {
        guard selector === v else { return false }
        return withCUDNNPooling("cudnnPoolingForward", d, input: v.shape, dtype: y.dtype) { dnn, h, descriptors in
            try dnn.poolForward(h, descriptors, x: address(v), y: address(y), dtype: y.dtype, alpha: d.alpha)
        }
    }

    /// The pooling gradient through cuDNN; false when declined. In max mode cuDNN finds
    /// each window's maximum by comparing `selector` with its pooled output, which is
    /// computed first; average modes read neither.
    func cudnnPoolBackward(_ dy: Tensor, selector: Tensor?, into dx: Tensor, _ d: PoolDescriptor) -> Bool {
        withCUDNNPooling("cudnnPoolingBackward", d, input: dx.shape, dtype: dx.dtype) { dnn, h, descriptors in
            var y = dy
            if d.mode == .max, let selector {
                y = Tensor(uninitialized: dy.shape, dtype: dy.dtype, device: device)
                try dnn.poolForward(h, descriptors, x: address(selector), y: address(y), dtype: dy.dtype, alpha: 1)
            }
            try dnn.poolBackward(h, descriptors, y: address(y), dy: address(dy), x: address(selector ?? dx), dx: address(dx),
                                 dtype: dx.dtype, alpha: d.alpha)
        }
    }

    // MARK: NormalizationBackend

    func softmax(_ x: Tensor, _ layout: NormalizationLayout, log: Bool) -> Tensor? {
        withNormalization("cudnnSoftmaxForward \(x.shape)", layout, x.dtype) { dnn, h, d in
            let y = Tensor(uninitialized: x.shape, dtype: x.dtype, device: device)
            try dnn.softmaxForward(h, d, x: address(x), y: address(y), log: log, dtype: x.dtype)
            return y
        }
    }

    func softmaxBackward(_ y: Tensor, _ dy: Tensor, _ layout: NormalizationLayout, log: Bool) -> Tensor? {
        withNormalization("cudnnSoftmaxBackward \(y.shape)", layout, y.dtype) { dnn, h, d in
            let dx = Tensor(uninitialized: y.shape, dtype: y.dtype, device: device)
            try dnn.softmaxBackward(h, d, y: address(y), dy: address(dy), dx: address(dx), log: log, dtype: y.dtype)
            return dx
        }
    }

    func batchNormTraining(_ x: Tensor, scale: Tensor, bias: Tensor, running: (mean: Tensor, variance: Tensor)?,
                           momentum: Double, eps: Double, _ layout: NormalizationLayout) -> (y: Tensor, saved: BatchNormStatistics)? {
        withNormalization("cudnnBatchNormalizationForwardTraining \(x.shape)", layout, x.dtype) { dnn, h, d in
            let channels = try dnn.tensor([1, Int32(layout.n), 1, 1], x.dtype)
            let y = Tensor(uninitialized: x.shape, dtype: x.dtype, device: device)
            let saved = BatchNormStatistics(mean: Tensor(uninitialized: [layout.n], dtype: x.dtype, device: device),
                                            inverseStd: Tensor(uninitialized: [layout.n], dtype: x.dtype, device: device))
            try dnn.batchNormForward(h, d, channels, x: address(x), y: address(y), scale: address(scale), bias: address(bias),
                                     factor: running == nil ? 0 : momentum,
                                     running: running.map { (address($0.mean), address($0.variance)) } ?? (0, 0), eps: eps,
                                     saved: (address(saved.mean), address(saved.inverseStd)), dtype: x.dtype)
            return (y, saved)
        }
    }

    func batchNormBackward(_ x: Tensor, _ dy: Tensor, scale: Tensor, saved: BatchNormStatistics, eps: Double,
                           _ layout: NormalizationLayout) -> (dx: Tensor, dscale: Tensor, dbias: Tensor)? {
        withNormalization("cudnnBatchNormalizationBackward \(x.shape)", layout, x.dtype) { dnn, h, d in
            let channels = try dnn.tensor([1, Int32(layout.n), 1, 1], x.dtype)
            let dx = Tensor(uninitialized: x.shape, dtype: x.dtype, device: device)
            let dscale = Tensor(uninitialized: [layout.n], dtype: x.dtype, device: device)
            let dbias = Tensor(uninitialized: [layout.n], dtype: x.dtype, device: device)
            try dnn.batchNormBackward(h, d, channels, x: address(x), dy: address(dy), dx: address(dx), scale: address(scale),
                                      dscale: address(dscale), dbias: address(dbias), eps: eps,
                                      saved: (address(saved.mean), address(saved.inverseStd)), dtype: x.dtype)
            return (dx, dscale, dbias)
        }
    }

    // MARK: helpers

    /// `body` with cuDNN and this device's handle, its result; nil when there is no
    /// cuDNN here or `body` declines (returns nil). Errors thrown stop naming `op`.
    func withCUDNN<R>(_ op: String, _ body: (CUDNN, CUDNN.Handle) throws -> R?) -> R? {
        guard let dnn else { return nil }
        return run(op) { s -> R? in
            guard let h = s.dnnHandle else { return nil }
            return try body(dnn, h)
        }
    }

    /// `body` with the descriptors of pooling an `input`-shaped tensor with `d`; false
    /// (nothing run) when declined.
    private func withCUDNNPooling(_ op: String, _ d: PoolDescriptor, input: [Int], dtype: DType,
                                  _ body: (CUDNN, CUDNN.Handle, CUDNN.PoolingDescriptors) throws -> Void) -> Bool {
        guard let layout = CUDNNPoolingLayout(d, input: input), !layout.x.contains(0), !layout.y.contains(0) else { return false }
        return withCUDNN("\(op) \(input)") { dnn, h -> Bool? in
            guard let descriptors = try? dnn.poolingDescriptors(layout, dtype: dtype) else { return nil }
            try body(dnn, h, descriptors)
            return true
        } ?? false
    }

    /// `body` with the descriptor of `layout`'s `[outer, n, inner, 1]` tensor; nil when
    /// declined.
    private func withNormalization<R>(_ op: String, _ layout: NormalizationLayout, _ dtype: DType,
                                      _ body: (CUDNN, CUDNN.Handle, CUDNN.Descriptor) throws -> R) -> R? {
        guard let dims = layout.cudnnDims, !dims.contains(0) else { return nil }
        return withCUDNN(op) { dnn, h -> R? in
            guard let d = try? dnn.tensor(dims, dtype) else { return nil }
            return try body(dnn, h, d)
        }
    }

    /// Device scratch of at least `bytes` from the caching allocator; nil for none.
    func scratch(bytes: Int) -> Tensor? {
        bytes > 0 ? Tensor(uninitialized: [(bytes + 3) / 4], dtype: .float32, device: device) : nil
    }
}
