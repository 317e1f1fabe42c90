/// Data-parallel training as PyTorch's DistributedDataParallel does it: every process
/// holds the whole model, trains on its own shard of each minibatch, and the gradients
/// are averaged across the job before each update, so the parameters stay identical
/// everywhere and training with N processes on batches of B/N computes what one process
/// does on batches of B.
///
/// - `broadcastParameters` gives every process rank 0's parameters at the start.
/// - `gradloss` averages the gradients in buckets (see `BucketPlan`: about 25 MB, in
///   reverse parameter order) whose non-blocking all-reduce (`MPI_Iallreduce`) starts as
///   soon as the backward pass has finished every gradient of the bucket, while it goes
///   on through the earlier layers (`BackwardObserver`); `MPI_Waitall` ends the step.
///   With `overlap: false` every bucket starts after the backward pass instead.
/// - `shard` gives each process its part of every batch (DistributedSampler).
///
/// `Trainer(w, opt, dataParallel: DataParallel())` does all three; a hand-written loop:
///
///     Distributed.initialize()
///     let dp = DataParallel()
///     dp.broadcastParameters(w)
///     let lossgradient = dp.gradloss(loss)
///     for (x, y) in try dp.shard(minibatch(xtrn, ytrn, 100, shuffle: true, seed: 1)) {
///         let (g, _) = lossgradient(w, x, y)      // the job's average gradient
///         update(&w, g, &opt)
///     }
///
/// The averaged gradients are constants (not recorded on an outer tape); use the
/// differentiable `allReduce(_:_:)` for losses that mix processes.
public final class DataParallel {
    /// The size at which a bucket closes, after the first one (PyTorch's `bucket_cap_mb`, 25 MB).
    public let bucketBytes: Int
    /// The size at which the first bucket closes (1 MB, as PyTorch: the last layers' small
    /// bucket starts early).
    public let firstBucketBytes: Int
    /// Whether buckets start all-reducing during the backward pass (true) or after it.
    public let overlap: Bool
    /// What the latest `gradloss` step did.
    public private(set) var lastStep = StepReport(buckets: 0, startedDuringBackward: 0, bytes: 0)

    /// One step's communication: how many buckets (all-reduces), how many of them started
    /// before the backward pass ended, and the bytes reduced.
    public struct StepReport: Sendable, Equatable {
        /// All-reduces in the step.
        public var buckets: Int
        /// Those started while the backward pass was still running.
        public var startedDuringBackward: Int
        /// Bytes all-reduced (this process's gradients).
        public var bytes: Int
    }

    private var plan: (key: [String], plan: BucketPlan)?

    /// Data-parallel training over the processes of `Distributed` (joined now if not yet).
    /// `bucketBytes: 0` gives every tensor its own all-reduce.
    ///
    ///     let dp = DataParallel(bucketBytes: 25 << 20, overlap: true)
    public init(bucketBytes: Int = 25 << 20, firstBucketBytes: Int = 1 << 20, overlap: Bool = true) {
        knetCheck(bucketBytes >= 0 && firstBucketBytes >= 0,
                  "DataParallel: bucket sizes must be >= 0, got \(bucketBytes) and \(firstBucketBytes)")
        self.bucketBytes = bucketBytes
        self.firstBucketBytes = firstBucketBytes
        self.overlap = overlap
        Distributed.initialize()
    }

    /// This process's rank.
    public var rank: Int { Distributed.rank }
    /// The number of processes.
    public var size: Int { Distributed.size }
    /// True on rank 0 (print and save there).
    public var isPrimary: Bool { Distributed.isPrimary }

    /// Overwrites every tensor of `w` in place with rank `root`'s, so that all processes
    /// start from the same parameters.
    ///
    ///     dp.broadcastParameters(w)
    public func broadcastParameters<P: Params>(_ w: P, root: Int = 0) {
        for t in w.tensors { Distributed.broadcast(t, root: root) }
    }

