// Convolution and pooling on the GPU: the CPU's algorithm (`ConvolutionKernels.swift`)
// with a chunk of images lowered at once by `conv_im2col` into one column matrix (layout
// in `CUDAConvolutionKernels.swift`) and cuBLAS products over it — a batched GEMM over the
// chunk's images per channel group for the output and the data gradient (then the
// `conv_col2im` gather), one GEMM over all the chunk's rows per group for the filter
// gradient — and the pooling kernels of the same module. Each call is first offered to
// cuDNN (`CUDNNOps.swift`), which runs it when the library is in use.

/// Tuning of the GPU convolution.
enum CUDAConvolution {
    /// The scratch of one convolution call (its column matrix, and the filter gradient's
    /// rows of dy) stays under this many bytes (256 MB) by lowering the batch in chunks
    /// of images; a chunk holds at least one image. Tests lower it to exercise chunking.
    nonisolated(unsafe) static var columnBudgetBytes = 256 << 20
}

extension CUDABackend {
    func convolution(_ w: Tensor, _ x: Tensor, into y: Tensor, _ g: ConvGeometry, alpha: Double) {
        if cudnnConvolution(.forward, g, inputs: (x, w), output: y, alpha: alpha) { return }
        forEachChunk(g, y.dtype, scratchPerImage: g.ySpatial * g.groupK) { first, images, col in
            for grp in 0..<g.groups {
                lower(g, x, first: first, images: images, group: grp, into: col, alpha: alpha)
                // y_b,grp [ySpatial, Og] = col_b [ySpatial, groupK] · w_grp [groupK, Og], b over the chunk
                batchedGemm(transA: false, transB: false, m: g.ySpatial, n: g.groupOutChannels, k: g.groupK,
                            a: col, lda: images * g.ySpatial, strideA: g.ySpatial,
                            b: filter(w, g, group: grp), ldb: g.groupK, strideB: 0,
                            c: output(y, g, image: first, group: grp), ldc: g.ySpatial, strideC: g.outChannels * g.ySpatial,
                            batch: images)
            }
        }
    }

    func convolutionBackwardData(_ w: Tensor, _ dy: Tensor, into dx: Tensor, _ g: ConvGeometry, alpha: Double) {
        if cudnnConvolution(.backwardData, g, inputs: (w, dy), output: dx, alpha: alpha) { return }
        forEachChunk(g, dx.dtype, scratchPerImage: g.ySpatial * g.groupK) { first, images, col in
            for grp in 0..<g.groups {
                // col_b [ySpatial, groupK] = dy_b,grp [ySpatial, Og] · w_grpᵀ, then dx = alpha · col2im(col)
                batchedGemm(transA: false, transB: true, m: g.ySpatial, n: g.groupK, k: g.groupOutChannels,
                            a: output(dy, g, image: first, group: grp), lda: g.ySpatial, strideA: g.outChannels * g.ySpatial,
                            b: filter(w, g, group: grp), ldb: g.groupK, strideB: 0,
                            c: col, ldc: images * g.ySpatial, strideC: g.ySpatial, batch: images)
                launch("conv_col2im_\(suffix(dx))", count: images * g.groupChannels * g.xSpatial,
                       [.tensor(col), .tensor(image(dx, g, first)), .int(images), .int(grp * g.groupChannels),
                        .double(alpha), .words(CUDAKernelSource.convolutionShape(g))])
            }
        }
    }

    func convolutionBackwardFilter(_ x: Tensor, _ dy: Tensor, into dw: Tensor, _ g: ConvGeometry, alpha: Double) {
        guard g.batch > 0 else { return fill(dw, 0) }
        if cudnnConvolution(.backwardFilter, g, inputs: (x, dy), output: dw, alpha: alpha) { return }
        forEachChunk(g, dw.dtype, scratchPerImage: g.ySpatial * (g.groupK + g.groupOutChannels) * g.groupOutChannels) { first, images, scratch in
            // The scratch holds the column matrix, then the group's rows of dy.
            let rows = images * g.ySpatial, col = scratch
            let dyRows = scratch.view(shape: [g.ySpatial, images, g.groupOutChannels], strides: nil,
                                      offset: scratch.offset + rows * g.groupK)
            for grp in 0..<g.groups {
                lower(g, x, first: first, images: images, group: grp, into: col, alpha: 1)
                // The group's dy as one [rows, Og] matrix, rows in the column matrix's order.
                copy(from: dy.view(shape: dyRows.shape, strides: [1, g.outChannels * g.ySpatial, g.ySpatial],
                                   offset: output(dy, g, image: first, group: grp).offset),
                     to: dyRows)
                // dw_grp [groupK, Og] (+)= alpha · colᵀ · dyRows, summed over the chunk's rows
                gemm(transA: true, transB: false, m: g.groupK, n: g.groupOutChannels, k: rows, alpha: alpha,
                     a: col, lda: rows, b: dyRows, ldb: rows, beta: first == 0 ? 0 : 1,
                     c: filter(dw, g, group: grp), ldc: g.groupK)
            }
        }
    }

