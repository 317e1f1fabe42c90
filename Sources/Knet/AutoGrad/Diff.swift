/// Marks a tensor as a trainable parameter for the `diff { }` style of Knet.jl 1.x
/// (`Param`/`@diff`/`grad(J, w)`). The result shares memory with `t`.
///
///     let w = Param(Tensor.randn(10, 5))
///     let J = diff { sum(abs2(w * x)) }
///     let dw = grad(J, w)       // gradient tensor, or nil if w was not used
public func Param(_ t: Tensor) -> Tensor {
    Tensor(storage: t.storage, shape: t.shape, strides: t.explicitStrides, offset: t.offset, isParam: true)
}

/// What `diff` returns: the loss value and the gradient of every `Param` the
/// computation used.
public final class DiffResult {
    /// The loss (a one-element tensor), unrecorded.
    public let value: Tensor
    /// The `Param`s the computation used, in order of first use.
    public let params: [Tensor]
    private let gradients: [ObjectIdentifier: Tensor]

    init(value: Tensor, params: [Tensor], gradients: [ObjectIdentifier: Tensor]) {
        self.value = value; self.params = params; self.gradients = gradients
    }

    /// The gradient of `param`, or nil when the loss does not depend on it.
    public func gradient(_ param: Tensor) -> Tensor? { gradients[ObjectIdentifier(param)] }
}

/// Evaluates `body` recording every use of a `Param`, then backpropagates from its
/// scalar result (Knet.jl's `@diff`).
///
///     let J = diff { nllLoss(model, x, y) }
///     for w in params(J) { w .-= 0.1 * grad(J, w)! }
public func diff(_ body: () throws -> Tensor) rethrows -> DiffResult {
    let context = DiffContext()
    let thread = ThreadContext.current
    thread.diffStack.append(context)
    defer { context.tape.finish() }
    let loss: Tensor
    do {
        defer { thread.diffStack.removeLast() }
        loss = try ThreadContext.recording(body)
    }
    let leaves = context.order.map { context.boxes[$0]!.box.tracker!.index }
    let (grads, value) = backpropagate(context.tape, loss, leaves: leaves, op: "diff")
    var byParam: [ObjectIdentifier: Tensor] = [:]
    for (id, g) in zip(context.order, grads) where g != nil { byParam[id] = g }
    return DiffResult(value: value.untracked, params: context.order.map { context.boxes[$0]!.param },
                      gradients: byParam)
}

/// The gradient of `param` in a `diff` result (nil if unused).
public func grad(_ result: DiffResult, _ param: Tensor) -> Tensor? { result.gradient(param) }

/// The loss value of a `diff` result.
public func value(_ result: DiffResult) -> Tensor { result.value }

/// The parameters a `diff` result has gradients for.
public func params(_ result: DiffResult) -> [Tensor] { result.params }
