// The CPU kernels of the built-in optimizers: one pass per parameter that reads the
// gradient (adjusted on the fly), updates the state and writes the weight, split over the
// cores for large tensors.

import RealModule

extension CPUBackend {
    func optimizerStep(_ rule: OptimizerRule, _ w: Tensor, _ g: Tensor, state: [Tensor], _ adjustment: GradientAdjustment) {
        func go<T: KnetFloat>(_: T.Type) {
            let wp = w.pointer(T.self), g = AdjustedGradient(g.pointer(T.self), adjustment)
            let s = state.map { $0.pointer(T.self) }
            Parallel.chunks(w.count, costPerElement: rule.costPerElement) { lo, hi in
                optimizerKernel(rule, wp, g, s, lo..<hi)
            }
        }
        dispatchFloat(w.dtype, { go(Float.self) }, { go(Double.self) })
    }
}

extension OptimizerRule {
    /// Relative cost per element, for the parallel threshold (1 = an add). SGD and momentum
    /// count 4: a parameter's lines sit in both cores' caches after the threaded GEMMs that
    /// read it and wrote its gradient, and splitting the update from 16K elements on took
    /// the MLP's 784×64 update from ~20% to ~7% of the main thread's time (Zen 4, 2 cores).
    var costPerElement: Int {
        switch self {
        case .sgd, .momentum: return 4
        case .adagrad, .rmsprop: return 8
        case .adadelta, .adam: return 16
        }
    }
}

/// The adjusted gradient of one contiguous parameter, read element by element inside a
/// fused kernel (no temporary tensor).
struct AdjustedGradient<T: KnetFloat> {
    let g: UnsafeMutablePointer<T>
    let scale: T, l1: T, l2: T

    init(_ g: UnsafeMutablePointer<T>, _ a: GradientAdjustment) {
        self.g = g; scale = T(a.scale); l1 = T(a.l1reg); l2 = T(a.l2reg)
    }

    /// `scale·g[i] + l1·sign(w) + l2·w` for the weight's current value `w`. Kernels load
    /// `w[i]` once, before any store, which lets LLVM vectorise the loop.
    @inline(__always) subscript(i: Int, weight w: T) -> T {
        let sign: T = (w > 0 ? 1 : 0) - (w < 0 ? 1 : 0)
        return scale * g[i] + l1 * sign + l2 * w
    }
}

/// The square root of a value known to be >= 0. Going through `magnitude` tells LLVM
/// that libm's errno path for negative inputs is dead, so loops with it vectorise.
@inline(__always) func rootOfNonNegative<T: KnetFloat>(_ x: T) -> T { x.magnitude.squareRoot() }

/// Applies `rule` to elements `range` of `w` and of the state arrays `s`.
private func optimizerKernel<T: KnetFloat>(_ rule: OptimizerRule, _ w: UnsafeMutablePointer<T>, _ g: AdjustedGradient<T>,
                                           _ s: [UnsafeMutablePointer<T>], _ range: Range<Int>) {
    switch rule {
    case .sgd(let lr):
        let lr = T(lr)
        for i in range { let wi = w[i]; w[i] = wi - lr * g[i, weight: wi] }
    case .momentum(let lr, let gamma, let ahead):
        let lr = T(lr), gamma = T(gamma), v = s[0]
        for i in range {
            let wi = w[i], old = gamma * v[i], vi = old - lr * g[i, weight: wi]
            v[i] = vi
            w[i] = ahead ? wi - old + (1 + gamma) * vi : wi + vi
        }
    case .adagrad(let lr, let eps):
        let lr = T(lr), eps = T(eps), G = s[0]
        for i in range {
            let wi = w[i], gi = g[i, weight: wi], Gi = G[i] + gi * gi
            G[i] = Gi
            w[i] = wi - lr * gi / rootOfNonNegative(Gi + eps)
        }
    case .rmsprop(let lr, let rho, let eps):
        let lr = T(lr), rho = T(rho), eps = T(eps), G = s[0]
        for i in range {
            let wi = w[i], gi = g[i, weight: wi], Gi = rho * G[i] + (1 - rho) * gi * gi
            G[i] = Gi
            w[i] = wi - lr * gi / rootOfNonNegative(Gi + eps)
        }
    case .adadelta(let lr, let rho, let eps):
        let lr = T(lr), rho = T(rho), eps = T(eps), G = s[0], delta = s[1]
        for i in range {
            let wi = w[i], gi = g[i, weight: wi], Gi = rho * G[i] + (1 - rho) * gi * gi, di = delta[i]
            let u = gi * rootOfNonNegative(di + eps) / rootOfNonNegative(Gi + eps)
            G[i] = Gi
            delta[i] = rho * di + (1 - rho) * u * u
            w[i] = wi - lr * u
        }
    case .adam(let lr, let beta1, let beta2, let eps, let c1, let c2):
        let b1 = T(beta1), b2 = T(beta2), eps = T(eps), lr = T(lr), c1 = T(c1), c2 = T(c2), m = s[0], v = s[1]
        for i in range {
            let wi = w[i], gi = g[i, weight: wi]
            let mi = b1 * m[i] + (1 - b1) * gi, vi = b2 * v[i] + (1 - b2) * gi * gi
            m[i] = mi; v[i] = vi
            w[i] = wi - lr * (mi / c1) / (rootOfNonNegative(vi / c2) + eps)
        }
    }
}
