/// Minibatches of a data set, made lazily: each batch slices instances (the last
/// dimension) out of the full arrays when the iteration reaches it, so no copy of the
/// whole data set is ever made. In order, a batch of `x` is a view sharing memory;
/// shuffled, it is a gather of just that batch. Every new iteration (`for ... in`) is
/// a new epoch and, with `shuffle`, draws a new order. Knet.jl's `minibatch`.
///
///     let dtrn = minibatch(xtrn, ytrn, 100, shuffle: true, seed: 1)
///     for (x, y) in dtrn { update(&w, lossgradient(w, x, y), &opt) }
///     dtrn.count   // 600 batches of 100 for 60000 instances
public struct Minibatch<Batch>: Sequence {
    /// Number of batches in an epoch: `instances / batchsize`, rounded up with
    /// `partial`, down without (the incomplete last batch is then dropped).
    public private(set) var count: Int
    /// Instances per batch (the last batch may have fewer with `partial`); for a shard,
    /// this process's part of each batch.
    public private(set) var batchsize: Int
    /// Number of instances (the size of the last dimension); for a shard, those this
    /// process sees in an epoch.
    public private(set) var instances: Int
    private(set) var order: EpochOrder?
    let makeBatch: (BatchSlice) -> Batch
    /// For a shard: this process's rank, the number of processes, and the whole batches it
    /// takes its part of.
    private(set) var shardOf: (rank: Int, processes: Int, batchsize: Int, instances: Int)?

    init(instances: Int, batchsize: Int, shuffle: Bool, partial: Bool, seed: Int?,
         makeBatch: @escaping (BatchSlice) -> Batch) {
        knetCheck(batchsize > 0, "minibatch: batchsize must be positive, got \(batchsize)")
        self.instances = instances
        self.batchsize = batchsize
        self.count = partial ? (instances + batchsize - 1) / batchsize : instances / batchsize
        self.order = shuffle ? EpochOrder(seed: seed) : nil
        self.makeBatch = makeBatch
    }

    /// The same batches (same order, same shuffling) passed through `transform`.
    private init(_ base: Minibatch, _ transform: @escaping (Batch) -> Batch) {
        (count, batchsize, instances, order, shardOf) = (base.count, base.batchsize, base.instances, base.order, base.shardOf)
        let make = base.makeBatch
        makeBatch = { transform(make($0)) }
    }

    /// Process `rank`'s part of every batch when `processes` processes train on these
    /// batches together (PyTorch's DistributedSampler): of each batch of the epoch — the
    /// same order on every process, so shuffle with a `seed` (the shard then draws the
    /// epochs these batches would draw next) or use `Distributed.shard`, which agrees on one —
    /// process r takes the instances at positions r, r + N, r + 2N… (N = `processes`), a
    /// disjoint `batchsize / N` of them, and together the processes see every batch whole.
    /// An incomplete last batch is dropped. Throws `DistributedError` when the batch size
    /// is not a multiple of N or `rank` is not in `0..<N`.
    ///
    ///     let mine = try minibatch(x, y, 100, shuffle: true, seed: 1).shard(rank: 1, of: 4)
    ///     mine.batchsize   // 25; mine.count is the unsharded count (full batches)
    public func shard(rank: Int, of processes: Int) throws -> Minibatch {
        guard processes > 0, rank >= 0, rank < processes else { throw DistributedError.invalidShard(rank: rank, processes: processes) }
        knetCheck(shardOf == nil, "shard: these batches are a shard already")
        guard batchsize % processes == 0 else { throw DistributedError.batchNotDivisible(batchsize: batchsize, processes: processes) }
        var s = self
        s.order = order?.copy()                   // the shard's epochs go on by themselves
        s.shardOf = (rank, processes, batchsize, instances)
        s.count = instances / batchsize
        s.batchsize = batchsize / processes
        s.instances = s.count * s.batchsize
        return s
    }

    /// The same batches with the shuffle order drawn from `seed`.
    func reseeded(_ seed: Int) -> Minibatch {
        var s = self
        if order != nil { s.order = EpochOrder(seed: seed) }
        return s
    }