    func poolForward(_ v: Tensor, selector: Tensor, into y: Tensor, _ d: PoolDescriptor) {
        if cudnnPoolForward(v, selector: selector, into: y, d) { return }
        launch("pool_forward_\(suffix(y))", count: y.count,
               [.tensor(v), .tensor(selector), .tensor(y), .double(d.alpha),
                .words(CUDAKernelSource.poolShape(d, input: v.shape))])
    }

    func poolBackward(_ dy: Tensor, selector: Tensor?, into dx: Tensor, _ d: PoolDescriptor) {
        precondition(selector != nil || d.mode != .max, "poolBackward: max mode needs the selector")
        if cudnnPoolBackward(dy, selector: selector, into: dx, d) { return }
        fill(dx, 0)
        // Average modes never read the selector; dy stands in for it.
        launch("pool_backward_\(suffix(dy))", count: dy.count,
               [.tensor(dy), .tensor(selector ?? dy), .tensor(dx), .double(d.alpha),
                .words(CUDAKernelSource.poolShape(d, input: dx.shape))])
    }

    // MARK: convolution helpers

    /// Calls `body(first, images, scratch)` for consecutive chunks of the batch, as many
    /// images each as keep `scratch` (`images · scratchPerImage` elements, one device
    /// tensor reused by every chunk: the stream runs the chunks in order) within
    /// `CUDAConvolution.columnBudgetBytes`.
    private func forEachChunk(_ g: ConvGeometry, _ dtype: DType, scratchPerImage: Int,
                              _ body: (_ first: Int, _ images: Int, _ scratch: Tensor) -> Void) {
        guard g.batch > 0 else { return }
        let fit = CUDAConvolution.columnBudgetBytes / Swift.max(1, scratchPerImage * dtype.size)
        let chunk = Swift.min(g.batch, Swift.max(1, fit))
        let scratch = Tensor(uninitialized: [chunk * scratchPerImage], dtype: dtype, device: device)
        for first in stride(from: 0, to: g.batch, by: chunk) {
            body(first, Swift.min(chunk, g.batch - first), scratch)
        }
    }

    /// `col` = alpha · the column matrix of group `group` of images `first ..< first + images` of x.
    private func lower(_ g: ConvGeometry, _ x: Tensor, first: Int, images: Int, group: Int, into col: Tensor, alpha: Double) {
        launch("conv_im2col_\(suffix(x))", count: images * g.ySpatial * g.groupK,
               [.tensor(image(x, g, first)), .tensor(col), .int(images), .int(group * g.groupChannels),
                .double(alpha), .words(CUDAKernelSource.convolutionShape(g))])
    }

    /// Contiguous `t`'s elements from `offset` on, as a flat view (an operand that starts there).
    private func elements(of t: Tensor, from offset: Int) -> Tensor {
        t.view(shape: [t.count - offset], strides: nil, offset: t.offset + offset)
    }

    /// Image `n` onward of x (or dx) `[xSize..., C, N]`.
    private func image(_ x: Tensor, _ g: ConvGeometry, _ n: Int) -> Tensor {
        elements(of: x, from: n * g.xSpatial * g.channels)
    }

    /// Group `grp`'s output channels of image `n` onward of y (or dy) `[ySize..., O, N]`.
    private func output(_ y: Tensor, _ g: ConvGeometry, image n: Int, group grp: Int) -> Tensor {
        elements(of: y, from: (n * g.outChannels + grp * g.groupOutChannels) * g.ySpatial)
    }

    /// Group `grp`'s filter matrix `[groupK, Og]` of w (or dw) `[kernel..., C/groups, O]`.
    private func filter(_ w: Tensor, _ g: ConvGeometry, group grp: Int) -> Tensor {
        elements(of: w, from: grp * g.groupOutChannels * g.groupK)
    }
}
