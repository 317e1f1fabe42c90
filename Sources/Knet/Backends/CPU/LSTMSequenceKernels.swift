// The whole-sequence LSTM behind `rnnforw`'s LSTM layers, as cuDNN splits it: a forward
// sweep that keeps what the backward pass needs (a "reserve space": the activated gates,
// the state each step started from and tanh of each new cell), and a backward sweep that
// runs the recurrence in reverse with one GEMM per step for the hidden-state gradient and
// leaves the hidden-matrix gradient to one GEMM over all steps at the end.
//
// Layout: a packed sequence of N columns in steps; step t holds columns
// `offsets[t] ..< offsets[t] + steps[t]`, which are sequences `0..<steps[t]` (steps is
// non-increasing). The running state `[h; c]` `[2H, B]` (B = steps[0]) is updated in place
// on its first `steps[t]` columns, so sequences that ended (forward in time) or have not
// started yet (backward in time) keep their final or initial state there.

import KnetAVX2
import KnetMath


/// cuDNN's LSTM over a packed sequence in one sweep. `pre` `[4H, N]` holds every column's
/// input projection `W x`, `bias` `[4H, 1]` the summed input and hidden biases, `wh`
/// `[4H, H]` the hidden matrices of gates i, f, g, o (a matrix or a transposed one),
/// `state0` `[2H, B]` the initial `[h; c]` of every sequence. Returns `[H, N + 2B]` (the new
/// hidden of every column, then every sequence's final h, then its final c) and the
/// reserve for `lstmSequenceBackward`.
func cpuLSTMSequenceForward(_ pre: Tensor, _ bias: Tensor, _ wh: Tensor, _ state0: Tensor,
                         steps: [Int], reverse: Bool) -> (out: Tensor, reserve: LSTMReserve) {
    let (hidden, batch, n) = (state0.shape[0] / 2, state0.shape[1], pre.shape[1])
    // wh contiguous: OpenBLAS runs the per-step [4H, H]·[H, B] products ~7% faster
    // untransposed than on the transposed view the layer passes (1024×128×256, 2 cores).
    let (pre, bias, wh) = (pre.contiguousData(), bias.contiguousData(), wh.contiguousData())
    let dtype = pre.dtype
    let (reserve, out, state) = LSTMReserve.sweep(from: state0, columns: n, steps: steps, reverse: reverse)
    let offsets = reserve.offsets
    func run<T: KnetFloat>(_: T.Type) {
        let (gp, pp, tp) = (reserve.gates.pointer(T.self), reserve.previous.pointer(T.self), reserve.tanhCell.pointer(T.self))
        let (xp, bp, sp, yp, wp) = (pre.pointer(T.self), bias.pointer(T.self), state.pointer(T.self),
                                    out.pointer(T.self), wh.pointer(T.self))
        let h = hidden
        for t in reserve.order {
            let (b, o) = (steps[t], offsets[t])
            // The state the step starts from, and the gates' input part: W x + biases.
            Parallel.chunks(b, costPerElement: 6 * h) { lo, hi in
                for j in lo..<hi {
                    (pp + (o + j) * 2 * h).update(from: sp + j * 2 * h, count: 2 * h)
                    let gj = gp + (o + j) * 4 * h, xj = xp + (o + j) * 4 * h
                    for k in 0..<(4 * h) { gj[k] = xj[k] + bp[k] }
                }
            }
            CPUBLAS.gemm(transA: false, transB: false, m: 4 * h, n: b, k: h, alpha: 1,
                         a: wp, lda: 4 * h, b: pp + o * 2 * h, ldb: 2 * h, beta: 1, c: gp + o * 4 * h, ldc: 4 * h)
            Parallel.chunks(b, costPerElement: 16 * 6 * h) { lo, hi in
                for j in lo..<hi {
                    let col = o + j, sj = sp + j * 2 * h
                    lstmCellColumn(gates: gp + col * 4 * h, cell: pp + col * 2 * h + h,
                                   newHidden: yp + col * h, newCell: sj + h, tanhCell: tp + col * h, h)
                    sj.update(from: yp + col * h, count: h)
                }
            }
        }
        for j in 0..<batch {
            (yp + (n + j) * h).update(from: sp + j * 2 * h, count: h)
            (yp + (n + batch + j) * h).update(from: sp + j * 2 * h + h, count: h)
        }
    }
    dispatchFloat(dtype, { run(Float.self) }, { run(Double.self) })
    return (out, reserve)
}