    /// `gradloss(f)` whose gradient is the average over the job of every process's
    /// gradient, all-reduced in buckets during the backward pass; the loss is this
    /// process's own. Every process must call it in the same order.
    ///
    ///     let lossgradient = dp.gradloss(loss)
    ///     let (g, l) = lossgradient(w, x, y)
    public func gradloss<P: Params, each A>(_ f: @escaping (P, repeat each A) -> Tensor) -> (P, repeat each A) -> (P, Tensor) {
        return { (w: P, args: repeat each A) -> (P, Tensor) in
            let reducer = GradientReducer(self.bucketPlan(for: w.tensors), world: Distributed.world, overlap: self.overlap)
            let (_, loss) = differentiate(w, op: "DataParallel.gradloss", observer: reducer) { f($0, repeat each args) }
            let averaged = reducer.finish(like: w.tensors)
            self.lastStep = reducer.report
            var i = 0
            return (w.mapTensors { _ in defer { i += 1 }; return averaged[i] }, loss)
        }
    }

    /// `grad(f)` averaged over the job (see `gradloss`).
    ///
    ///     let lossgradient = dp.grad(loss)
    ///     let g = lossgradient(w, x, y)
    public func grad<P: Params, each A>(_ f: @escaping (P, repeat each A) -> Tensor) -> (P, repeat each A) -> P {
        let gl = gradloss(f)
        return { (w: P, args: repeat each A) -> P in gl(w, repeat each args).0 }
    }

    /// The average over the job of gradients computed some other way (one bucketed
    /// all-reduce after the fact, no overlap), e.g. by a model's own training loop.
    ///
    ///     update(&w, dp.average(lossgradient(w, x, y)), &opt)
    public func average<P: Params>(_ g: P) -> P {
        let tensors = g.tensors
        let reducer = GradientReducer(bucketPlan(for: tensors), world: Distributed.world, overlap: false)
        for (k, t) in tensors.enumerated() { reducer.gradientReady(k, t) }
        let averaged = reducer.finish(like: tensors)
        var i = 0
        return g.mapTensors { _ in defer { i += 1 }; return averaged[i] }
    }

    /// This process's part of every batch of `data` (see `Minibatch.shard(rank:of:)`);
    /// an unseeded shuffle gets a seed from rank 0 so that every process draws the same
    /// epoch orders. Throws `DistributedError.batchNotDivisible` unless the batch size is
    /// a multiple of the number of processes.
    ///
    ///     for (x, y) in try dp.shard(minibatch(xtrn, ytrn, 100, shuffle: true)) { ... }
    public func shard<Batch>(_ data: Minibatch<Batch>) throws -> Minibatch<Batch> {
        try Distributed.shard(data)
    }

    /// The plan for tensors like `tensors`, made once per set of shapes.
    private func bucketPlan(for tensors: [Tensor]) -> BucketPlan {
        let key = tensors.map { "\($0.count) \($0.dtype) \($0.device)" }
        if let plan, plan.key == key { return plan.plan }
        let made = BucketPlan(tensors.map { ($0.count, $0.dtype, $0.device) }, firstBucketBytes: firstBucketBytes, bucketBytes: bucketBytes)
        plan = (key, made)
        return made
    }
}

extension Distributed {
    /// This process's part of every batch of `data` (see `DataParallel.shard`).
    ///
    ///     let dtrn = try Distributed.shard(minibatch(xtrn, ytrn, 100))
    public static func shard<Batch>(_ data: Minibatch<Batch>) throws -> Minibatch<Batch> {
        var data = data
        if let order = data.order, !order.isSeeded {      // every process must draw the same orders
            var seed = [Int64(bitPattern: UInt64(RandomSource.shared.uniform() * 0x1p53))]
            world.host.broadcast(&seed, root: 0)
            data = data.reseeded(Int(seed[0]))
        }
        return try data.shard(rank: rank, of: size)
    }
}

