// Primitives whose forward pass is one fused backend call (the RNN cells and sequence,
// softmax, batch normalization), and whose gradients for all arguments come from one
// backward computation.

/// A primitive applied once, whose gradients for all arguments come from one `backward`
/// call (made on the first argument's request and reused for the others).
///
///     fusedPrimitive("lstmCell", [g, c], forward: { xs in ... }) { dy, y, xs in [dg, dc] }
func fusedPrimitive(_ name: String, _ inputs: [Tensor], forward: @escaping @Sendable ([Tensor]) -> Tensor,
                    backward: @escaping @Sendable (_ dy: Tensor, _ y: Tensor, _ xs: [Tensor]) -> [Tensor]) -> Tensor {
    // Unchecked: the primitive is made for this one call, and its gradients run on the
    // thread that backpropagates through that call's tape.
    final class Memo: @unchecked Sendable { var dy: Tensor?; var grads: [Tensor] = [] }
    let memo = Memo()
    let gradients: [Primitive.Gradient] = inputs.indices.map { k in
        { dy, y, xs in
            if memo.dy !== dy { memo.grads = backward(dy, y, xs); memo.dy = dy }
            return memo.grads[k]
        }
    }
    return apply(Primitive(name, forward: forward, gradients: gradients), inputs)
}

/// True when a gradient is being computed without recording (no outer `grad` is
/// differentiating it), so a fused backward kernel may run instead of differentiable ops.
func isUnrecorded(_ dy: Tensor, _ y: Tensor, _ xs: [Tensor]) -> Bool {
    dy.tracker == nil && y.tracker == nil && xs.allSatisfy { $0.tracker == nil }
}
