/// Watches one backward pass: told the moment each parameter's gradient is final, while
/// the pass goes on through the earlier layers (PyTorch's per-parameter autograd hooks,
/// on which DDP starts all-reducing a bucket of gradients during the backward pass).
///
/// Parameter `k` is the k-th tensor of `w.tensors`. Its gradient is final once the pass
/// has processed the first operation of the forward pass that used it: nothing the pass
/// does afterwards adds to it. The order is the reverse of first use, so for a layered
/// model roughly the reverse of the parameter order.
///
///     final class Order: BackwardObserver {
///         var ready: [Int] = []
///         func gradientReady(_ k: Int, _ gradient: Tensor?) { ready.append(k) }
///     }
///     let order = Order()
///     let lossgradient = gradloss(loss, observer: order)
///     let (dw, l) = lossgradient(w, x, y)       // order.ready == [3, 2, 1, 0] for a 2-layer MLP
public protocol BackwardObserver: AnyObject {
    /// Parameter `k`'s gradient is final: `gradient` (nil when the loss does not depend on
    /// it: zero). Called once per parameter. The tensor may share memory with values the
    /// pass still uses: read or copy it, never write into it.
    func gradientReady(_ k: Int, _ gradient: Tensor?)
    /// Called after each operation of the tape is processed (e.g. to let communication in
    /// flight progress). Does nothing unless implemented.
    func operationProcessed()
}

extension BackwardObserver {
    /// Nothing by default.
    public func operationProcessed() {}
}

/// `gradloss(f)` that tells `observer` each parameter gradient the moment it is final
/// during the backward pass (see `BackwardObserver`).
///
///     let gl = gradloss(loss, observer: order)
///     let (dw, l) = gl(w, x, y)
public func gradloss<P: Params, each A>(_ f: @escaping (P, repeat each A) -> Tensor,
                                        observer: BackwardObserver) -> (P, repeat each A) -> (P, Tensor) {
    return { (w: P, args: repeat each A) -> (P, Tensor) in
        differentiate(w, op: "gradloss", observer: observer) { f($0, repeat each args) }
    }
}

/// For each leaf of `leaves` (by its position k), the tape index after whose processing
/// its gradient is final: its first consumer among nodes `0...root`; -1 when no node
/// uses it (its gradient is final before the pass starts: the seed for the root, else zero).
func readyPoints(_ nodes: [Tape.Node], root: Int, leaves: [Int]) -> [Int] {
    var firstUse = [Int](repeating: -1, count: root + 1)
    var isLeaf = [Bool](repeating: false, count: root + 1)
    for leaf in leaves where leaf <= root { isLeaf[leaf] = true }
    for i in 0...root {
        for parent in nodes[i].parents where parent >= 0 && isLeaf[parent] && firstUse[parent] < 0 { firstUse[parent] = i }
    }
    return leaves.map { $0 <= root ? firstUse[$0] : -1 }
}