/// The `BackwardObserver` of one data-parallel step: copies each final gradient into its
/// bucket, starts a bucket's all-reduce once it is full (in bucket order, the same on
/// every process), lets MPI progress after every tape operation, and at the end waits for
/// all and divides by the number of processes. A bucket's buffer lives on its tensors'
/// device when that device's transport takes it (NCCL for a GPU), else on the host.
final class GradientReducer: BackwardObserver {
    let plan: BucketPlan
    let world: World
    let overlap: Bool
    /// Per bucket: its transport and the device of its buffer.
    private let transports: [CollectiveTransport]
    private let bufferDevices: [Device]
    private var buffers: [Tensor?]
    private var missing: [Int]
    private var pending: [(transport: CollectiveTransport, reduce: PendingReduce)] = []
    private var launched = 0
    private var inBackward = true
    private(set) var report = DataParallel.StepReport(buckets: 0, startedDuringBackward: 0, bytes: 0)

    init(_ plan: BucketPlan, world: World, overlap: Bool) {
        self.plan = plan
        self.world = world
        self.overlap = overlap
        transports = plan.buckets.map { world.transport(for: $0.device) }
        bufferDevices = zip(plan.buckets, transports).map { bucket, transport in transport.handles(bucket.device) ? bucket.device : .cpu }
        buffers = [Tensor?](repeating: nil, count: plan.buckets.count)
        missing = plan.buckets.map(\.slots.count)
    }

    func gradientReady(_ k: Int, _ gradient: Tensor?) {
        let (b, s) = plan.location[k]
        let bucket = plan.buckets[b], slot = bucket.slots[s], device = bufferDevices[b]
        if buffers[b] == nil { buffers[b] = Tensor(uninitialized: [bucket.count], dtype: bucket.dtype, device: device) }
        let region = buffers[b]!.view(shape: [slot.count], strides: nil, offset: slot.offset)
        if let g = gradient?.untracked {
            knetCheck(g.count == slot.count && g.dtype == bucket.dtype,
                      "DataParallel: gradient \(k) is \(g.dtype)\(g.shape), its parameter has \(slot.count) elements of \(bucket.dtype)")
            let source = g.device == device ? g.contiguousData() : g.transferred(to: device)
            Backend.on(device).copy(from: source.reshaped([slot.count]), to: region)
        } else {
            Backend.on(device).fill(region, 0)
        }
        missing[b] -= 1
        if overlap { launchFullBuckets() }
    }

    func operationProcessed() {
        for p in pending { p.transport.progress([p.reduce]) }
    }

    /// Starts the next buckets in order while they are full.
    private func launchFullBuckets() {
        while launched < plan.buckets.count && missing[launched] == 0 {
            let transport = transports[launched]
            pending.append((transport, transport.startAllReduce(buffers[launched]!, .sum)))
            report.buckets += 1
            report.bytes += plan.buckets[launched].bytes
            if inBackward { report.startedDuringBackward += 1 }
            launched += 1
        }
    }

    /// After the backward pass: starts what is left, waits for everything, averages, and
    /// returns each tensor's gradient (a view of its bucket, on `tensors[k]`'s device, in
    /// its shape).
    func finish(like tensors: [Tensor]) -> [Tensor] {
        inBackward = false
        knetCheck(missing.allSatisfy { $0 == 0 }, "DataParallel: the backward pass did not report every gradient")
        launchFullBuckets()
        for p in pending { p.transport.wait([p.reduce]) }
        var averaged = [Tensor?](repeating: nil, count: tensors.count)
        for (b, bucket) in plan.buckets.enumerated() {
            var buffer = buffers[b]!
            if world.size > 1 { scale(buffer, by: 1 / Double(world.size)) }
            if buffer.device != bucket.device { buffer = buffer.transferred(to: bucket.device) }
            for slot in bucket.slots {
                averaged[slot.tensor] = buffer.view(shape: tensors[slot.tensor].shape, strides: nil, offset: slot.offset)
            }
        }
        return averaged.map { $0! }
    }
}

extension Double {
    /// This value averaged over the processes of `dataParallel`'s job (itself without a
    /// job): a loss or accuracy each process computed on its shards. A collective: every
    /// process calls it at the same point.
    ///
    ///     let loss = (total / Double(myBatches.count)).jobMean(dp)
    public func jobMean(_ dataParallel: DataParallel?) -> Double {
        guard dataParallel != nil else { return self }
        let t = Tensor(scalar: self, dtype: .float64)
        Distributed.allReduce(t, .mean)
        return t.scalar
    }
}
