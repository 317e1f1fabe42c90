infix operator .+ : AdditionPrecedence
infix operator .- : AdditionPrecedence
infix operator .* : MultiplicationPrecedence
infix operator ./ : MultiplicationPrecedence
precedencegroup ElementwisePowerPrecedence {
    higherThan: MultiplicationPrecedence
    associativity: right
}
infix operator ** : ElementwisePowerPrecedence

/// The shape two operands broadcast to, Julia style: dimensions are aligned from the
/// first (column-major), missing trailing dims count as 1, and a dim of size 1
/// stretches to the other's size.
func broadcastShape(_ op: @autoclosure () -> String, _ a: [Int], _ b: [Int]) -> [Int] {
    if a == b { return a }
    let n = Swift.max(a.count, b.count)
    return (0..<n).map { d in
        let x = d < a.count ? a[d] : 1, y = d < b.count ? b[d] : 1
        knetCheck(x == y || x == 1 || y == 1,
                  "\(op()): shapes \(a) and \(b) cannot be broadcast together (dim \(d): \(x) vs \(y))")
        return x == 1 ? y : x
    }
}

/// One primitive per row of the binary table, made once.
let binaryPrimitives: [Primitive] = BinaryOp.allCases.map { op in
    let rule: (Int) -> Primitive.Gradient = { k in
        { dz, z, xs in op.derivative(k, xs[0], xs[1], z, dz).map { sumTo($0, xs[k].shape) } }
    }
    return Primitive(op.name, forward: { binaryForward(op, $0[0], $0[1]) },
                     gradients: op.isComparison ? nil : [rule(0), rule(1)])
}

/// Runs a broadcasting binary op on unrecorded tensors.
func binaryForward(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) -> Tensor {
    checkCompatible(op.name, a, b)
    let shape = broadcastShape(op.name, a.shape, b.shape)
    let y = Tensor(uninitialized: shape, dtype: a.dtype, device: a.device)
    Backend.on(a.device).binary(op, a, b, into: y)
    return y
}

/// Applies a broadcasting function of the binary table (differentiable unless it is a
/// comparison).
///
///     let z = elementwise(.max, x, y)
public func elementwise(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) -> Tensor {
    apply(binaryPrimitives[op.rawValue], [a, b])
}

/// A 0-dimensional constant with `like`'s dtype and device.
@inline(__always) func constant(_ v: Double, like t: Tensor) -> Tensor {
    let c = Tensor(uninitialized: [], dtype: t.dtype, device: t.device)
    Backend.on(t.device).fill(c, v)
    return c
}

/// Broadcasting addition. `x .+ b` adds a `[n, 1]` bias to every column of `[n, m]`.
public func .+ (a: Tensor, b: Tensor) -> Tensor { elementwise(.add, a, b) }
/// Adds a scalar to every element.
public func .+ (a: Tensor, b: Double) -> Tensor { elementwise(.add, a, constant(b, like: a)) }
/// Adds a tensor to a scalar.
public func .+ (a: Double, b: Tensor) -> Tensor { elementwise(.add, constant(a, like: b), b) }
/// Broadcasting subtraction.
public func .- (a: Tensor, b: Tensor) -> Tensor { elementwise(.sub, a, b) }
/// Subtracts a scalar from every element.
public func .- (a: Tensor, b: Double) -> Tensor { elementwise(.sub, a, constant(b, like: a)) }
/// Subtracts every element from a scalar.
public func .- (a: Double, b: Tensor) -> Tensor { elementwise(.sub, constant(a, like: b), b) }
/// Broadcasting multiplication (Hadamard product).
public func .* (a: Tensor, b: Tensor) -> Tensor { elementwise(.mul, a, b) }
/// Multiplies every element by a scalar.
public func .* (a: Tensor, b: Double) -> Tensor { elementwise(.mul, a, constant(b, like: a)) }
/// Multiplies a scalar by every element.
public func .* (a: Double, b: Tensor) -> Tensor { elementwise(.mul, constant(a, like: b), b) }
/// Broadcasting division.
public func ./ (a: Tensor, b: Tensor) -> Tensor { elementwise(.div, a, b) }
/// Divides every element by a scalar.
public func ./ (a: Tensor, b: Double) -> Tensor { elementwise(.div, a, constant(b, like: a)) }
/// Divides a scalar by every element.
public func ./ (a: Double, b: Tensor) -> Tensor { elementwise(.div, constant(a, like: b), b) }
/// Broadcasting power, Julia's `.^` (Swift's standard library already owns `.^`, so
/// the operator is `**`, as in Python and MLX): `x ** 2`.
public func ** (a: Tensor, b: Tensor) -> Tensor { elementwise(.pow, a, b) }
/// Raises every element to a scalar power: `x ** 2`.
public func ** (a: Tensor, b: Double) -> Tensor { elementwise(.pow, a, constant(b, like: a)) }
/// Raises a scalar to every element's power: `2 ** x`.
public func ** (a: Double, b: Tensor) -> Tensor { elementwise(.pow, constant(a, like: b), b) }
/// Broadcasting power, same as `a ** b`.
public func pow(_ a: Tensor, _ b: Tensor) -> Tensor { a ** b }
/// Raises every element to a scalar power, same as `a ** b`.
public func pow(_ a: Tensor, _ b: Double) -> Tensor { a ** b }