    /// Starts an epoch (drawing a new order when shuffling).
    public func makeIterator() -> Iterator {
        Iterator(batches: self, permutation: order?.permutation(shardOf?.instances ?? instances))
    }

    /// The number of batches; lets `Array(dtrn)` allocate once.
    public var underestimatedCount: Int { count }

    /// One pass over the batches.
    public struct Iterator: IteratorProtocol {
        let batches: Minibatch
        let permutation: [Int]?
        var index = 0

        /// The next batch, or nil at the end of the epoch.
        public mutating func next() -> Batch? {
            guard index < batches.count else { return nil }
            if let shard = batches.shardOf {                   // this process's positions of the whole batch
                let lo = index * shard.batchsize
                index += 1
                let positions = stride(from: lo + shard.rank, to: lo + shard.batchsize, by: shard.processes)
                return batches.makeBatch(.list(positions.map { permutation?[$0] ?? $0 }))
            }
            let lo = index * batches.batchsize, hi = Swift.min(lo + batches.batchsize, batches.instances)
            index += 1
            if let p = permutation { return batches.makeBatch(.list(Array(p[lo..<hi]))) }
            return batches.makeBatch(.range(lo..<hi))
        }
    }
}

/// Minibatches of inputs `x` (instances along the last dimension) with integer class
/// labels `y` (one per instance, 0-based), as the MNIST tutorial uses them.
/// `shuffle` reorders instances every epoch; `seed` makes that order reproducible
/// (without it the order follows `setseed`); `partial` keeps a last smaller batch;
/// `xtype` converts the `x` batches (Knet's `xtype=Array{Float64}`); `device` is where
/// batches go (Knet's `xtype=KnetArray`): `device: .gpu(0)` yields GPU tensors.
///
///     let (xtrn, ytrn, xtst, ytst) = try mnist()
///     let dtrn = minibatch(xtrn, ytrn, 100)           // 600 × ([28,28,1,100], [Int])
public func minibatch(_ x: Tensor, _ y: [Int], _ batchsize: Int, shuffle: Bool = false, partial: Bool = false,
                      seed: Int? = nil, xtype: DType? = nil, device: Device? = nil) -> Minibatch<(Tensor, [Int])> {
    let n = instanceCount(x)
    knetCheck(y.count == n, "minibatch: \(y.count) labels for x of shape \(x.shape) (\(n) instances)")
    return Minibatch(instances: n, batchsize: batchsize, shuffle: shuffle, partial: partial, seed: seed) { i in
        (batchOf(x, i, xtype, device), i.select(y))
    }
}

/// Minibatches of `x` and tensor targets `y`, both with instances along the last
/// dimension (as the housing regression uses them). Options as for labels; `xtype`
/// converts only `x`, `device` moves both.
///
///     let (x, y) = try housing()
///     for (xb, yb) in minibatch(x, y, 32, shuffle: true) { ... }   // [13,32], [1,32]
public func minibatch(_ x: Tensor, _ y: Tensor, _ batchsize: Int, shuffle: Bool = false, partial: Bool = false,
                      seed: Int? = nil, xtype: DType? = nil, device: Device? = nil) -> Minibatch<(Tensor, Tensor)> {
    let n = instanceCount(x)
    knetCheck(instanceCount(y) == n, "minibatch: x of shape \(x.shape) and y of shape \(y.shape) differ in the last dimension")
    return Minibatch(instances: n, batchsize: batchsize, shuffle: shuffle, partial: partial, seed: seed) { i in
        (batchOf(x, i, xtype, device), batchOf(y, i, nil, device))
    }
}

/// Minibatches of `x` alone (instances along the last dimension).
///
///     for xb in minibatch(x, 64) { print(xb.shape) }
public func minibatch(_ x: Tensor, _ batchsize: Int, shuffle: Bool = false, partial: Bool = false,
                      seed: Int? = nil, xtype: DType? = nil, device: Device? = nil) -> Minibatch<Tensor> {
    Minibatch(instances: instanceCount(x), batchsize: batchsize, shuffle: shuffle, partial: partial, seed: seed) { i in
        batchOf(x, i, xtype, device)
    }
}

