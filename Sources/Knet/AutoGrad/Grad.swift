/// Records `body(boxed w)` on a fresh tape and backpropagates from its scalar result.
/// Returns the gradient with the structure of `w` (zeros for unused tensors) and the
/// loss value one level down (recorded on an outer tape when one is active). `observer`
/// hears of each gradient as soon as it is final (see `BackwardObserver`).
func differentiate<P: Params>(_ w: P, op: String, observer: BackwardObserver? = nil,
                              _ body: (P) -> Tensor) -> (gradient: P, loss: Tensor) {
    let tape = Tape()
    defer { tape.finish() }
    var leaves: [Int] = []
    leaves.reserveCapacity(16)
    let boxed = w.mapTensors { t in
        let b = tape.leaf(t)
        leaves.append(b.tracker!.index)
        return b
    }
    let loss = ThreadContext.recording { body(boxed) }
    let (grads, value) = backpropagate(tape, loss, leaves: leaves, op: op, observer: observer)
    var i = 0
    let gradient = w.mapTensors { t in
        defer { i += 1 }
        return grads[i] ?? Tensor.zeros(like: t)
    }
    return (gradient, value)
}

/// Runs the backward pass of `tape` from `loss`, which must have one element. Without a
/// recorded loss every gradient is nil (and `observer` hears so).
func backpropagate(_ tape: Tape, _ loss: Tensor, leaves: [Int], op: String,
                   observer: BackwardObserver? = nil) -> ([Tensor?], Tensor) {
    DebugBuildNotice.emitOnce()
    knetCheck(loss.count == 1,
              "\(op): the function must return a scalar loss, got a tensor of shape \(loss.shape)")
    guard let tr = loss.tracker(on: tape) else {
        for k in leaves.indices { observer?.gradientReady(k, nil) }
        return (leaves.map { _ in nil }, loss)
    }
    let seed = Tensor.ones(like: tr.value.untracked)
    return (tape.backward(from: tr.index, seed: seed, leaves: leaves, observer: observer), tr.value)
}

/// The gradient function of `f` with respect to its first argument (AutoGrad's `grad`).
/// The result takes the same arguments and returns a gradient with the same
/// structure and shapes as the first argument. `f` must return a one-element tensor.
///
///     func loss(_ w: [Tensor], _ x: Tensor, _ y: Tensor) -> Tensor {
///         mean(abs2(w[0] * x .+ w[1] .- y))
///     }
///     let lossgradient = grad(loss)
///     let dw = lossgradient(w, x, y)       // [dw0, dw1]
///
/// Bind the result before calling it (`grad(f)(w, x)` does not type-check in Swift).
/// `grad(grad(f))` gives second derivatives.
public func grad<P: Params, each A>(_ f: @escaping (P, repeat each A) -> Tensor) -> (P, repeat each A) -> P {
    return { (w: P, args: repeat each A) -> P in
        differentiate(w, op: "grad") { f($0, repeat each args) }.gradient
    }
}

/// Like `grad`, returning `(gradient, loss)` from one forward and backward pass.
///
///     let gl = gradloss(loss)
///     let (dw, l) = gl(w, x, y)
public func gradloss<P: Params, each A>(_ f: @escaping (P, repeat each A) -> Tensor) -> (P, repeat each A) -> (P, Tensor) {
    return { (w: P, args: repeat each A) -> (P, Tensor) in
        differentiate(w, op: "gradloss") { f($0, repeat each args) }
    }
}

/// The gradient with respect to argument number `argnum` (0-based) of `f`, whose type
/// is `G` (a `Tensor` unless told otherwise).
///
///     let f = { (w: Tensor, x: Tensor) in sum(w .* x) }
///     let dfdx = grad(f, argnum: 1)
///     let dx = dfdx(w, x)     // == w
public func grad<each A, G: Params>(_ f: @escaping (repeat each A) -> Tensor, argnum: Int,
                                    of _: G.Type = Tensor.self) -> (repeat each A) -> G {
    return { (args: repeat each A) -> G in
        var position = 0, chosen: G?
        for arg in repeat each args {
            if position == argnum {
                guard let g = arg as? G else {
                    knetFail("grad: argument \(argnum) has type \(type(of: arg)), not \(G.self)")
                }
                chosen = g
            }
            position += 1
        }
        guard let w = chosen else { knetFail("grad: argnum \(argnum) is out of range for \(position) arguments") }
        return differentiate(w, op: "grad") { boxed in
            var i = 0
            func substitute<T>(_ x: T) -> T {
                defer { i += 1 }
                return i == argnum ? boxed as! T : x
            }
            return f(repeat substitute(each args))
        }.gradient
    }
}

/// The value of a possibly recorded tensor, detached from every tape (AutoGrad's
/// `value`). Use it to carry state such as RNN hidden states between minibatches
/// without keeping the tape alive.
///
///     h = value(h)
public func value(_ x: Tensor) -> Tensor { x.untracked }

/// Same as `value(_:)` (Knet's older name).
public func getval(_ x: Tensor) -> Tensor { x.untracked }

/// Runs `f(w, args...)` recording its forward pass on a tape exactly as `grad` does,
/// then drops the tape without backpropagating. It exists to measure what recording
/// costs (Knet's "forward with recording" benchmark row).
///
///     let loss = forwardRecorded(loss, w, x, y)
public func forwardRecorded<P: Params, each A>(_ f: (P, repeat each A) -> Tensor, _ w: P,
                                               _ args: repeat each A) -> Tensor {
    let tape = Tape()
    defer { tape.finish() }
    let boxed = w.mapTensors { tape.leaf($0) }
    return ThreadContext.recording { f(boxed, repeat each args) }.untracked
}
