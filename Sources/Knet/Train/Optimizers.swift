import RealModule

/// An optimisation algorithm together with its state for ONE parameter tensor (Knet.jl's
/// `SGD`, `Adam`... objects). Give every parameter its own instance: `optimizers(w, Adam())`
/// clones a prototype once per tensor, and `update` calls `step` on each.
///
///     let opt = Adam(lr: 0.01)
///     opt.step(w, dw, GradientAdjustment())   // w changes in place
///
/// A custom optimizer implements `step` by writing into `w` in place (e.g. with
/// `assign`), and `clone` by returning an instance with the same hyper-parameters and
/// empty state.
///
/// Not thread-safe: an optimizer holds mutable state for its one parameter, so never
/// share one between parameters or threads (two threads training two models each use
/// their own `optimizers(w, ...)`). The built-in ones stop with a usage error when two
/// threads step the same parameter or state at the same time.
public protocol Optimizer: AnyObject, CustomStringConvertible {
    /// The learning rate; change it between steps for a schedule (`opt.lr *= 0.9`).
    var lr: Double { get set }
    /// A new instance with the same hyper-parameters and fresh (empty) state.
    func clone() -> Self
    /// Updates `w` in place (its storage, so every view sees it) from the gradient `g`
    /// (same shape and dtype) after `adjustment` (clipping and regularisation). `g` is
    /// not modified. Not recorded on any tape.
    func step(_ w: Tensor, _ g: Tensor, _ adjustment: GradientAdjustment)
    /// The state as named tensors (e.g. Adam's moments `m`, `v` and its step count `t`
    /// as a 0-d tensor), for checkpoints; empty before the first step. Setting it
    /// restores a saved state (missing entries start fresh).
    var state: [String: Tensor] { get set }
}

extension Optimizer {
    /// Stateless optimizers save nothing.
    public var state: [String: Tensor] {
        get { [:] }
        set {}
    }
}

/// `[name: tensor]` without the nil entries.
func stateEntries(_ entries: [(String, Tensor?)]) -> [String: Tensor] {
    var d: [String: Tensor] = [:]
    for (k, t) in entries { if let t { d[k] = t } }
    return d
}

/// What `update` does to a gradient before an optimizer sees it, following Knet's
/// training-options table: `g' = scale·g + l1reg·sign(w) + l2reg·w`, where `scale < 1`
/// when gradient clipping (`gclip`) applies. The identity by default.
///
///     let adj = GradientAdjustment(scale: 0.5, l2reg: 1e-4)
public struct GradientAdjustment: Sendable, Equatable {
    /// Factor applied to the raw gradient (from `gclip`).
    public var scale: Double
    /// L1 regularisation strength: adds `l1reg * sign(w)`.
    public var l1reg: Double
    /// L2 regularisation strength: adds `l2reg * w`.
    public var l2reg: Double

    /// An adjustment; the defaults leave the gradient unchanged.
    ///
    ///     GradientAdjustment(l1reg: 1e-5)
    public init(scale: Double = 1, l1reg: Double = 0, l2reg: Double = 0) {
        self.scale = scale; self.l1reg = l1reg; self.l2reg = l2reg
    }
}

/// The built-in optimizers: one fused elementwise pass per parameter on its device's
/// backend (`ComputeBackend.optimizerStep`) that reads the gradient, updates the state and
/// writes the weight, with no temporaries.
protocol FusedOptimizer: Optimizer {
    /// Allocates missing state for `w` (on its device) and advances step counters; called
    /// once per step. Returns the rule of this step and its state tensors, in the order
    /// `OptimizerRule` lists them.
    func prepare(_ w: Tensor) -> (OptimizerRule, [Tensor])
}

extension FusedOptimizer {
    /// `step` for the built-in optimizers: checks the operands, prepares the state and
    /// runs the fused update on the parameter's backend.
    func fusedStep(_ w: Tensor, _ g: Tensor, _ adjustment: GradientAdjustment) {
        checkCompatible("update", w, g)
        knetCheck(w.shape == g.shape, "update: gradient shape \(g.shape) does not match parameter shape \(w.shape)")
        knetCheck(w.isContiguous, "update: the parameter of shape \(w.shape) is a strided view; update its base tensor")
        let g = g.contiguousData()
        exclusiveWrite("update", [w]) {
            let (rule, state) = prepare(w)
            exclusiveWrite("update", state) { Backend.on(w.device).optimizerStep(rule, w, g, state: state, adjustment) }
        }
    }

