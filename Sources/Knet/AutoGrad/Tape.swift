import Synchronization

/// A recording of the primitive operations of one forward pass (AutoGrad.jl's tape).
/// A node is a few words: the primitive, its inputs and output as seen one level
/// down, and the tape positions of the inputs that are themselves recorded.
/// `grad` makes one tape per call; nested `grad` calls make nested tapes, and an
/// outer tape records the inner tape's backward pass (higher-order gradients).
final class Tape {
    struct Node {
        var primitive: Primitive?          // nil for a leaf (a parameter)
        var inputs: [Tensor]
        var output: Tensor?
        var parents: [Int]                 // tape index per input, -1 if constant
    }

    private static let counter = Atomic<Int>(0)
    /// Increasing id: a tape started later (inside another `grad`) is "inner".
    let id: Int
    var nodes: [Node] = []
    /// False once the `grad`/`diff` that owns the tape has returned: values boxed on
    /// it are constants from then on.
    var isActive = true

    init() {
        id = Tape.counter.add(1, ordering: .relaxed).newValue
        nodes.reserveCapacity(16)               // a small model's step without regrowing
    }

    /// Records `value` as a leaf (a parameter) and returns it boxed on this tape.
    func leaf(_ value: Tensor) -> Tensor {
        nodes.append(Node(primitive: nil, inputs: [], output: value, parents: []))
        return Tensor(boxing: value, on: self, at: nodes.count - 1)
    }

    /// Backpropagates from node `root` with seed gradient `seed` and returns the
    /// gradient of every leaf in `leaves` (nil where the root does not depend on it).
    /// Nodes are released as soon as they are processed, so memory falls during it.
    /// `observer` hears of each leaf's gradient as soon as it is final (see
    /// `BackwardObserver`) and of each node processed.
    func backward(from root: Int, seed: Tensor, leaves: [Int], observer: BackwardObserver? = nil) -> [Tensor?] {
        var grads = [Tensor?](repeating: nil, count: root + 1)
        grads[root] = seed
        var isLeaf = [Bool](repeating: false, count: root + 1)
        for leaf in leaves where leaf <= root { isLeaf[leaf] = true }
        // Accumulators this pass created itself: nothing else refers to them, so they
        // can be added into in place when no outer tape records the backward pass.
        var owned = [Bool](repeating: false, count: root + 1)
        func ownedAccumulator(_ parent: Int, like x: Tensor) -> Tensor {
            if owned[parent], let acc = grads[parent] { return acc }
            let acc: Tensor
            if let partial = grads[parent] {
                acc = Tensor(uninitialized: x.shape, dtype: x.dtype, device: x.device)
                Backend.on(acc.device).copy(from: partial, to: acc)
            } else {
                acc = Tensor.zeros(like: x)
            }
            grads[parent] = acc
            owned[parent] = true
            return acc
        }
        /// Adds node i's contributions to its parents' gradients and frees the node.
        func process(_ i: Int) {
            var node = Node(primitive: nil, inputs: [], output: nil, parents: [])
            swap(&node, &nodes[i])              // taken out (freed when this returns), not copied
            guard let dy = grads[i] else { return }
            guard let primitive = node.primitive, let y = node.output else { return }
            for (k, parent) in node.parents.enumerated() where parent >= 0 {
                if dy.tracker == nil, grads[parent]?.tracker == nil, let accumulate = primitive.accumulator(k) {
                    accumulate(ownedAccumulator(parent, like: node.inputs[k]), dy, node.inputs)
                    continue
                }
                guard let g = primitive.gradient(k, dy, y, node.inputs) else { continue }
                knetCheck(g.shape == node.inputs[k].shape,
                          "\(primitive.name): gradient of argument \(k) has shape \(g.shape), expected \(node.inputs[k].shape)")
                if let acc = grads[parent] {
                    if owned[parent] && g.tracker == nil && acc.tracker == nil {
                        Backend.on(acc.device).binary(.add, acc, g, into: acc)
                    } else {
                        grads[parent] = acc + g
                        owned[parent] = true      // a fresh sum, referenced only here
                    }
                } else {
                    grads[parent] = g             // may be shared (e.g. dy passed through)
                }
            }
            if !isLeaf[i] { grads[i] = nil; owned[i] = false }
        }
        // Leaves whose gradient is final after node i: readyAfter[i] (positions in `leaves`).
        var readyAfter: [[Int]] = []
        if let observer {
            readyAfter = [[Int]](repeating: [], count: root + 1)
            for (k, point) in readyPoints(nodes, root: root, leaves: leaves).enumerated() {
                if point >= 0 { readyAfter[point].append(k) } else { observer.gradientReady(k, leaves[k] <= root ? grads[leaves[k]] : nil) }
            }
        }
        for i in stride(from: root, through: 0, by: -1) {
            process(i)
            if let observer {
                for k in readyAfter[i] { observer.gradientReady(k, grads[leaves[k]]) }
                observer.operationProcessed()
            }
        }
        return leaves.map { $0 <= root ? grads[$0] : nil }
    }

    /// Ends recording: boxes on this tape become constants and nodes are freed.
    func finish() {
        isActive = false
        nodes.removeAll()
    }
}

/// The box that makes a tensor "recorded": which tape, which node, and the value one
/// level down (itself possibly recorded on an outer tape).
final class Tracker {
    let value: Tensor
    let tape: Tape
    let index: Int
    init(value: Tensor, tape: Tape, index: Int) {
        self.value = value; self.tape = tape; self.index = index
    }
}

extension Tensor {
    /// `value` boxed as node `index` of `tape`; shares its memory.
    convenience init(boxing value: Tensor, on tape: Tape, at index: Int) {
        self.init(storage: value.storage, shape: value.shape, strides: value.explicitStrides, offset: value.offset,
                  tracker: Tracker(value: value, tape: tape, index: index))
    }

    /// This tensor's box on `tape`, looking through boxes of other tapes.
    func tracker(on tape: Tape) -> Tracker? {
        var t = self
        while let tr = t.tracker {
            if tr.tape === tape { return tr }
            t = tr.value
        }
        return nil
    }

    /// The innermost active tape this tensor is recorded on.
    var innermostTape: Tape? {
        var t = self
        var best: Tape?
        while let tr = t.tracker {
            if tr.tape.isActive && tr.tape.id > (best?.id ?? -1) { best = tr.tape }
            t = tr.value
        }
        return best
    }
}
