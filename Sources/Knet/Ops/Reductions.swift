/// The shape of `x` reduced over `dims` (sizes set to 1, as Julia keeps them).
func reducedShape(_ op: String, _ shape: [Int], _ dims: [Int]) -> [Int] {
    knetCheck(dims.allSatisfy { $0 >= 0 }, "\(op): negative dims \(dims) for shape \(shape)")
    return shape.indices.map { dims.contains($0) ? 1 : shape[$0] }
}

/// A reduction primitive over `dims` (nil: all elements, giving a 0-d tensor); a sum
/// divided by `divisor` when given (`mean`: one primitive on the tape, not a sum and a
/// division, with the same values).
private func reduction(_ op: ReduceOp, _ name: String, _ x: Tensor, _ dims: [Int]?, divisor: Double? = nil) -> Tensor {
    let keep = dims.map { reducedShape(name, x.shape, $0) } ?? [Int](repeating: 1, count: x.ndims)
    let outShape = dims == nil ? [] : keep
    // Unrecorded (a gradient formula's sum, inference): no primitive to build.
    if isPlain(x) { return reduceForward(op, x, keep: keep, outShape: outShape, divisor: divisor) }
    let gradient: Primitive.Gradient
    switch op {
    case .sum:
        gradient = { dy, _, xs in
            let g = divisor.map { dy ./ $0 } ?? dy
            return broadcast(g.ndims == 0 ? g : reshape(g, keep), to: xs[0].shape)
        }
    case .prod: gradient = { dy, y, xs in prodGradient(dy, y, xs[0], dims: dims) }
    case .max, .min: gradient = { dy, y, xs in dy .* (xs[0] .== y) }
    }
    return apply(Primitive(name, forward: { xs in reduceForward(op, xs[0], keep: keep, outShape: outShape, divisor: divisor) },
                           gradients: [gradient]), [x])
}

/// The reduction of unrecorded `x` to shape `keep` (then viewed as `outShape`), divided by `divisor` when given.
private func reduceForward(_ op: ReduceOp, _ x: Tensor, keep: [Int], outShape: [Int], divisor: Double?) -> Tensor {
    let x = x.contiguousData()
    let y = Tensor(uninitialized: keep, dtype: x.dtype, device: x.device)
    Backend.on(x.device).reduce(op, x, into: y)
    if let divisor { Backend.on(x.device).binary(.div, y, constant(divisor, like: y), into: y) }
    return outShape == keep ? y : y.view(shape: outShape, strides: [], offset: 0)
}

/// d prod(x) / dx = product of the other elements, also where x has zeros: y/x where
/// x ≠ 0; at a zero, the product of the nonzeros when it is the slice's only zero.
private func prodGradient(_ dy: Tensor, _ y: Tensor, _ x: Tensor, dims: [Int]?) -> Tensor {
    let nonzero = x .!= 0, zero = 1 .- nonzero
    let safe = x .+ zero                                             // zeros replaced by 1
    let others = dims.map { prod(safe, dims: $0) } ?? prod(safe)     // product of the nonzeros
    let zeros = dims.map { sum(zero, dims: $0) } ?? sum(zero)
    return dy .* (nonzero .* (y ./ safe) .+ zero .* (zeros .== 1) .* others)
}

/// Sum of all elements, as a 0-d tensor (`.scalar` reads it).
///
///     let total = sum(x).scalar
public func sum(_ x: Tensor) -> Tensor { reduction(.sum, "sum", x, nil) }
/// Sum over `dims` (0-based); reduced dims keep size 1: `sum(x, dims: 0)` of `[3, 4]` is `[1, 4]`.
public func sum(_ x: Tensor, dims: Int...) -> Tensor { reduction(.sum, "sum", x, dims) }
/// Sum over an array of dims.
public func sum(_ x: Tensor, dims: [Int]) -> Tensor { reduction(.sum, "sum", x, dims) }
/// Product of all elements.
public func prod(_ x: Tensor) -> Tensor { reduction(.prod, "prod", x, nil) }
/// Product over `dims`.
public func prod(_ x: Tensor, dims: Int...) -> Tensor { reduction(.prod, "prod", x, dims) }
/// Product over an array of dims.
public func prod(_ x: Tensor, dims: [Int]) -> Tensor { reduction(.prod, "prod", x, dims) }
/// Largest element (NaN if any element is NaN).
public func maximum(_ x: Tensor) -> Tensor { reduction(.max, "maximum", x, nil) }
/// Largest element over `dims`.
public func maximum(_ x: Tensor, dims: Int...) -> Tensor { reduction(.max, "maximum", x, dims) }
/// Largest element over an array of dims.
public func maximum(_ x: Tensor, dims: [Int]) -> Tensor { reduction(.max, "maximum", x, dims) }
/// Smallest element.
public func minimum(_ x: Tensor) -> Tensor { reduction(.min, "minimum", x, nil) }
/// Smallest element over `dims`.
public func minimum(_ x: Tensor, dims: Int...) -> Tensor { reduction(.min, "minimum", x, dims) }
/// Smallest element over an array of dims.
public func minimum(_ x: Tensor, dims: [Int]) -> Tensor { reduction(.min, "minimum", x, dims) }

