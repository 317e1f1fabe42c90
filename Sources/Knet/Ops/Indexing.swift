/// One index of a subscript: a whole dim, one position (the dim is dropped, as in
/// Julia), a contiguous range (a view), or a list of positions (a copy).
public enum TensorIndex: Sendable {
    /// Every position of the dim (Julia's `:`); written `.all`.
    case colon
    /// One position; the dim is dropped from the result.
    case at(Int)
    /// Positions `lo..<hi`; the result is a view sharing memory.
    case range(Range<Int>)
    /// Arbitrary positions, repeats allowed (gathers a copy; its gradient scatters and
    /// adds, as for embeddings).
    case list([Int])
}

/// Anything usable inside `x[...]`: `Int`, `Range<Int>`, `ClosedRange<Int>`,
/// partial ranges, `[Int]` and `.all`.
public protocol TensorIndexConvertible {
    /// This index as a `TensorIndex`, given the size of its dim.
    func tensorIndex(size: Int) -> TensorIndex
}

extension TensorIndex: TensorIndexConvertible {
    /// Itself.
    public func tensorIndex(size: Int) -> TensorIndex { self }
}
extension TensorIndexConvertible where Self == TensorIndex {
    /// Every position of the dim: `x[.all, 0]` is the first column.
    public static var all: TensorIndex { TensorIndex.colon }
}
extension Int: TensorIndexConvertible {
    /// `.at(self)`.
    public func tensorIndex(size: Int) -> TensorIndex { .at(self) }
}
extension Range: TensorIndexConvertible where Bound == Int {
    /// `.range(self)`.
    public func tensorIndex(size: Int) -> TensorIndex { .range(self) }
}
extension ClosedRange: TensorIndexConvertible where Bound == Int {
    /// `.range(lower..<upper+1)`.
    public func tensorIndex(size: Int) -> TensorIndex { .range(lowerBound..<(upperBound + 1)) }
}
extension PartialRangeFrom: TensorIndexConvertible where Bound == Int {
    /// `.range(lower..<size)`.
    public func tensorIndex(size: Int) -> TensorIndex { .range(lowerBound..<size) }
}
extension PartialRangeUpTo: TensorIndexConvertible where Bound == Int {
    /// `.range(0..<upper)`.
    public func tensorIndex(size: Int) -> TensorIndex { .range(0..<upperBound) }
}
extension Array: TensorIndexConvertible where Element == Int {
    /// `.list(self)`.
    public func tensorIndex(size: Int) -> TensorIndex { .list(self) }
}

/// A subscript resolved against a shape: the strided region it selects and how the
/// result is shaped.
struct IndexPlan {
    var regionShape: [Int] = []       // per source dim: 1 for .at, range/list length
    var regionOffset = 0              // element offset relative to the tensor's first element
    var listDim: Int? = nil
    var list: [Int] = []
    var resultShape: [Int] = []       // regionShape without the .at dims

    init(_ indices: [TensorIndex], shape: [Int], strides: [Int]) {
        knetCheck(indices.count == shape.count,
                  "getindex: \(indices.count) indices for a tensor of shape \(shape)")
        for (d, index) in indices.enumerated() {
            let n = shape[d]
            switch index {
            case .colon:
                regionShape.append(n); resultShape.append(n)
            case .at(let i):
                knetCheck(i >= 0 && i < n, "getindex: index \(i) out of range 0..<\(n) in dim \(d) of shape \(shape)")
                regionShape.append(1); regionOffset += i * strides[d]
            case .range(let r):
                knetCheck(r.lowerBound >= 0 && r.upperBound <= n,
                          "getindex: range \(r) out of bounds 0..<\(n) in dim \(d) of shape \(shape)")
                regionShape.append(r.count); resultShape.append(r.count); regionOffset += r.lowerBound * strides[d]
            case .list(let l):
                precondition(listDim == nil, "IndexPlan takes one list; getindex and assign split the others off")
                knetCheck(l.allSatisfy { $0 >= 0 && $0 < n },
                          "getindex: list \(l) has positions out of range 0..<\(n) in dim \(d) of shape \(shape)")
                listDim = d; list = l
                regionShape.append(l.count); resultShape.append(l.count)
            }
        }
    }

    /// The selected region of `x` as a view with `regionShape` (for plans without a list).
    func region(of x: Tensor) -> Tensor {
        x.view(shape: regionShape, strides: x.strides, offset: x.offset + regionOffset)
    }

    /// The region of `x` with the list dim at its full size (a view).
    func fullRegion(of x: Tensor) -> Tensor {
        var shape = regionShape
        if let d = listDim { shape[d] = x.shape[d] }
        return x.view(shape: shape, strides: x.strides, offset: x.offset + regionOffset)
    }

    /// The selected elements of `x` as a fresh contiguous tensor shaped `regionShape`.
    func gather(_ x: Tensor) -> Tensor {
        let y = Tensor(uninitialized: regionShape, dtype: x.dtype, device: x.device)
        Backend.on(x.device).gather(fullRegion(of: x).contiguousData(), dim: listDim!, indices: list, into: y)
        return y
    }

