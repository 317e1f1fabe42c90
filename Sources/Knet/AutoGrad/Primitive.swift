/// A differentiable operation: a forward function on plain (unrecorded) tensors and
/// one gradient formula per argument, written with Tensor ops. This is how every op
/// of the library is defined, and how a user adds one (Knet's `@primitive`).
///
///     // y = x³ with its derivative 3x²
///     let cube = Primitive("cube", forward: { x in x[0] ** 3 },
///                          gradients: [{ dy, y, x in dy .* 3 .* x[0] ** 2 }])
///     let g = grad { (x: Tensor) in sum(cube(x)) }
///
/// A gradient closure gets the incoming gradient `dy` (shape of the output), the output
/// `y` and the inputs, and returns the gradient for its argument (same shape as that
/// argument) or `nil` for zero. Because formulas are Tensor ops, gradients of
/// gradients work.
///
/// A primitive is immutable and `Sendable`, so it can be a global `let` and be applied
/// from any thread: its closures are `@Sendable` (in Swift 6 mode they may capture
/// constants such as numbers and shapes, not a `Tensor`; pass a tensor as an input).
public final class Primitive: Sendable {
    /// A gradient formula: `(dy, y, inputs) -> dx` (or nil for zero).
    public typealias Gradient = @Sendable (_ dy: Tensor, _ y: Tensor, _ inputs: [Tensor]) -> Tensor?

    /// Name used in error messages.
    public let name: String
    let forward: @Sendable ([Tensor]) -> Tensor
    let gradients: [Gradient]?

    /// A differentiable primitive with one gradient formula per argument.
    public convenience init(_ name: String, forward: @escaping @Sendable ([Tensor]) -> Tensor, gradients: [Gradient]) {
        self.init(name, forward: forward, gradients: Optional(gradients))
    }

    /// A primitive with gradient formulas (nil: never recorded) and, optionally, in-place
    /// accumulators per argument.
    init(_ name: String, forward: @escaping @Sendable ([Tensor]) -> Tensor, gradients: [Gradient]?,
         accumulators: [Accumulator?]? = nil) {
        self.name = name; self.forward = forward; self.gradients = gradients; self.accumulators = accumulators
    }

    /// Adds argument k's gradient contribution straight into `acc` (shaped like that
    /// argument), in place: `(acc, dy, inputs)`. The tape uses it instead of `gradients[k]`
    /// when nothing records the backward pass (dy and acc untracked), so that e.g. the
    /// gradient of a slice is written into its region rather than padded with zeros to
    /// the full shape. It must be linear in `dy` and use `inputs` only for their shapes
    /// and indices: it runs untracked even when an outer tape records the inputs.
    typealias Accumulator = @Sendable (_ acc: Tensor, _ dy: Tensor, _ inputs: [Tensor]) -> Void
    let accumulators: [Accumulator?]?

    /// A primitive whose output is a constant for AutoGrad (Knet's `@zerograd`):
    /// its result is never recorded, e.g. comparisons, `round`, sampling.
    ///
    ///     let hardStep = Primitive.zeroGradient("step") { x in x[0] .> 0 }
    public static func zeroGradient(_ name: String, forward: @escaping @Sendable ([Tensor]) -> Tensor) -> Primitive {
        Primitive(name, forward: forward, gradients: nil)
    }

    /// Applies the primitive, recording it on the tape of any recorded input.
    public func callAsFunction(_ inputs: Tensor...) -> Tensor { apply(self, inputs) }

    /// Applies the primitive to an array of inputs.
    public func callAsFunction(_ inputs: [Tensor]) -> Tensor { apply(self, inputs) }

    /// The in-place accumulator of argument k, if the primitive has one.
    @inline(__always) func accumulator(_ k: Int) -> Accumulator? {
        guard let a = accumulators, k < a.count else { return nil }
        return a[k]
    }

    @inline(__always)
    func gradient(_ k: Int, _ dy: Tensor, _ y: Tensor, _ inputs: [Tensor]) -> Tensor? {
        guard let gs = gradients, k < gs.count else { return nil }
        return gs[k](dy, y, inputs)
    }
}

/// Whether `apply` would run a forward function on `x` as it is (not recorded, not a
/// parameter to box): ops that build a primitive per call skip building it then.
@inline(__always) func isPlain(_ x: Tensor) -> Bool { x.tracker == nil && !x.isParam }

/// Runs `p` on `inputs`. With no recorded input this is just the forward function.
/// Otherwise the innermost tape among the inputs is peeled off, the primitive is
/// applied one level down (recursively, for nested tapes), and the result is
/// recorded on that tape and returned boxed.
func apply(_ p: Primitive, _ inputs: [Tensor]) -> Tensor {
    var xs = inputs
    // One pass over the inputs: any parameter to box, any box at all (most calls see
    // plain tensors and go straight to the forward function).
    var params = false, boxed = false
    for i in xs.indices {
        params = params || xs[i].isParam
        boxed = boxed || xs[i].tracker != nil
    }
    if params { ParamRegistry.boxParams(&xs); boxed = true }
    guard boxed else { return p.forward(xs) }
    var tape: Tape?
    for i in xs.indices where xs[i].tracker != nil {
        if let t = xs[i].innermostTape, t.id > (tape?.id ?? -1) { tape = t }
    }
    guard let tape, p.gradients != nil else { return p.forward(xs.map { $0.untracked }) }
    var parents = [Int](repeating: -1, count: xs.count)
    for i in xs.indices {
        if let tr = xs[i].tracker(on: tape) { parents[i] = tr.index; xs[i] = tr.value }
    }
    let y = apply(p, xs)
    tape.nodes.append(Tape.Node(primitive: p, inputs: xs, output: y, parents: parents))
    return Tensor(boxing: y, on: tape, at: tape.nodes.count - 1)
}
