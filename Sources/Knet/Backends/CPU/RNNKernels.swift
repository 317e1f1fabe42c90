/// cuDNN's LSTM cell on one step, fused: from the gate pre-activations `g` `[4H, B]`
/// (rows i, f, g, o; `W x + R h + bW + bR`) and the cell state `c` `[H, B]`, returns a fresh
/// `[2H, B]` holding `h' = o∘tanh(c')` in rows `0..<H` and `c' = f∘c + i∘tanh(g)` in rows
/// `H..<2H`. Inputs may be column views (unit row stride); others are copied first.
func lstmCellForward(_ g: Tensor, _ c: Tensor) -> Tensor {
    let (hidden, batch) = (c.shape[0], c.shape[1])
    let (g, c) = (unitRowStride(g), unitRowStride(c))
    let out = Tensor(uninitialized: [2 * hidden, batch], dtype: g.dtype, device: g.device)
    func run<T: KnetFloat>(_: T.Type) {
        let (gp, cp, op) = (g.pointer(T.self), c.pointer(T.self), out.pointer(T.self))
        let (ldg, ldc, h) = (columnStride(g), columnStride(c), hidden)
        // Columns in parallel; within a column, simple loops that vectorise: the gate
        // activations go to a scratch column first.
        Parallel.chunks(batch, costPerElement: 16 * 5 * h) { lo, hi in
            let a = UnsafeMutablePointer<T>.allocate(capacity: 4 * h)
            defer { a.deallocate() }
            for j in lo..<hi {
                let gj = gp + j * ldg, cj = cp + j * ldc, oj = op + j * 2 * h
                for k in 0..<(4 * h) { a[k] = ScalarMath.sigm(gj[k]) }
                for k in (2 * h)..<(3 * h) { a[k] = ScalarMath.tanh(gj[k]) }
                for k in 0..<h { oj[h + k] = a[h + k] * cj[k] + a[k] * a[2 * h + k] }
                for k in 0..<h { oj[k] = a[3 * h + k] * ScalarMath.tanh(oj[h + k]) }
            }
        }
    }
    dispatchFloat(g.dtype, { run(Float.self) }, { run(Double.self) })
    return out
}

/// The backward pass of `lstmCellForward` in one sweep: from its inputs `g`, `c`, its
/// output `y` `[2H, B]` and the incoming gradient `dy` `[2H, B]` (rows dh, dc'), returns
/// the gradients `dg` `[4H, B]` and `dc` `[H, B]`. Not differentiable itself: `lstmCell`
/// uses it only when no outer tape records the backward pass.
func lstmCellBackward(_ g: Tensor, _ c: Tensor, _ y: Tensor, _ dy: Tensor) -> (dg: Tensor, dc: Tensor) {
    let (hidden, batch) = (c.shape[0], c.shape[1])
    let (g, c, y, dy) = (unitRowStride(g), unitRowStride(c), unitRowStride(y), unitRowStride(dy))
    let dg = Tensor(uninitialized: [4 * hidden, batch], dtype: g.dtype, device: g.device)
    let dc = Tensor(uninitialized: [hidden, batch], dtype: g.dtype, device: g.device)
    func run<T: KnetFloat>(_: T.Type) {
        let (gp, cp, yp, dyp) = (g.pointer(T.self), c.pointer(T.self), y.pointer(T.self), dy.pointer(T.self))
        let (dgp, dcp) = (dg.pointer(T.self), dc.pointer(T.self))
        let (ldg, ldc, ldy, lddy, h) = (columnStride(g), columnStride(c), columnStride(y), columnStride(dy), hidden)
        // As in the forward: the activations go to scratch columns in simple loops that
        // vectorise, then the products in loops of plain arithmetic.
        Parallel.chunks(batch, costPerElement: 16 * 6 * h) { lo, hi in
            let a = UnsafeMutablePointer<T>.allocate(capacity: 5 * h)   // i f g o, tanh(c')
            defer { a.deallocate() }
            for j in lo..<hi {
                let gj = gp + j * ldg, cj = cp + j * ldc, yj = yp + j * ldy, dyj = dyp + j * lddy
                let dgj = dgp + j * 4 * h, dcj = dcp + j * h
                for k in 0..<(4 * h) { a[k] = ScalarMath.sigm(gj[k]) }
                for k in (2 * h)..<(3 * h) { a[k] = ScalarMath.tanh(gj[k]) }
                for k in 0..<h { a[4 * h + k] = ScalarMath.tanh(yj[h + k]) }
                for k in 0..<h {   // dc' = dc + dh∘o∘(1 − tanh²c'), kept in dc for now
                    let th = a[4 * h + k]
                    dcj[k] = dyj[h + k] + dyj[k] * a[3 * h + k] * (1 - th * th)
                }
                for k in 0..<h {
                    let si = a[k], sf = a[h + k], cand = a[2 * h + k], so = a[3 * h + k], dcell = dcj[k]
                    dgj[k] = dcell * cand * si * (1 - si)
                    dgj[h + k] = dcell * cj[k] * sf * (1 - sf)
                    dgj[2 * h + k] = dcell * si * (1 - cand * cand)
                    dgj[3 * h + k] = dyj[k] * a[4 * h + k] * so * (1 - so)
                    dcj[k] = dcell * sf
                }
            }
        }
    }
    dispatchFloat(g.dtype, { run(Float.self) }, { run(Double.self) })
    return (dg, dc)
}

/// cuDNN's GRU cell on one step, fused: from `x` `[3H, B]` (`W x + bW`, rows r, z, n), `q`
/// `[3H, B]` (`R h + bR`) and the state `h` `[H, B]`, returns a fresh `[H, B]` holding
/// `h' = (1−z)∘n + z∘h` with `r, z = sigm(x + q)` and `n = tanh(xn + r∘qn)`.
func gruCellForward(_ x: Tensor, _ q: Tensor, _ h: Tensor) -> Tensor {
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

/// `t` itself when its rows are adjacent in memory (a matrix or a column range of one),
/// else a contiguous copy.
private func unitRowStride(_ t: Tensor) -> Tensor { t.strides[0] == 1 ? t : t.contiguousData() }

/// Distance between columns of a matrix with unit row stride (0 for one column).
private func columnStride(_ t: Tensor) -> Int { t.shape[1] > 1 ? t.strides[1] : 0 }