    /// Copies (or, with `accumulate`, adds) contiguous `source` shaped like `regionShape`
    /// into the selected elements of `target`.
    func write(_ source: Tensor, into target: Tensor, accumulate: Bool) {
        let backend = Backend.on(target.device)
        guard let d = listDim else {
            let t = region(of: target)
            if accumulate { backend.binary(.add, t, source, into: t) } else { backend.copy(from: source, to: t) }
            return
        }
        let full = fullRegion(of: target)
        let dense = full.contiguousData()          // a copy only when the region is strided
        backend.scatter(source, dim: d, indices: list, into: dense, accumulate: accumulate)
        if dense !== full { backend.copy(from: dense, to: full) }
    }
}

/// Lists of positions in several dims select their outer product, as in Julia
/// (`x[[2, 0], .all, [1, 1, 3]]` has shape `[2, n, 3]`). Such an index is taken one list
/// at a time: `first` applies every index but the later lists (kept whole), `rest` then
/// applies those lists to the dims they became (each `.at` dim is gone by then).
private func splitLists(_ indices: [TensorIndex]) -> (first: [TensorIndex], rest: [TensorIndex])? {
    let listDims = indices.indices.filter { indices[$0].isList }
    guard listDims.count > 1 else { return nil }
    let first = indices.enumerated().map { d, index in d != listDims[0] && index.isList ? TensorIndex.colon : index }
    let rest = indices.enumerated().filter { !$0.element.isAt }
        .map { d, index in d != listDims[0] && index.isList ? index : TensorIndex.colon }
    return (first, rest)
}

/// The primitive `x[indices]`; its gradient scatters `dy` back with `ungetindex`.
func getindex(_ x: Tensor, _ indices: [TensorIndex]) -> Tensor {
    if let (first, rest) = splitLists(indices) { return getindex(getindex(x, first), rest) }
    let plan = IndexPlan(indices, shape: x.shape, strides: x.strides)
    let sourceShape = x.shape, contiguous = x.isContiguous
    return apply(Primitive("getindex", forward: { xs in
        let x = xs[0]
        if plan.listDim == nil {
            let r = plan.region(of: x)
            let strides = indices.indices.filter { !indices[$0].isAt }.map { r.strides[$0] }
            return r.view(shape: plan.resultShape, strides: strides, offset: r.offset)
        }
        return plan.gather(x).view(shape: plan.resultShape, strides: nil, offset: 0)
    }, gradients: [{ dy, _, _ in ungetindex(dy, sourceShape, indices) }],
       accumulators: [{ acc, dy, _ in      // acc: the tape's fresh contiguous tensor of x's shape
        let gradientPlan = contiguous ? plan
            : IndexPlan(indices, shape: sourceShape, strides: Tensor.columnMajorStrides(sourceShape))
        let d = dy.untracked.contiguousData()
        gradientPlan.write(d.view(shape: gradientPlan.regionShape, strides: nil, offset: d.offset), into: acc, accumulate: true)
    }]), [x])
}

/// Zeros of `shape` with `dy` added at `indices`: the gradient of `getindex`, itself
/// differentiable (its gradient is `getindex` again).
func ungetindex(_ dy: Tensor, _ shape: [Int], _ indices: [TensorIndex]) -> Tensor {
    let plan = IndexPlan(indices, shape: shape, strides: Tensor.columnMajorStrides(shape))
    return apply(Primitive("ungetindex", forward: { xs in
        let z = Tensor.fill(0, shape: shape, dtype: xs[0].dtype, device: xs[0].device)
        let d = xs[0].contiguousData()
        plan.write(d.view(shape: plan.regionShape, strides: nil, offset: d.offset),
                   into: z, accumulate: true)
        return z
    }, gradients: [{ ddz, _, _ in getindex(ddz, indices) }]), [dy])
}

extension TensorIndex {
    var isAt: Bool { if case .at = self { return true } else { return false } }
    var isList: Bool { if case .list = self { return true } else { return false } }
}

extension Tensor {
    /// Indices resolved against this tensor; one index on an n-d tensor (n > 1) is a
    /// linear index over `vec(x)`, as in Julia.
    private func resolve(_ indices: [any TensorIndexConvertible]) -> (Tensor, [TensorIndex]) {
        if indices.count == 1 && ndims != 1 {
            let v = vec(self)
            return (v, [indices[0].tensorIndex(size: count)])
        }
        knetCheck(indices.count == ndims, "getindex: \(indices.count) indices for a tensor of shape \(shape)")
        return (self, indices.enumerated().map { $1.tensorIndex(size: shape[$0]) })
    }

