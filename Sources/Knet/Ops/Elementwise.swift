/// One primitive per row of the unary table, made once.
let unaryPrimitives: [Primitive] = UnaryOp.allCases.map { op in
    Primitive(op.name, forward: { unaryForward(op, $0[0]) },
              gradients: [{ dy, y, xs in op.derivative(xs[0], y, dy) }])
}

/// Runs `op` elementwise on an unrecorded tensor.
func unaryForward(_ op: UnaryOp, _ x: Tensor) -> Tensor {
    let x = x.contiguousData()
    let y = Tensor(uninitialized: x.shape, dtype: x.dtype, device: x.device)
    Backend.on(x.device).unary(op, x, into: y)
    return y
}

/// Applies a function of the elementwise table (differentiable).
///
///     let y = elementwise(.tanh, x)    // same as tanh(x)
public func elementwise(_ op: UnaryOp, _ x: Tensor) -> Tensor {
    apply(unaryPrimitives[op.rawValue], [x])
}

/// Elementwise |x|.
public func abs(_ x: Tensor) -> Tensor { elementwise(.abs, x) }
/// Elementwise x².
public func abs2(_ x: Tensor) -> Tensor { elementwise(.abs2, x) }
/// Elementwise arc cosine.
public func acos(_ x: Tensor) -> Tensor { elementwise(.acos, x) }
/// Elementwise inverse hyperbolic cosine.
public func acosh(_ x: Tensor) -> Tensor { elementwise(.acosh, x) }
/// Elementwise arc sine.
public func asin(_ x: Tensor) -> Tensor { elementwise(.asin, x) }
/// Elementwise inverse hyperbolic sine.
public func asinh(_ x: Tensor) -> Tensor { elementwise(.asinh, x) }
/// Elementwise arc tangent.
public func atan(_ x: Tensor) -> Tensor { elementwise(.atan, x) }
/// Elementwise inverse hyperbolic tangent.
public func atanh(_ x: Tensor) -> Tensor { elementwise(.atanh, x) }
/// Elementwise cube root.
public func cbrt(_ x: Tensor) -> Tensor { elementwise(.cbrt, x) }
/// Elementwise ceiling (zero gradient).
public func ceil(_ x: Tensor) -> Tensor { elementwise(.ceil, x) }
/// Elementwise cosine.
public func cos(_ x: Tensor) -> Tensor { elementwise(.cos, x) }
/// Elementwise hyperbolic cosine.
public func cosh(_ x: Tensor) -> Tensor { elementwise(.cosh, x) }
/// Elementwise cos(πx).
public func cospi(_ x: Tensor) -> Tensor { elementwise(.cospi, x) }
/// Elementwise error function.
public func erf(_ x: Tensor) -> Tensor { elementwise(.erf, x) }
/// Elementwise complementary error function.
public func erfc(_ x: Tensor) -> Tensor { elementwise(.erfc, x) }
/// Elementwise inverse error function.
public func erfinv(_ x: Tensor) -> Tensor { elementwise(.erfinv, x) }
/// Elementwise eˣ.
public func exp(_ x: Tensor) -> Tensor { elementwise(.exp, x) }
/// Elementwise 10ˣ.
public func exp10(_ x: Tensor) -> Tensor { elementwise(.exp10, x) }
/// Elementwise 2ˣ.
public func exp2(_ x: Tensor) -> Tensor { elementwise(.exp2, x) }
/// Elementwise eˣ − 1, accurate near 0.
public func expm1(_ x: Tensor) -> Tensor { elementwise(.expm1, x) }
/// Elementwise floor (zero gradient).
public func floor(_ x: Tensor) -> Tensor { elementwise(.floor, x) }
/// Elementwise natural logarithm.
public func log(_ x: Tensor) -> Tensor { elementwise(.log, x) }
/// Elementwise base-10 logarithm.
public func log10(_ x: Tensor) -> Tensor { elementwise(.log10, x) }
/// Elementwise log(1 + x), accurate near 0.
public func log1p(_ x: Tensor) -> Tensor { elementwise(.log1p, x) }
/// Elementwise base-2 logarithm.
public func log2(_ x: Tensor) -> Tensor { elementwise(.log2, x) }
/// Elementwise rounding to nearest, ties to even (zero gradient).
public func round(_ x: Tensor) -> Tensor { elementwise(.round, x) }
/// Elementwise sign: −1, 0 or 1 (zero gradient).
public func sign(_ x: Tensor) -> Tensor { elementwise(.sign, x) }
/// Elementwise sine.
public func sin(_ x: Tensor) -> Tensor { elementwise(.sin, x) }
/// Elementwise hyperbolic sine.
public func sinh(_ x: Tensor) -> Tensor { elementwise(.sinh, x) }
/// Elementwise sin(πx).
public func sinpi(_ x: Tensor) -> Tensor { elementwise(.sinpi, x) }
/// Elementwise square root.
public func sqrt(_ x: Tensor) -> Tensor { elementwise(.sqrt, x) }
/// Elementwise tangent.
public func tan(_ x: Tensor) -> Tensor { elementwise(.tan, x) }
/// Elementwise hyperbolic tangent.
public func tanh(_ x: Tensor) -> Tensor { elementwise(.tanh, x) }
/// Elementwise truncation toward zero (zero gradient).
public func trunc(_ x: Tensor) -> Tensor { elementwise(.trunc, x) }
/// Rectified linear unit max(x, 0).
///
///     let h = relu(w * x .+ b)
public func relu(_ x: Tensor) -> Tensor { elementwise(.relu, x) }
/// Logistic sigmoid 1/(1+e⁻ˣ), numerically stable.
public func sigm(_ x: Tensor) -> Tensor { elementwise(.sigm, x) }
/// Elementwise 1/x.
public func invx(_ x: Tensor) -> Tensor { elementwise(.invx, x) }
/// Exponential linear unit: x for x > 0, eˣ − 1 otherwise.
public func elu(_ x: Tensor) -> Tensor { elementwise(.elu, x) }
/// Scaled exponential linear unit (Klambauer et al. 2017 constants).
public func selu(_ x: Tensor) -> Tensor { elementwise(.selu, x) }
/// Gaussian error linear unit, tanh approximation: x/2·(1 + tanh(√(2/π)(x + 0.044715x³))).
public func gelu(_ x: Tensor) -> Tensor { elementwise(.gelu, x) }
/// log(1 + eˣ), numerically stable.
public func softplus(_ x: Tensor) -> Tensor { elementwise(.softplus, x) }
