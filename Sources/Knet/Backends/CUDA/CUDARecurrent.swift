// The recurrent kernels on the GPU: fused LSTM/GRU cells and the whole-sequence LSTM, the
// same algorithm as `LSTMSequenceKernels.swift` on the CPU (packed steps, the running state
// updated in place on its first `steps[t]` columns, one cuBLAS GEMM per step, the reserve,
// one GEMM for the hidden-matrix gradient at the end), with the kernels of
// `CUDAKernelSource.recurrent` in place of the CPU's column loops.

extension CUDABackend {
    func lstmCell(_ g: Tensor, _ c: Tensor) -> Tensor {
        let (hidden, batch) = (c.shape[0], c.shape[1])
        let (g, c) = (unitRowStride(g), unitRowStride(c))
        let out = Tensor(uninitialized: [2 * hidden, batch], dtype: g.dtype, device: device)
        launch("rnn_lstm_cell_\(suffix(g))", count: hidden * batch,
               [.tensor(g), .int(columnStride(g)), .tensor(c), .int(columnStride(c)), .tensor(out), .int(hidden), .int(hidden * batch)])
        return out
    }

    func gruCell(_ x: Tensor, _ q: Tensor, _ h: Tensor) -> Tensor {
        let (hidden, batch) = (h.shape[0], h.shape[1])
        let (x, q, h) = (unitRowStride(x), unitRowStride(q), unitRowStride(h))
        let out = Tensor(uninitialized: [hidden, batch], dtype: h.dtype, device: device)
        launch("rnn_gru_cell_\(suffix(h))", count: hidden * batch,
               [.tensor(x), .int(columnStride(x)), .tensor(q), .int(columnStride(q)), .tensor(h), .int(columnStride(h)),
                .tensor(out), .int(hidden), .int(hidden * batch)])
        return out
    }

    func lstmSequenceForward(_ pre: Tensor, _ bias: Tensor, _ wh: Tensor, _ state0: Tensor,
                             steps: [Int], reverse: Bool) -> (out: Tensor, reserve: LSTMReserve) {
        let (h, batch, n) = (state0.shape[0] / 2, state0.shape[1], pre.shape[1])
        let (pre, bias) = (pre.contiguousData(), bias.contiguousData()), (wh, layout) = gemmOperand(wh)
        let s = suffix(pre)
        let (reserve, out, state) = LSTMReserve.sweep(from: state0, columns: n, steps: steps, reverse: reverse)
        let offsets = reserve.offsets
        for t in reserve.order {
            let (b, o) = (steps[t], offsets[t])
            let (gates, previous) = (columns(reserve.gates, o, b), columns(reserve.previous, o, b))
            // The state the step starts from, and the gates' input part: W x + biases.
            launch("rnn_lstm_step_input_\(s)", count: 4 * h * b,
                   [.tensor(columns(pre, o, b)), .tensor(bias), .tensor(state), .tensor(previous), .tensor(gates),
                    .int(h), .int(4 * h * b)])
            gemm(transA: layout.transposed, transB: false, m: 4 * h, n: b, k: h, alpha: 1,
                 a: wh, lda: layout.ld, b: previous, ldb: 2 * h, beta: 1, c: gates, ldc: 4 * h)
            launch("rnn_lstm_step_cell_\(s)", count: h * b,
                   [.tensor(gates), .tensor(previous), .tensor(columns(reserve.tanhCell, o, b)), .tensor(columns(out, o, b)),
                    .tensor(state), .int(h), .int(h * b)])
        }
        // Every sequence's final h, then its final c, after the last step's hidden.
        copy(from: state.view(shape: [h, batch, 2], strides: [1, 2 * h, h], offset: state.offset),
             to: out.view(shape: [h, batch, 2], strides: [1, h, batch * h], offset: out.offset + n * h))
        return (out, reserve)
    }

    func lstmSequenceBackward(_ reserve: LSTMReserve, _ wh: Tensor, _ dout: Tensor) -> (dpre: Tensor, dwh: Tensor, dstate0: Tensor) {
        let (gates, previous, steps) = (reserve.gates, reserve.previous, reserve.steps)
        let (h, n, batch) = (reserve.tanhCell.shape[0], gates.shape[1], steps[0])
        let dout = dout.contiguousData(), (wh, layout) = gemmOperand(wh)
        let dtype = gates.dtype, s = suffix(gates)
        let dstate = Tensor(uninitialized: [2 * h, batch], dtype: dtype, device: device)
        let dwh = Tensor(uninitialized: [4 * h, h], dtype: dtype, device: device)
        // The gradient of the final state.
        copy(from: dout.view(shape: [h, batch, 2], strides: [1, h, batch * h], offset: dout.offset + n * h),
             to: dstate.view(shape: [h, batch, 2], strides: [1, 2 * h, h], offset: dstate.offset))
        let offsets = reserve.offsets
        for t in reserve.order.reversed() {
            let (b, o) = (steps[t], offsets[t])
            let dgates = columns(gates, o, b)
            launch("rnn_lstm_step_backward_\(s)", count: h * b,
                   [.tensor(dgates), .tensor(columns(reserve.tanhCell, o, b)), .tensor(columns(previous, o, b)),
                    .tensor(columns(dout, o, b)), .tensor(dstate), .int(h), .int(h * b)])
            // dh of the previous step: whᵀ dgates.
            gemm(transA: !layout.transposed, transB: false, m: h, n: b, k: 4 * h, alpha: 1,
                 a: wh, lda: layout.ld, b: dgates, ldb: 4 * h, beta: 0, c: dstate, ldc: 2 * h)
        }
        // One GEMM over every column: dwh = dgates · h_prevᵀ.
        gemm(transA: false, transB: true, m: 4 * h, n: h, k: n, alpha: 1, a: gates, lda: 4 * h,
             b: previous, ldb: 2 * h, beta: 0, c: dwh, ldc: 4 * h)
        return (gates, dwh, dstate)
    }

    /// Columns `first ..< first + count` of contiguous matrix `t`, as a contiguous view.
    private func columns(_ t: Tensor, _ first: Int, _ count: Int) -> Tensor {
        t.view(shape: [t.shape[0], count], strides: nil, offset: t.offset + first * t.shape[0])
    }
}