    /// Indexing with one index per dim (0-based), Julia semantics: an `Int` drops its
    /// dim, ranges give views sharing memory, `[Int]` lists gather a copy. Differentiable.
    /// Assignment writes into the selected elements (not allowed while recorded).
    ///
    ///     let col = x[.all, 3]          // column 3, shape [rows]
    ///     let top = x[0..<2, .all]      // rows 0 and 1, a view
    ///     x[.all, 0] = Tensor.zeros(x.shape[0])
    public subscript(_ indices: any TensorIndexConvertible...) -> Tensor {
        get { let (t, i) = resolve(indices); return getindex(t, i) }
        set {
            if indices.count == 1 && ndims != 1 && !isContiguous {
                switch indices[0].tensorIndex(size: count) {
                case .at(let i):                   // one element: its position in each dim
                    knetCheck(i >= 0 && i < count, "setindex: index \(i) out of range 0..<\(count) of shape \(shape)")
                    var rest = i
                    assign(newValue, at: shape.map { n in defer { rest /= n }; return .at(rest % n) })
                    return
                case .colon:                       // as the contiguous path: the value must fit [count]
                    knetCheck(broadcastShape("setindex", [count], newValue.shape) == [count],
                              "setindex: value of shape \(newValue.shape) does not fit the selection [\(count)]")
                    assign(newValue.count == count ? reshape(newValue.untracked, shape) : newValue.untracked)
                    return
                default: break
                }
                // vec() of a strided view is a copy: assign there, then write it all back.
                let flat = vec(self).untracked
                flat.assign(newValue, at: [indices[0].tensorIndex(size: count)])
                assign(reshape(flat, shape))
                return
            }
            let (t, i) = resolve(indices)
            t.assign(newValue, at: i)
        }
    }

    /// Indexing with an array of resolved indices.
    public subscript(_ indices: [TensorIndex]) -> Tensor {
        get { getindex(self, indices) }
        set { assign(newValue, at: indices) }
    }

    /// Writes `value` (broadcast to the selection's shape) into the selected elements.
    func assign(_ value: Tensor, at indices: [TensorIndex]) {
        exclusiveWrite("setindex", [self]) { assignUnguarded(value, at: indices) }
    }

    /// `assign(_:at:)` once this thread is the tensor's writer.
    private func assignUnguarded(_ value: Tensor, at indices: [TensorIndex]) {
        knetCheck(!isRecorded, "setindex: cannot assign into a tensor that is being recorded by grad")
        checkCompatible("setindex", self, value)
        if let listDim = indices.firstIndex(where: \.isList), splitLists(indices) != nil {
            assignOuterProduct(value, at: indices, listDim: listDim)
            return
        }
        let plan = IndexPlan(indices, shape: shape, strides: strides)
        let target = plan.regionShape
        let expanded = value.untracked
        knetCheck(broadcastShape("setindex", plan.resultShape, value.shape) == plan.resultShape,
                  "setindex: value of shape \(value.shape) does not fit the selection \(plan.resultShape)")
        // Lay the value out over regionShape (re-inserting the dropped dims as size 1).
        let full = Tensor(uninitialized: target, dtype: dtype, device: device)
        let kept = indices.indices.filter { !indices[$0].isAt }
        var strides = [Int](repeating: 0, count: target.count)
        for (k, d) in kept.enumerated() where k < expanded.ndims && expanded.shape[k] != 1 { strides[d] = expanded.strides[k] }
        Backend.on(device).copy(from: expanded.view(shape: target, strides: strides, offset: expanded.offset), to: full)
        plan.write(full, into: self, accumulate: false)
    }

    /// `assign` with lists in several dims: for each position of the first list, the
    /// matching slice of the value (broadcast to the whole selection first) goes to the
    /// selection with that list's dim fixed.
    private func assignOuterProduct(_ value: Tensor, at indices: [TensorIndex], listDim: Int) {
        guard case .list(let positions) = indices[listDim] else { return }
        let selection = indices.enumerated().compactMap { d, index -> Int? in
            switch index {
            case .at: return nil
            case .colon: return shape[d]
            case .range(let r): return r.count
            case .list(let l): return l.count
            }
        }
        knetCheck(broadcastShape("setindex", selection, value.shape) == selection,
                  "setindex: value of shape \(value.shape) does not fit the selection \(selection)")
        let full = broadcast(value.untracked, to: selection)
        let valueDim = indices[..<listDim].filter { !$0.isAt }.count
        for (k, position) in positions.enumerated() {
            var fixed = indices
            fixed[listDim] = .at(position)
            var slice = selection.map { _ in TensorIndex.colon }
            slice[valueDim] = .at(k)
            assign(getindex(full, slice), at: fixed)
        }
    }

    /// Sets every element of this tensor (or view) to `value`, in place (one thread at a
    /// time: a second thread writing it meanwhile is a usage error).
    ///
    ///     x[.all, 0].assign(0)
    public func assign(_ value: Double) {
        knetCheck(!isRecorded, "assign: cannot assign into a tensor that is being recorded by grad")
        exclusiveWrite("assign", [self]) { Backend.on(device).fill(self, value) }
    }

    /// Copies `value` (broadcast to this shape) into this tensor or view, in place (one
    /// thread at a time: a second thread writing it meanwhile is a usage error).
    public func assign(_ value: Tensor) {
        assign(value, at: shape.map { _ in .all })
    }
}