    /// `state` when it exists (checked against `w`), else zeros like `w`.
    func stateTensor(_ state: Tensor?, like w: Tensor) -> Tensor {
        guard let state else { return Tensor.zeros(like: w) }
        knetCheck(state.shape == w.shape && state.dtype == w.dtype && state.device == w.device,
                  "update: \(Self.self) holds state of \(state.dtype)\(state.shape) on \(state.device) but the parameter is "
                  + "\(w.dtype)\(w.shape) on \(w.device); "
                  + "build one optimizer per parameter with optimizers(w, ...) and pass them in the same order")
        return state
    }
}

/// Stochastic gradient descent: `w = w - lr * g` (Knet's `SGD`, default lr 0.1).
///
///     update(&w, dw, Sgd(lr: 0.01))
public final class Sgd: FusedOptimizer {
    /// Learning rate.
    public var lr: Double

    /// SGD with learning rate `lr`.
    ///
    ///     let opt = Sgd(lr: 0.1)
    public init(lr: Double = 0.1) { self.lr = lr }

    /// A fresh copy (SGD has no state).
    public func clone() -> Sgd { Sgd(lr: lr) }
    /// One in-place SGD step.
    public func step(_ w: Tensor, _ g: Tensor, _ adjustment: GradientAdjustment) { fusedStep(w, g, adjustment) }
    /// `Sgd(lr: 0.1)`
    public var description: String { "Sgd(lr: \(lr))" }

    func prepare(_ w: Tensor) -> (OptimizerRule, [Tensor]) { (.sgd(lr: lr), []) }

}

/// SGD with momentum (Knet's `Momentum`): `v = gamma * v - lr * g; w = w + v`.
/// Defaults lr 0.05, gamma 0.95. `Nesterov` is the same with a look-ahead.
///
///     let opt = optimizers(w, Momentum(lr: 0.01, gamma: 0.9))
public class Momentum: FusedOptimizer {
    /// Learning rate.
    public var lr: Double
    /// Momentum coefficient.
    public var gamma: Double
    /// The velocity `v`, created at the first step.
    public private(set) var velocity: Tensor?
    /// `["velocity": v]` once created.
    public var state: [String: Tensor] {
        get { stateEntries([("velocity", velocity)]) }
        set { velocity = newValue["velocity"] }
    }

    /// Momentum with learning rate `lr` and coefficient `gamma`.
    ///
    ///     let opt = Momentum(lr: 0.05, gamma: 0.95)
    public required init(lr: Double = 0.05, gamma: Double = 0.95) { self.lr = lr; self.gamma = gamma }

    /// A copy with the same hyper-parameters and no velocity.
    public func clone() -> Self { Self(lr: lr, gamma: gamma) }
    /// One in-place step.
    public func step(_ w: Tensor, _ g: Tensor, _ adjustment: GradientAdjustment) { fusedStep(w, g, adjustment) }
    /// `Momentum(lr: 0.05, gamma: 0.95)` (or `Nesterov(...)`).
    public var description: String { "\(type(of: self))(lr: \(lr), gamma: \(gamma))" }

    /// Whether the step looks ahead along the new velocity (Nesterov).
    class var looksAhead: Bool { false }

    func prepare(_ w: Tensor) -> (OptimizerRule, [Tensor]) {
        let v = stateTensor(velocity, like: w)
        velocity = v
        return (.momentum(lr: lr, gamma: gamma, nesterov: type(of: self).looksAhead), [v])
    }

}

/// Nesterov's accelerated gradient (Knet's `Nesterov`, Bengio et al. 2012 eq. 7):
/// `v' = gamma * v - lr * g; w = w - gamma * v + (1 + gamma) * v'`.
/// Defaults lr 0.05, gamma 0.95.
///
///     let opt = Nesterov(lr: 0.01)
public final class Nesterov: Momentum {
    override class var looksAhead: Bool { true }
}

