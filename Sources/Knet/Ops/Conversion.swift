/// `x` converted to `dtype` (a copy; `x` itself when it already has that dtype).
/// Differentiable: the gradient is converted back.
///
///     let w64 = convert(w, to: .float64)     // e.g. for gradcheck
public func convert(_ x: Tensor, to dtype: DType) -> Tensor {
    if x.dtype == dtype { return x }
    let source = x.dtype
    return apply(Primitive("convert", forward: { xs in
        let x = xs[0].contiguousData()
        let y = Tensor(uninitialized: x.shape, dtype: dtype, device: x.device)
        Backend.on(x.device).convert(x, into: y)
        return y
    }, gradients: [{ dy, _, _ in convert(dy, to: source) }]), [x])
}

/// Rebinds `a` to `a + b` (equal shapes), as Julia's `w += g`; not in place.
public func += (a: inout Tensor, b: Tensor) { a = a + b }
/// Rebinds `a` to `a - b` (equal shapes), as Julia's `w -= lr * g`; not in place.
///
///     w -= 0.1 * dw
public func -= (a: inout Tensor, b: Tensor) { a = a - b }
/// Rebinds `a` to `a * b` for a scalar `b`.
public func *= (a: inout Tensor, b: Double) { a = a .* b }
