/// cuDNN's LSTM cell on one step, fused: from the gate pre-activations `g` `[4H, B]`
/// (rows i, f, g, o; `W x + R h + bW + bR`) and the cell state `c` `[H, B]`, returns a fresh
/// `[2H, B]` holding `h' = o∘tanh(c')` in rows `0..<H` and `c' = f∘c + i∘tanh(g)` in rows
/// `H..<2H`. Inputs may be column views (unit row stride); others are copied first.
private func cpuLSTMCell(_ g: Tensor, _ c: Tensor) -> Tensor {
    let (hidden, batch) = (c.shape[0], c.shape[1])
    let (g, c) = (unitRowStride(g), unitRowStride(c))
    let out = Tensor(uninitialized: [2 * hidden, batch], dtype: g.dtype, device: g.device)
    func run<T: KnetFloat>(_: T.Type) {
        let (gp, cp, op) = (g.pointer(T.self), c.pointer(T.self), out.pointer(T.self))
        let (ldg, ldc, h) = (columnStride(g), columnStride(c), hidden)
        // Columns in parallel; the gates (activated in place) and tanh c' go to scratch columns.
        Parallel.chunks(batch, costPerElement: 16 * 6 * h) { lo, hi in
            let a = UnsafeMutablePointer<T>.allocate(capacity: 5 * h)   // i f g o, tanh(c')
            defer { a.deallocate() }
            for j in lo..<hi {
                let oj = op + j * 2 * h
                a.update(from: gp + j * ldg, count: 4 * h)
                lstmCellColumn(gates: a, cell: cp + j * ldc, newHidden: oj, newCell: oj + h, tanhCell: a + 4 * h, h)
            }
        }
    }
    dispatchFloat(g.dtype, { run(Float.self) }, { run(Double.self) })
    return out
}

/// cuDNN's GRU cell on one step, fused: from `x` `[3H, B]` (`W x + bW`, rows r, z, n), `q`
/// `[3H, B]` (`R h + bR`) and the state `h` `[H, B]`, returns a fresh `[H, B]` holding
/// `h' = (1−z)∘n + z∘h` with `r, z = sigm(x + q)` and `n = tanh(xn + r∘qn)`.
private func cpuGRUCell(_ x: Tensor, _ q: Tensor, _ h: Tensor) -> Tensor {
    let (hidden, batch) = (h.shape[0], h.shape[1])
    let (x, q, h) = (unitRowStride(x), unitRowStride(q), unitRowStride(h))
    let out = Tensor(uninitialized: [hidden, batch], dtype: h.dtype, device: h.device)
    func run<T: KnetFloat>(_: T.Type) {
        let (xp, qp, hp, op) = (x.pointer(T.self), q.pointer(T.self), h.pointer(T.self), out.pointer(T.self))
        let (ldx, ldq, ldh, n) = (columnStride(x), columnStride(q), columnStride(h), hidden)
        Parallel.chunks(batch, costPerElement: 16 * 3 * n) { lo, hi in
            let a = UnsafeMutablePointer<T>.allocate(capacity: 3 * n)
            defer { a.deallocate() }
            for j in lo..<hi {
                let xj = xp + j * ldx, qj = qp + j * ldq, hj = hp + j * ldh, oj = op + j * n
                for k in 0..<(2 * n) { a[k] = ScalarMath.sigm(xj[k] + qj[k]) }
                for k in 0..<n { a[2 * n + k] = ScalarMath.tanh(xj[2 * n + k] + a[k] * qj[2 * n + k]) }
                for k in 0..<n { oj[k] = a[2 * n + k] + a[n + k] * (hj[k] - a[2 * n + k]) }
            }
        }
    }
    dispatchFloat(h.dtype, { run(Float.self) }, { run(Double.self) })
    return out
}

extension CPUBackend: RecurrentBackend {
    func lstmCell(_ g: Tensor, _ c: Tensor) -> Tensor { cpuLSTMCell(g, c) }
    func gruCell(_ x: Tensor, _ q: Tensor, _ h: Tensor) -> Tensor { cpuGRUCell(x, q, h) }
    func lstmSequenceForward(_ pre: Tensor, _ bias: Tensor, _ wh: Tensor, _ state0: Tensor,
                             steps: [Int], reverse: Bool) -> (out: Tensor, reserve: LSTMReserve) {
        cpuLSTMSequenceForward(pre, bias, wh, state0, steps: steps, reverse: reverse)
    }
    func lstmSequenceBackward(_ reserve: LSTMReserve, _ wh: Tensor, _ dout: Tensor) -> (dpre: Tensor, dwh: Tensor, dstate0: Tensor) {
        cpuLSTMSequenceBackward(reserve, wh, dout)
    }
}