/// Adagrad (Knet's `Adagrad`): `G = G + g²; w = w - lr * g / sqrt(G + eps)`.
/// Defaults lr 0.05, eps 1e-6.
///
///     let opt = Adagrad(lr: 0.1)
public final class Adagrad: FusedOptimizer {
    /// Learning rate.
    public var lr: Double
    /// Added to `G` under the square root.
    public var eps: Double
    /// The sum of squared gradients `G`, created at the first step.
    public private(set) var G: Tensor?
    /// `["G": G]` once created.
    public var state: [String: Tensor] {
        get { stateEntries([("G", G)]) }
        set { G = newValue["G"] }
    }

    /// Adagrad with learning rate `lr` and `eps`.
    ///
    ///     let opt = Adagrad(lr: 0.05, eps: 1e-6)
    public init(lr: Double = 0.05, eps: Double = 1e-6) { self.lr = lr; self.eps = eps }

    /// A copy with the same hyper-parameters and no accumulated state.
    public func clone() -> Adagrad { Adagrad(lr: lr, eps: eps) }
    /// One in-place Adagrad step.
    public func step(_ w: Tensor, _ g: Tensor, _ adjustment: GradientAdjustment) { fusedStep(w, g, adjustment) }
    /// `Adagrad(lr: 0.05, eps: 1e-06)`
    public var description: String { "Adagrad(lr: \(lr), eps: \(eps))" }

    func prepare(_ w: Tensor) -> (OptimizerRule, [Tensor]) {
        let g = stateTensor(G, like: w)
        G = g
        return (.adagrad(lr: lr, eps: eps), [g])
    }

}

/// RMSprop (Knet's `Rmsprop`): `G = rho * G + (1 - rho) * g²; w = w - lr * g / sqrt(G + eps)`.
/// Defaults lr 0.01, rho 0.9, eps 1e-6.
///
///     let opt = Rmsprop(lr: 0.001)
public final class Rmsprop: FusedOptimizer {
    /// Learning rate.
    public var lr: Double
    /// Decay of the running average of squared gradients.
    public var rho: Double
    /// Added to `G` under the square root.
    public var eps: Double
    /// The running average of squared gradients `G`, created at the first step.
    public private(set) var G: Tensor?
    /// `["G": G]` once created.
    public var state: [String: Tensor] {
        get { stateEntries([("G", G)]) }
        set { G = newValue["G"] }
    }

    /// RMSprop with learning rate `lr`, decay `rho` and `eps`.
    ///
    ///     let opt = Rmsprop(lr: 0.01, rho: 0.9, eps: 1e-6)
    public init(lr: Double = 0.01, rho: Double = 0.9, eps: Double = 1e-6) {
        self.lr = lr; self.rho = rho; self.eps = eps
    }

    /// A copy with the same hyper-parameters and no accumulated state.
    public func clone() -> Rmsprop { Rmsprop(lr: lr, rho: rho, eps: eps) }
    /// One in-place RMSprop step.
    public func step(_ w: Tensor, _ g: Tensor, _ adjustment: GradientAdjustment) { fusedStep(w, g, adjustment) }
    /// `Rmsprop(lr: 0.01, rho: 0.9, eps: 1e-06)`
    public var description: String { "Rmsprop(lr: \(lr), rho: \(rho), eps: \(eps))" }

    func prepare(_ w: Tensor) -> (OptimizerRule, [Tensor]) {
        let g = stateTensor(G, like: w)
        G = g
        return (.rmsprop(lr: lr, rho: rho, eps: eps), [g])
    }

}

/// Adadelta (Knet's `Adadelta`, Zeiler 2012):
/// `G = rho * G + (1 - rho) * g²; u = g * sqrt(delta + eps) / sqrt(G + eps);
/// w = w - lr * u; delta = rho * delta + (1 - rho) * u²`. Defaults lr 1.0, rho 0.9, eps 1e-6.
///
///     let opt = Adadelta(rho: 0.95)
public final class Adadelta: FusedOptimizer {
    /// Learning rate (a scale on the update; 1 is the paper's method).
    public var lr: Double
    /// Decay of both running averages.
    public var rho: Double
    /// Added under both square roots.
    public var eps: Double
    /// The running average of squared gradients `G`, created at the first step.
    public private(set) var G: Tensor?
    /// The running average of squared updates `delta`, created at the first step.
    public private(set) var delta: Tensor?
    /// `["G": G, "delta": delta]` once created.
    public var state: [String: Tensor] {
        get { stateEntries([("G", G), ("delta", delta)]) }
        set { G = newValue["G"]; delta = newValue["delta"] }
    }

