/// One optimizer per tensor of `w`, in `w.tensors` order, each a fresh `clone()` of
/// `prototype`: the per-parameter optimisation state that `update` takes (Knet.jl's
/// `optimizers(model, Adam)`). Works for any `Params`: a `Tensor`, `[Tensor]`, a struct.
///
///     var opt = optimizers(w, Adam(lr: 0.01))   // opt.count == w.tensors.count
///     update(&w, lossgradient(w, x, y), &opt)
public func optimizers<P: Params>(_ w: P, _ prototype: any Optimizer) -> [any Optimizer] {
    w.tensors.map { _ in prototype.clone() }
}

/// One optimizer per entry of the dictionary `w`, under the same keys (`update` then
/// matches parameters, gradients and optimizers by key, as Knet.jl does for a `Dict`).
///
///     var opt = optimizers(["w": w, "b": b], Sgd(lr: 0.1))   // ["w": Sgd, "b": Sgd]
public func optimizers<K: Hashable>(_ w: [K: Tensor], _ prototype: any Optimizer) -> [K: any Optimizer] {
    w.mapValues { _ in prototype.clone() }
}

/// Updates every tensor of `w` IN PLACE from the gradient `g` (same structure, e.g. what
/// `grad(loss)` returns) with the optimizers `opt` (one per tensor, in `w.tensors` order,
/// as `optimizers(w, ...)` builds them). The tensors' storage is overwritten, so every
/// copy of the container and every view sees the new values; nothing is recorded.
///
/// Options, applied to the gradient before the optimizer sees it (Knet's training
/// options): `gclip > 0` scales all gradients by `gclip / ‖g‖` when their global norm
/// `‖g‖` (over every tensor of this call) exceeds `gclip` — Knet.jl clips each
/// parameter on its own, which is what calling `update` once per tensor gives; then
/// `l1reg` adds `l1reg·sign(w)` and `l2reg` adds `l2reg·w`. `g` itself is not modified.
///
///     var opt = optimizers(w, Adam())
///     update(&w, lossgradient(w, x, y), &opt, gclip: 5)
public func update<P: Params>(_ w: inout P, _ g: P, _ opt: inout [any Optimizer],
                              gclip: Double = 0, l1reg: Double = 0, l2reg: Double = 0) {
    applyUpdates(w.tensors, g.tensors, opt, UpdateOptions(gclip: gclip, l1reg: l1reg, l2reg: l2reg))
}

/// Updates a dictionary of parameters in place, matching gradients and optimizers by
/// key; `g` may hold fewer keys than `w` (those parameters stay unchanged). Options as
/// in `update(_:_:_:gclip:l1reg:l2reg:)` for any `Params`, the clipping norm taken over
/// the gradients in `g`.
///
///     var opt = optimizers(w, Adam())          // w: [String: Tensor]
///     update(&w, lossgradient(w, x, y), &opt)
public func update<K: Hashable>(_ w: inout [K: Tensor], _ g: [K: Tensor], _ opt: inout [K: any Optimizer],
                                gclip: Double = 0, l1reg: Double = 0, l2reg: Double = 0) {
    var ws: [Tensor] = [], gs: [Tensor] = [], os: [any Optimizer] = []
    for (key, gradient) in g {
        guard let param = w[key] else { knetFail("update: the gradient has key \(key), which is not a parameter") }
        guard let o = opt[key] else { knetFail("update: no optimizer for parameter \(key); build them with optimizers(w, ...)") }
        ws.append(param); gs.append(gradient); os.append(o)
    }
    applyUpdates(ws, gs, os, UpdateOptions(gclip: gclip, l1reg: l1reg, l2reg: l2reg))
}

/// Updates one tensor in place with one optimizer (which keeps this tensor's state).
///
///     let opt = Adam()
///     for _ in 0..<100 { update(&w, lossgradient(w), opt) }
public func update(_ w: inout Tensor, _ g: Tensor, _ opt: any Optimizer,
                   gclip: Double = 0, l1reg: Double = 0, l2reg: Double = 0) {
    applyUpdates([w], [g], [opt], UpdateOptions(gclip: gclip, l1reg: l1reg, l2reg: l2reg))
}

/// Plain SGD on every tensor of `w` in place: `w = w - lr·g` after the same options
/// (Knet's two-argument `update!(w, g; lr=0.1, gclip=0)`).
///
///     update(&w, lossgradient(w, x, y), lr: 0.1)
public func update<P: Params>(_ w: inout P, _ g: P, lr: Double = 0.1,
                              gclip: Double = 0, l1reg: Double = 0, l2reg: Double = 0) {
    let ws = w.tensors
    applyUpdates(ws, g.tensors, [any Optimizer](repeating: Sgd(lr: lr), count: ws.count),
                 UpdateOptions(gclip: gclip, l1reg: l1reg, l2reg: l2reg))
}

/// The training options of one `update` call.
struct UpdateOptions {
    var gclip = 0.0, l1reg = 0.0, l2reg = 0.0
}

/// The shared body of every `update`: clips by the global norm of `gradients`, then
/// steps each parameter with its optimizer. Allocates no tensors for contiguous
/// gradients, so a training loop's update is free of allocations in steady state.
func applyUpdates(_ params: [Tensor], _ gradients: [Tensor], _ optimizers: [any Optimizer], _ options: UpdateOptions) {
    knetCheck(params.count == gradients.count && params.count == optimizers.count,
              "update: \(params.count) parameters, \(gradients.count) gradients and \(optimizers.count) optimizers; "
              + "build one optimizer per parameter with optimizers(w, ...)")
    knetCheck(options.gclip >= 0, "update: gclip must be >= 0 (0 disables clipping), got \(options.gclip)")
    var adjustment = GradientAdjustment(l1reg: options.l1reg, l2reg: options.l2reg)
    if options.gclip > 0 {
        let norm = gradients.reduce(0) { $0 + Backend.on($1.device).sumOfSquares($1.contiguousData()) }.squareRoot()
        if norm > options.gclip { adjustment.scale = options.gclip / norm }
    }
    for i in params.indices { optimizers[i].step(params[i], gradients[i], adjustment) }
}