/// Mean of all elements.
public func mean(_ x: Tensor) -> Tensor { reduction(.sum, "mean", x, nil, divisor: Double(Swift.max(x.count, 1))) }
/// Mean over `dims`.
///
///     let colMeans = mean(x, dims: 0)
public func mean(_ x: Tensor, dims: Int...) -> Tensor { mean(x, dims: dims) }
/// Mean over an array of dims.
public func mean(_ x: Tensor, dims: [Int]) -> Tensor {
    let n = Set(dims).filter { $0 < x.ndims }.map { x.shape[$0] }.reduce(1, *)
    return reduction(.sum, "mean", x, dims, divisor: Double(Swift.max(n, 1)))
}
/// Sum of absolute values.
public func sumabs(_ x: Tensor) -> Tensor { sum(abs(x)) }
/// Sum of absolute values over `dims`.
public func sumabs(_ x: Tensor, dims: Int...) -> Tensor { sum(abs(x), dims: dims) }
/// Sum of absolute values over an array of dims.
public func sumabs(_ x: Tensor, dims: [Int]) -> Tensor { sum(abs(x), dims: dims) }
/// Sum of squares.
public func sumabs2(_ x: Tensor) -> Tensor { sum(abs2(x)) }
/// Sum of squares over `dims`.
public func sumabs2(_ x: Tensor, dims: Int...) -> Tensor { sum(abs2(x), dims: dims) }
/// Sum of squares over an array of dims.
public func sumabs2(_ x: Tensor, dims: [Int]) -> Tensor { sum(abs2(x), dims: dims) }

/// The p-norm of all elements (p = 2 by default; 1 and `.infinity` too).
///
///     let n = norm(g)          // Euclidean norm, for gradient clipping
public func norm(_ x: Tensor, _ p: Double = 2) -> Tensor {
    switch p {
    case 2: return sqrt(sumabs2(x))
    case 1: return sumabs(x)
    case .infinity: return maximum(abs(x))
    default:
        knetCheck(p > 0, "norm: p must be positive, got \(p)")
        return sum(abs(x) ** p) ** (1 / p)
    }
}

/// Number of nonzero elements (not differentiable).
public func countnz(_ x: Tensor) -> Tensor { sum(x .!= 0) }
/// Number of nonzero elements over `dims`.
public func countnz(_ x: Tensor, dims: Int...) -> Tensor { sum(x .!= 0, dims: dims) }
/// Number of nonzero elements over an array of dims.
public func countnz(_ x: Tensor, dims: [Int]) -> Tensor { sum(x .!= 0, dims: dims) }

/// Position of the largest element along `dims` for every slice, as 0-based indices
/// in column-major order of the remaining dims: the predicted class of each column of
/// `[classes, batch]` scores is `argmax(scores, dims: 0)`. Ties pick the first.
///
///     let predicted = argmax(scores, dims: 0)   // [Int] of length batch
public func argmax(_ x: Tensor, dims d: Int) -> [Int] {
    knetCheck(d >= 0 && d < Swift.max(x.ndims, 1), "argmax: dim \(d) out of range for shape \(x.shape)")
    let values = [Double](x)
    let n = x.size(d)
    let inner = x.shape.prefix(d).reduce(1, *), outer = x.count / Swift.max(n * inner, 1)
    var result = [Int](repeating: 0, count: inner * outer)
    for o in 0..<outer {
        for i in 0..<inner {
            var best = 0, bestValue = -Double.infinity
            for k in 0..<n {
                let v = values[i + inner * (k + n * o)]
                if v > bestValue || (v.isNaN && !bestValue.isNaN) { best = k; bestValue = v }
            }
            result[i + inner * o] = best
        }
    }
    return result
}

/// Column-major position of the largest element.
public func argmax(_ x: Tensor) -> Int { argmax(vec(x), dims: 0)[0] }