private func instanceCount(_ x: Tensor) -> Int {
    knetCheck(x.ndims >= 1, "minibatch: x must have at least one dimension (instances last), got shape \(x.shape)")
    return x.shape[x.ndims - 1]
}

/// The instances of one batch: consecutive (in order) or a list (shuffled).
enum BatchSlice {
    case range(Range<Int>)
    case list([Int])

    /// These instances' entries of `y`.
    func select(_ y: [Int]) -> [Int] {
        switch self {
        case .range(let r): return Array(y[r])
        case .list(let l): return l.map { y[$0] }
        }
    }

    /// The index of the last dimension that selects these instances.
    var index: TensorIndex {
        switch self {
        case .range(let r): return .range(r)
        case .list(let l): return .list(l)
        }
    }
}

/// The instances `i` (a range: a view; a list: a gathered copy) of `x`, converted and
/// placed as asked. Never recorded on a tape.
private func batchOf(_ x: Tensor, _ i: BatchSlice, _ dtype: DType?, _ device: Device?) -> Tensor {
    var b = x.untracked[[TensorIndex](repeating: .colon, count: x.ndims - 1) + [i.index]]
    if let dtype { b = convert(b, to: dtype) }
    if let device { b = b.transferred(to: device) }
    return b
}

/// The shuffling order of successive epochs: each call gives a new permutation. Seeded,
/// the sequence of permutations is fixed; otherwise each epoch's seed is drawn from the
/// package generator (so `setseed` makes it reproducible).
final class EpochOrder {
    private var generator: SplitMix?
    /// Whether the orders come from a seed of their own (else from the package generator).
    var isSeeded: Bool { generator != nil }

    init(seed: Int?) { generator = seed.map { SplitMix(seed: UInt64(bitPattern: Int64($0))) } }

    /// An order that goes on from this one's state independently (the same epochs next).
    func copy() -> EpochOrder {
        let c = EpochOrder(seed: nil)
        c.generator = generator
        return c
    }

    func permutation(_ n: Int) -> [Int] {
        if generator == nil {
            var g = SplitMix(seed: UInt64(RandomSource.shared.uniform() * 0x1p53))
            return g.permutation(n)
        }
        return generator!.permutation(n)
    }
}

extension Minibatch where Batch == Tensor {
    /// The same batches, moved to `device` as they are made (Knet's `xtype=KnetArray`).
    ///
    ///     for x in minibatch(xtrn, 100).to(.gpu(0)) { ... }
    public func to(_ device: Device) -> Minibatch { Minibatch(self) { $0.transferred(to: device) } }
    /// The same batches on the active GPU.
    public func gpu() -> Minibatch { to(.gpu(Knet.gpu())) }
}

extension Minibatch where Batch == (Tensor, [Int]) {
    /// The same batches with `x` moved to `device` as they are made (labels stay Swift arrays).
    ///
    ///     for (x, y) in minibatch(xtrn, ytrn, 100).to(.gpu(0)) { ... }
    public func to(_ device: Device) -> Minibatch { Minibatch(self) { ($0.0.transferred(to: device), $0.1) } }
    /// The same batches on the active GPU.
    public func gpu() -> Minibatch { to(.gpu(Knet.gpu())) }
}

extension Minibatch where Batch == (Tensor, Tensor) {
    /// The same batches with `x` and `y` moved to `device` as they are made.
    ///
    ///     for (x, y) in minibatch(x, y, 32).to(.gpu(0)) { ... }
    public func to(_ device: Device) -> Minibatch {
        Minibatch(self) { ($0.0.transferred(to: device), $0.1.transferred(to: device)) }
    }
    /// The same batches on the active GPU.
    public func gpu() -> Minibatch { to(.gpu(Knet.gpu())) }
}
