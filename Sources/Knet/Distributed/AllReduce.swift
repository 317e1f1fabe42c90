// The all-reduce as a differentiable primitive (MLX's `mx.distributed.all_sum`): a loss
// that mixes values of every process can be differentiated on each of them.

/// Every process's `x` reduced elementwise across the job (a new tensor; `x` is
/// unchanged), recorded on the tape so that it composes with `grad`. Its gradient follows
/// MLX's convention that the job's loss is the sum of every process's loss: for `.sum`
/// the gradient is the all-reduce (sum) of the incoming gradients, for `.mean` their mean,
/// and for `.max`/`.min` the summed gradient goes to the processes holding the extreme
/// value, split evenly among ties. Every process must call it (see `Distributed`).
///
///     let g = grad { (w: Tensor) in sum(allReduce(w .* x, .sum) .* c) }
///     let dw = g(w)            // x .* (Σ over the processes of c)
public func allReduce(_ x: Tensor, _ op: AllReduceOp = .sum) -> Tensor {
    allReducePrimitives[op]!(x)
}

/// One primitive per reduction.
private let allReducePrimitives: [AllReduceOp: Primitive] = Dictionary(uniqueKeysWithValues: AllReduceOp.allCases.map { op in
    (op, Primitive("allReduce(\(op))", forward: { x in reduced(x[0], op) }, gradients: [{ dy, y, x in
        switch op {
        case .sum, .mean: return allReduce(dy, op)
        case .max, .min:
            let holds = x[0] .== y                       // 1 where this process has the extreme value
            return allReduce(dy, .sum) .* holds ./ allReduce(holds, .sum)
        }
    }]))
})

/// A reduced copy of untracked `x`.
private func reduced(_ x: Tensor, _ op: AllReduceOp) -> Tensor {
    let y = Tensor(uninitialized: x.shape, dtype: x.dtype, device: x.device)
    Backend.on(x.device).copy(from: x, to: y)
    Distributed.allReduce(y, op)
    return y
}