/// Elementwise sum of two tensors of the same shape (use `.+` to broadcast).
public func + (a: Tensor, b: Tensor) -> Tensor {
    knetCheck(a.shape == b.shape, "+: shapes \(a.shape) and \(b.shape) differ (use .+ to broadcast)")
    return elementwise(.add, a, b)
}
/// Elementwise difference of two tensors of the same shape (use `.-` to broadcast).
public func - (a: Tensor, b: Tensor) -> Tensor {
    knetCheck(a.shape == b.shape, "-: shapes \(a.shape) and \(b.shape) differ (use .- to broadcast)")
    return elementwise(.sub, a, b)
}
/// Negation.
public prefix func - (x: Tensor) -> Tensor { elementwise(.neg, x) }
/// Scales a tensor: `Tensor.randn(64, 784) * 0.1`.
public func * (a: Tensor, b: Double) -> Tensor { a .* b }
/// Scales a tensor: `0.1 * g`.
public func * (a: Double, b: Tensor) -> Tensor { a .* b }
/// Divides a tensor by a scalar.
public func / (a: Tensor, b: Double) -> Tensor { a ./ b }
/// Adds a scalar to every element.
public func + (a: Tensor, b: Double) -> Tensor { a .+ b }
/// Subtracts a scalar from every element.
public func - (a: Tensor, b: Double) -> Tensor { a .- b }

/// Elementwise maximum (NaN propagates); the gradient goes to the larger argument.
public func max(_ a: Tensor, _ b: Tensor) -> Tensor { elementwise(.max, a, b) }
/// Elementwise maximum with a scalar: `max(x, 0)`.
public func max(_ a: Tensor, _ b: Double) -> Tensor { elementwise(.max, a, constant(b, like: a)) }
/// Elementwise maximum with a scalar.
public func max(_ a: Double, _ b: Tensor) -> Tensor { elementwise(.max, constant(a, like: b), b) }
/// Elementwise minimum (NaN propagates).
public func min(_ a: Tensor, _ b: Tensor) -> Tensor { elementwise(.min, a, b) }
/// Elementwise minimum with a scalar.
public func min(_ a: Tensor, _ b: Double) -> Tensor { elementwise(.min, a, constant(b, like: a)) }
/// Elementwise minimum with a scalar.
public func min(_ a: Double, _ b: Tensor) -> Tensor { elementwise(.min, constant(a, like: b), b) }

/// Elementwise `<`: 1 where true, 0 where false, in the inputs' dtype (zero gradient).
public func .< (a: Tensor, b: Tensor) -> Tensor { elementwise(.lt, a, b) }
/// Elementwise `<` with a scalar.
public func .< (a: Tensor, b: Double) -> Tensor { elementwise(.lt, a, constant(b, like: a)) }
/// Elementwise `<=`, as 1/0.
public func .<= (a: Tensor, b: Tensor) -> Tensor { elementwise(.le, a, b) }
/// Elementwise `<=` with a scalar.
public func .<= (a: Tensor, b: Double) -> Tensor { elementwise(.le, a, constant(b, like: a)) }
/// Elementwise `==`, as 1/0.
public func .== (a: Tensor, b: Tensor) -> Tensor { elementwise(.eq, a, b) }
/// Elementwise `==` with a scalar.
public func .== (a: Tensor, b: Double) -> Tensor { elementwise(.eq, a, constant(b, like: a)) }
/// Elementwise `!=`, as 1/0.
public func .!= (a: Tensor, b: Tensor) -> Tensor { elementwise(.ne, a, b) }
/// Elementwise `!=` with a scalar.
public func .!= (a: Tensor, b: Double) -> Tensor { elementwise(.ne, a, constant(b, like: a)) }
/// Elementwise `>`, as 1/0.
public func .> (a: Tensor, b: Tensor) -> Tensor { elementwise(.gt, a, b) }
/// Elementwise `>` with a scalar: `x .> 0`.
public func .> (a: Tensor, b: Double) -> Tensor { elementwise(.gt, a, constant(b, like: a)) }
/// Elementwise `>=`, as 1/0.
public func .>= (a: Tensor, b: Tensor) -> Tensor { elementwise(.ge, a, b) }
/// Elementwise `>=` with a scalar.
public func .>= (a: Tensor, b: Double) -> Tensor { elementwise(.ge, a, constant(b, like: a)) }