    /// Adadelta with learning rate `lr`, decay `rho` and `eps`.
    ///
    ///     let opt = Adadelta(lr: 1.0, rho: 0.9, eps: 1e-6)
    public init(lr: Double = 1.0, rho: Double = 0.9, eps: Double = 1e-6) {
        self.lr = lr; self.rho = rho; self.eps = eps
    }

    /// A copy with the same hyper-parameters and no accumulated state.
    public func clone() -> Adadelta { Adadelta(lr: lr, rho: rho, eps: eps) }
    /// One in-place Adadelta step.
    public func step(_ w: Tensor, _ g: Tensor, _ adjustment: GradientAdjustment) { fusedStep(w, g, adjustment) }
    /// `Adadelta(lr: 1.0, rho: 0.9, eps: 1e-06)`
    public var description: String { "Adadelta(lr: \(lr), rho: \(rho), eps: \(eps))" }

    func prepare(_ w: Tensor) -> (OptimizerRule, [Tensor]) {
        let (g, d) = (stateTensor(G, like: w), stateTensor(delta, like: w))
        (G, delta) = (g, d)
        return (.adadelta(lr: lr, rho: rho, eps: eps), [g, d])
    }

}

/// Adam (Knet's `Adam`, Kingma & Ba 2015): `t += 1; m = beta1 * m + (1 - beta1) * g;
/// v = beta2 * v + (1 - beta2) * g²; w = w - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)`.
/// Defaults lr 0.001, beta1 0.9, beta2 0.999, eps 1e-8.
///
///     var opt = optimizers(w, Adam())
///     update(&w, dw, &opt)
public final class Adam: FusedOptimizer {
    /// Learning rate.
    public var lr: Double
    /// Decay of the first moment.
    public var beta1: Double
    /// Decay of the second moment.
    public var beta2: Double
    /// Added to the bias-corrected RMS in the denominator.
    public var eps: Double
    /// Steps taken so far (the `t` of the bias correction).
    public private(set) var t = 0
    /// First moment `m`, created at the first step.
    public private(set) var m: Tensor?
    /// Second moment `v`, created at the first step.
    public private(set) var v: Tensor?
    /// `["t": t (0-d), "m": m, "v": v]` once stepped.
    public var state: [String: Tensor] {
        get { t == 0 ? [:] : stateEntries([("t", Tensor(scalar: Double(t), dtype: .float64)), ("m", m), ("v", v)]) }
        set { t = newValue["t"].map { Int($0.scalar) } ?? 0; m = newValue["m"]; v = newValue["v"] }
    }

    /// Adam with learning rate `lr`, moment decays `beta1`, `beta2` and `eps`.
    ///
    ///     let opt = Adam(lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8)
    public init(lr: Double = 0.001, beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8) {
        self.lr = lr; self.beta1 = beta1; self.beta2 = beta2; self.eps = eps
    }

    /// A copy with the same hyper-parameters, `t = 0` and no moments.
    public func clone() -> Adam { Adam(lr: lr, beta1: beta1, beta2: beta2, eps: eps) }
    /// One in-place Adam step.
    public func step(_ w: Tensor, _ g: Tensor, _ adjustment: GradientAdjustment) { fusedStep(w, g, adjustment) }
    /// `Adam(lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-08)`
    public var description: String { "Adam(lr: \(lr), beta1: \(beta1), beta2: \(beta2), eps: \(eps))" }

    func prepare(_ w: Tensor) -> (OptimizerRule, [Tensor]) {
        let (m, v) = (stateTensor(self.m, like: w), stateTensor(self.v, like: w))
        (self.m, self.v) = (m, v)
        t += 1
        return (.adam(lr: lr, beta1: beta1, beta2: beta2, eps: eps,
                      c1: 1 - Double.pow(beta1, t), c2: 1 - Double.pow(beta2, t)), [m, v])
    }

}
