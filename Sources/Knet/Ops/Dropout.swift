/// A constant mask shaped like `x`: `1/(1-p)` with probability `1-p`, else 0 (all zeros
/// when `p == 1`), drawn from the package's seeded generator.
private func dropoutMask(like x: Tensor, _ p: Double) -> Tensor {
    let mask = Tensor(uninitialized: x.shape, dtype: x.dtype, device: x.device)
    RandomSource.shared.fill(mask, .bernoulli(p: p, value: p < 1 ? 1 / (1 - p) : 0))
    return mask
}

/// Knet's `dropout`: each element of `x` becomes 0 with probability `p` or `x[i]/(1-p)`
/// otherwise, so the expected value is unchanged. Active only while a gradient is being
/// recorded (`isRecording()`, i.e. inside `grad`/`diff`), unless `drop` forces it on or
/// off; returns `x` itself when inactive or `p == 0`. The mask comes from the generator
/// that `setseed` seeds (`seed:` reseeds it first, as Knet's `seed` keyword); the
/// gradient is `dy` times the same mask.
///
///     let h = dropout(relu(w * x), 0.5)          // drops only while training
///     let t = dropout(x, 0.1, drop: true, seed: 1)
public func dropout(_ x: Tensor, _ p: Double, drop: Bool? = nil, seed: Int? = nil) -> Tensor {
    knetCheck(p >= 0 && p <= 1, "dropout: probability \(p) not in [0, 1] for input of shape \(x.shape)")
    guard drop ?? isRecording(), p > 0 else { return x }
    if let seed { setseed(seed) }
    return x .* dropoutMask(like: x, p)
}