/// The backward pass of `lstmSequenceForward` from the gradient `dout` `[H, N + 2B]` of its
/// output, with the same `wh`: the gradients of `pre` (`[4H, N]`; the bias gradient is its
/// row sums), `wh` `[4H, H]` and `state0` `[2H, B]`. Consumes `reserve`: its gate buffer
/// becomes the gradient of `pre`.
func cpuLSTMSequenceBackward(_ reserve: LSTMReserve, _ wh: Tensor, _ dout: Tensor) -> (dpre: Tensor, dwh: Tensor, dstate0: Tensor) {
    let (gates, previous, steps) = (reserve.gates, reserve.previous, reserve.steps)
    let (hidden, n, batch) = (reserve.tanhCell.shape[0], gates.shape[1], steps[0])
    let dout = dout.contiguousData(), (wh, layout) = gemmOperand(wh)
    let (dtype, device) = (gates.dtype, gates.device)
    let dstate = Tensor(uninitialized: [2 * hidden, batch], dtype: dtype, device: device)
    let dwh = Tensor(uninitialized: [4 * hidden, hidden], dtype: dtype, device: device)
    let offsets = reserve.offsets
    func run<T: KnetFloat>(_: T.Type) {
        let (gp, pp, tp) = (gates.pointer(T.self), previous.pointer(T.self), reserve.tanhCell.pointer(T.self))
        let (dyp, dsp, wp) = (dout.pointer(T.self), dstate.pointer(T.self), wh.pointer(T.self))
        let h = hidden
        for j in 0..<batch {      // the gradient of the final state
            (dsp + j * 2 * h).update(from: dyp + (n + j) * h, count: h)
            (dsp + j * 2 * h + h).update(from: dyp + (n + batch + j) * h, count: h)
        }
        for t in reserve.order.reversed() {
            let (b, o) = (steps[t], offsets[t])
            Parallel.chunks(b, costPerElement: 8 * h) { lo, hi in
                for j in lo..<hi {
                    let col = o + j
                    lstmCellBackwardColumn(gates: gp + col * 4 * h, tanhCell: tp + col * h, cell: pp + col * 2 * h + h,
                                           dOutput: dyp + col * h, dState: dsp + j * 2 * h, h)
                }
            }
            // dh of the previous step: whᵀ dgates.
            CPUBLAS.gemm(transA: !layout.transposed, transB: false, m: h, n: b, k: 4 * h, alpha: 1,
                         a: wp, lda: layout.ld, b: gp + o * 4 * h, ldb: 4 * h, beta: 0, c: dsp, ldc: 2 * h)
        }
        // One GEMM over every column: dwh = dgates · h_prevᵀ.
        CPUBLAS.gemm(transA: false, transB: true, m: 4 * h, n: h, k: n, alpha: 1, a: gp, lda: 4 * h,
                     b: pp, ldb: 2 * h, beta: 0, c: dwh.pointer(T.self), ldc: 4 * h)
    }
    dispatchFloat(dtype, { run(Float.self) }, { run(Double.self) })
    return (gates, dwh, dstate)
}

/// `LSTMCellKernels.forward`, on its AVX2 entry point for Float where the CPU has AVX2.
@inline(__always)
func lstmCellColumn<T: KnetFloat>(gates a: UnsafeMutablePointer<T>, cell: UnsafePointer<T>, newHidden: UnsafeMutablePointer<T>,
                                  newCell: UnsafeMutablePointer<T>, tanhCell: UnsafeMutablePointer<T>, _ h: Int) {
    if T.self == Float.self && hasAVX2 {
        LSTMCellKernels.forwardAVX2(gates: cast(a), cell: cast(cell), newHidden: cast(newHidden),
                                    newCell: cast(newCell), tanhCell: cast(tanhCell), h)
    } else {
        LSTMCellKernels.forward(gates: a, cell: cell, newHidden: newHidden, newCell: newCell, tanhCell: tanhCell, h)
    }
}

/// `LSTMCellKernels.backward`, on its AVX2 entry point for Float where the CPU has AVX2.
@inline(__always)
func lstmCellBackwardColumn<T: KnetFloat>(gates a: UnsafeMutablePointer<T>, tanhCell: UnsafePointer<T>,
                                          cell: UnsafePointer<T>, dOutput: UnsafePointer<T>,
                                          dState: UnsafeMutablePointer<T>, _ h: Int) {
    if T.self == Float.self && hasAVX2 {
        LSTMCellKernels.backwardAVX2(activations: cast(a), tanhCell: cast(tanhCell), cell: cast(cell),
                                     dOutput: cast(dOutput), dState: cast(dState), h)
    } else {
        LSTMCellKernels.backward(activations: a, tanhCell: tanhCell, cell: cell, dOutput: dOutput, dState: dState, h)
    }
}

