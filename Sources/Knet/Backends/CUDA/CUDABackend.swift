#if canImport(Glibc)
import Glibc
#endif
import Synchronization

// The GPU backend: `ComputeBackend` on one CUDA device. Every kernel runs on the device's
// one stream, in order; reads to the host wait for it. Device memory comes from the
// device's caching allocator, so a training loop in steady state allocates nothing.

/// The CUDA backend of one GPU.
final class CUDABackend: ComputeBackend, @unchecked Sendable {
    /// `.gpu(ordinal)`.
    let device: Device
    /// The device as the driver describes it.
    let gpu: GPUDevice
    let driver: CUDADriver
    let blas: CUBLAS?
    /// cuDNN, when the runtime uses it.
    let dnn: CUDNN?
    /// Device memory, cached per size class (`gpuMemoryStats`).
    let allocator: CachingAllocator
    private let kernels: KernelCache
    private let session = Mutex<Session?>(nil)
    /// The most partial sums `sumOfSquares` adds on the host.
    private let sumOfSquaresParts = 1024
    /// `sumOfSquares`' partial sums, made at first use and held while one call uses them
    /// (gradient clipping then allocates nothing).
    private let partialSums = Mutex<Tensor?>(nil)

    /// What the backend creates at first use, in the device's primary context.
    struct Session {
        let stream: CUDADriver.Stream
        let blasHandle: CUBLAS.Handle?
        /// nil without cuDNN, or when its handle could not be made (reported on stderr).
        let dnnHandle: CUDNN.Handle?
        let functions: [String: CUDADriver.Function]
    }

    init(driver: CUDADriver, blas: CUBLAS?, dnn: CUDNN?, device: GPUDevice, kernels: KernelCache) {
        self.driver = driver
        self.blas = blas
        self.dnn = dnn
        self.gpu = device
        self.device = .gpu(device.ordinal)
        self.kernels = kernels
        allocator = CachingAllocator(source: CUDAMemory(driver: driver, device: device))
    }

    /// Runs `body` with the session (created at first use) after making the device's
    /// context current on this thread; a driver failure stops with a message naming `op`.
    @discardableResult
    func run<R>(_ op: String, _ body: (Session) throws -> R) -> R {
        do {
            try driver.activate(gpu)
            let s = try session.withLock { s -> Session in
                if let s { return s }
                let stream = try driver.createStream()
                let handle = try blas.map { try $0.createHandle(stream: stream) }
                let made = Session(stream: stream, blasHandle: handle, dnnHandle: dnnHandle(stream),
                                   functions: try kernels.load(for: gpu))
                s = made
                return made
            }
            return try body(s)
        } catch {
            knetFail("\(op) on \(device): \(error)")
        }
    }

    /// A cuDNN handle on `stream`, or nil without cuDNN or when cuDNN cannot start here (a
    /// version that does not match the driver, say: reported, and the own kernels run).
    private func dnnHandle(_ stream: CUDADriver.Stream) -> CUDNN.Handle? {
        guard let dnn else { return nil }
        do { return try dnn.createHandle(stream: stream) }
        catch {
            fputs("Knet: cuDNN (\(dnn.library)) is not usable on \(device): \(error); convolution and pooling use Knet's kernels\n", stderr)
            return nil
        }
    }

    /// Waits for all work queued on the device's stream.
    func synchronize() { run("synchronize") { try driver.synchronize($0.stream) } }

    // MARK: launching

    /// One kernel parameter.
    enum Argument {
        /// The device address of a tensor's first element.
        case tensor(Tensor)
        /// A C `long`.
        case int(Int)
        /// A C `int`.
        case int32(Int32)
        /// A C `double`.
        case double(Double)
        /// A C `unsigned long long`.
        case uint64(UInt64)
        /// A struct passed by value, as 64-bit words.
        case words([Int])
    }

    /// Launches kernel `name` over `count` elements (grid-stride: 256 threads a block, at
    /// most 65535 blocks) with `arguments`; nothing runs when `count` is 0.
    func launch(_ name: String, count: Int, _ arguments: [Argument]) {
        guard count > 0 else { return }
        run("kernel \(name)") { s in
            guard let function = s.functions[name] else {
                throw GPUError.driver(call: "cuModuleGetFunction(\(name))", message: "no such kernel")
            }
            let words = arguments.map { a -> [UInt64] in
                switch a {
                case .tensor(let t): return [address(t)]
                case .int(let v): return [UInt64(bitPattern: Int64(v))]
                case .int32(let v): return [UInt64(UInt32(bitPattern: v))]
                case .double(let v): return [v.bitPattern]
                case .uint64(let v): return [v]
                case .words(let w): return w.map { UInt64(bitPattern: Int64($0)) }
                }
            }
            let total = words.reduce(0) { $0 + $1.count }
            let arena = UnsafeMutablePointer<UInt64>.allocate(capacity: Swift.max(total, 1))
            defer { arena.deallocate() }
            var pointers: [UnsafeMutableRawPointer?] = []
            var at = 0
            for w in words {
                (arena + at).initialize(from: w, count: w.count)
                pointers.append(UnsafeMutableRawPointer(arena + at))
                at += w.count
            }
            let blocks = Swift.min((count + 255) / 256, 65535)
            try driver.launch(function, blocks: blocks, threads: 256, arguments: pointers, stream: s.stream)
        }
    }

    /// The device address of `t`'s first element.
    func address(_ t: Tensor) -> UInt64 {
        guard case .cuda(let ordinal, let base) = t.storage.buffer, ordinal == gpu.ordinal else {
            knetFail("internal: a tensor on \(t.device) reached the backend of \(device)")
        }
        return base + UInt64(t.offset * t.dtype.size)
    }

    /// The kernel-name suffix of `t`'s dtype ("32" or "64").
    func suffix(_ t: Tensor) -> String { CUDAKernelSource.suffix(t.dtype) }

    /// A device array of C `long`s (the bit patterns in a Float64 tensor), for index lists.
    func longs(_ values: [Int]) -> Tensor {
        let host = Tensor(uninitialized: [values.count], dtype: .float64, device: .cpu)
        host.withUnsafeMutableHostBytes { raw in
            for (i, v) in values.enumerated() { raw.storeBytes(of: Int64(v), toByteOffset: 8 * i, as: Int64.self) }
        }
        return host.transferred(to: device)
    }

    // MARK: memory and transfers

    func upload(_ host: Tensor, into y: Tensor) {
        let bytes = y.count * y.dtype.size
        guard bytes > 0 else { return }
        run("upload") { s in
            try host.withUnsafeHostBytes { try driver.copy(toDevice: address(y), from: $0.baseAddress!, bytes: bytes, stream: s.stream) }
        }
    }

    func download(_ x: Tensor, into host: Tensor) {
        let bytes = x.count * x.dtype.size
        guard bytes > 0 else { return }
        run("download") { s in
            try host.withUnsafeMutableHostBytes { try driver.copy(toHost: $0.baseAddress!, from: address(x), bytes: bytes, stream: s.stream) }
            try driver.synchronize(s.stream)
        }
    }

    func copy(from x: Tensor, to y: Tensor) {
        if x.isContiguous && y.isContiguous && x.count == y.count {
            let bytes = y.count * y.dtype.size
            guard bytes > 0 else { return }
            run("copy") { try driver.copy(deviceToDevice: address(y), from: address(x), bytes: bytes, stream: $0.stream) }
            return
        }
        let (shape, strides) = mergedDims(y.shape, [broadcastStrides(x, to: y.shape), y.strides])
        launch("copy_\(suffix(y))", count: y.count,
               [.tensor(x), .tensor(y), .int(y.count), .words(CUDAKernelSource.stridedLayout(shape, strides[0], strides[1]))])
    }

    func convert(_ x: Tensor, into y: Tensor) {
        guard x.dtype != y.dtype else { return copy(from: x, to: y) }
        launch("convert_\(suffix(x))_\(suffix(y))", count: y.count, [.tensor(x), .tensor(y), .int(y.count)])
    }

    func fill(_ y: Tensor, _ value: Double) {
        let (shape, strides) = mergedDims(y.shape, [y.strides])
        launch("fill_\(suffix(y))", count: y.count,
               [.tensor(y), .int(y.count), .double(value),
                .words(CUDAKernelSource.stridedLayout(shape, strides[0], [Int](repeating: 0, count: shape.count)))])
    }

    func randomFill(_ y: Tensor, _ distribution: RandomDistribution, key: UInt64, counter: UInt64) {
        let (kind, a, b): (Int32, Double, Double)
        switch distribution {
        case .uniform(let scale, let shift): (kind, a, b) = (0, shift, scale)
        case .normal(let mean, let std): (kind, a, b) = (1, mean, std)
        case .bernoulli(let p, let value): (kind, a, b) = (2, p, value)
        }
        launch("random_\(suffix(y))", count: y.count,
               [.tensor(y), .int(y.count), .uint64(key), .uint64(counter), .int32(kind), .double(a), .double(b)])
    }

    // MARK: elementwise, reductions, indexing

    func unary(_ op: UnaryOp, _ x: Tensor, into y: Tensor) {
        launch("\(op.name)_\(suffix(y))", count: y.count, [.tensor(x), .tensor(y), .int(y.count)])
    }

    func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, into y: Tensor) {
        let n = y.count, name = "\(op.name)_\(suffix(y))"
        if y.isContiguous && a.isContiguous && b.isContiguous && (a.count == n || a.count == 1) && (b.count == n || b.count == 1) {
            let variant = a.count == n ? (b.count == n ? "ss" : "vs") : (b.count == n ? "sv" : "ss")
            return launch("\(name)_\(variant)", count: n, [.tensor(a), .tensor(b), .tensor(y), .int(n)])
        }
        guard y.isContiguous else {                     // the broadcast kernel writes densely
            let dense = Tensor(uninitialized: y.shape, dtype: y.dtype, device: device)
            binary(op, a, b, into: dense)
            return copy(from: dense, to: y)
        }
        let (shape, strides) = mergedDims(y.shape, [broadcastStrides(a, to: y.shape), broadcastStrides(b, to: y.shape), y.strides])
        launch("\(name)_bc", count: n,
               [.tensor(a), .tensor(b), .tensor(y), .int(n),
                .words(CUDAKernelSource.broadcastLayout(shape: shape, xStrides: strides[0], yStrides: strides[1]))])
    }

    func reduce(_ op: ReduceOp, _ x: Tensor, into y: Tensor) {
        var keepShape: [Int] = [], keepStrides: [Int] = [], redShape: [Int] = [], redStrides: [Int] = []
        for d in x.shape.indices where x.shape[d] != 1 {
            if d < y.ndims && y.shape[d] == x.shape[d] { keepShape.append(x.shape[d]); keepStrides.append(x.stride(d)) }
            else { redShape.append(x.shape[d]); redStrides.append(x.stride(d)) }
        }
        let keep = mergedDims(keepShape, [keepStrides]), red = mergedDims(redShape, [redStrides])
        reduce(op, x, keep: keep, reduce: red, into: y)
    }

    /// `y[o] = op over r of x[keep(o) + reduce(r)]`, in two passes when there are few
    /// outputs and many elements each (partial results in a scratch tensor).
    private func reduce(_ op: ReduceOp, _ x: Tensor, keep: (shape: [Int], strides: [[Int]]),
                        reduce red: (shape: [Int], strides: [[Int]]), into y: Tensor) {
        let nOut = keep.shape.reduce(1, *), nRed = red.shape.reduce(1, *)
        let parts = nOut >= 4096 || nRed < 256 ? 1 : Swift.min((nRed + 63) / 64, Swift.max(1, 65536 / nOut))
        let name = "reduce_\(op)_\(suffix(x))"
        let layout = CUDAKernelSource.reduceLayout(keepShape: keep.shape, keepStrides: keep.strides.first ?? [],
                                                   reduceShape: red.shape, reduceStrides: red.strides.first ?? [])
        guard parts > 1 else {
            return launch(name, count: nOut, [.tensor(x), .tensor(y), .int(nOut), .int(nRed), .int(1), .words(layout)])
        }
        let partial = Tensor(uninitialized: [nOut * parts], dtype: x.dtype, device: device)
        launch(name, count: nOut * parts, [.tensor(x), .tensor(partial), .int(nOut), .int(nRed), .int(parts), .words(layout)])
        let second = CUDAKernelSource.reduceLayout(keepShape: [nOut], keepStrides: [1], reduceShape: [parts], reduceStrides: [nOut])
        launch(name, count: nOut, [.tensor(partial), .tensor(y), .int(nOut), .int(parts), .int(1), .words(second)])
    }

    func sumOfSquares(_ x: Tensor) -> Double {
        let parts = Swift.max(1, Swift.min(sumOfSquaresParts, x.count / 4096))
        return partialSums.withLock { buffer in
            let all = buffer ?? Tensor(uninitialized: [sumOfSquaresParts], dtype: .float64, device: device)
            buffer = all
            let partial = all.view(shape: [parts], strides: nil, offset: 0)
            launch("sumsq_\(suffix(x))", count: parts, [.tensor(x), .tensor(partial), .int(x.count), .int(parts)])
            return [Double](partial).reduce(0, +)
        }
    }

    func gather(_ x: Tensor, dim: Int, indices: [Int], into y: Tensor) {
        let inner = x.shape.prefix(dim).reduce(1, *)
        launch("gather_\(suffix(y))", count: y.count,
               [.tensor(x), .tensor(y), .tensor(longs(indices)), .int(inner), .int(x.size(dim)), .int(indices.count), .int(y.count)])
    }

    func scatter(_ y: Tensor, dim: Int, indices: [Int], into x: Tensor, accumulate: Bool) {
        let inner = x.shape.prefix(dim).reduce(1, *)
        var targets = indices
        if !accumulate {                                // the last of repeated indices wins, as on the CPU
            var seen = Set<Int>()
            for j in targets.indices.reversed() where !seen.insert(targets[j]).inserted { targets[j] = -1 }
        }
        launch("scatter_\(suffix(y))", count: y.count,
               [.tensor(y), .tensor(x), .tensor(longs(targets)), .int(inner), .int(x.size(dim)), .int(indices.count),
                .int(y.count), .int32(accumulate ? 1 : 0)])
    }

    // MARK: matrix products

    func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
              a: Tensor, lda: Int, b: Tensor, ldb: Int, beta: Double, c: Tensor, ldc: Int) {
        guard m > 0 && n > 0 else { return }
        run("gemm") { s in
            guard let blas, let handle = s.blasHandle else { throw GPUError.driver(call: "cuBLAS", message: "no libcublas found") }
            try blas.gemm(handle, dtype: c.dtype, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                          a: address(a), lda: lda, b: address(b), ldb: ldb, beta: beta, c: address(c), ldc: ldc)
        }
    }

    func batchedGemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                     a: Tensor, lda: Int, strideA: Int, b: Tensor, ldb: Int, strideB: Int,
                     c: Tensor, ldc: Int, strideC: Int, batch: Int) {
        guard m > 0 && n > 0 && batch > 0 else { return }
        run("batched gemm") { s in
            guard let blas, let handle = s.blasHandle else { throw GPUError.driver(call: "cuBLAS", message: "no libcublas found") }
            try blas.gemmStridedBatched(handle, dtype: c.dtype, transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1,
                                        a: address(a), lda: lda, strideA: strideA, b: address(b), ldb: ldb, strideB: strideB,
                                        beta: 0, c: address(c), ldc: ldc, strideC: strideC, batch: batch)
        }
    }

    // MARK: losses and optimizers

    func nllLoss(_ x: Tensor, _ layout: ClassLayout, scale: Double) -> Tensor {
        let count = layout.labels.count
        let terms = Tensor(uninitialized: [count], dtype: x.dtype, device: device)
        launch("nll_loss_\(suffix(x))", count: count,
               [.tensor(x), .tensor(terms), .tensor(longs(layout.labels)), .int(layout.inner), .int(layout.classes),
                .int(count), .double(scale)])
        let total = Tensor(uninitialized: [], dtype: x.dtype, device: device)
        reduce(.sum, terms, keep: ([], []), reduce: ([count], [[1]]), into: total)
        return total
    }

    func nllGradient(_ x: Tensor, _ layout: ClassLayout, scale: Double, dy: Tensor, into dx: Tensor) {
        let count = layout.labels.count
        launch("nll_grad_\(suffix(x))", count: count,
               [.tensor(x), .tensor(dx), .tensor(longs(layout.labels)), .tensor(dy), .int(layout.inner),
                .int(layout.classes), .int(count), .double(scale)])
    }

    func optimizerStep(_ rule: OptimizerRule, _ w: Tensor, _ g: Tensor, state: [Tensor], _ adjustment: GradientAdjustment) {
        let (code, h): (Int32, [Double])
        switch rule {
        case .sgd(let lr): (code, h) = (0, [lr])
        case .momentum(let lr, let gamma, let nesterov): (code, h) = (1, [lr, gamma, nesterov ? 1 : 0])
        case .adagrad(let lr, let eps): (code, h) = (2, [lr, eps])
        case .rmsprop(let lr, let rho, let eps): (code, h) = (3, [lr, rho, eps])
        case .adadelta(let lr, let rho, let eps): (code, h) = (4, [lr, rho, eps])
        case .adam(let lr, let b1, let b2, let eps, let c1, let c2): (code, h) = (5, [lr, b1, b2, eps, c1, c2])
        }
        let s = state + [w, w]                          // unused state slots point at w (never written)
        launch("optimizer_\(suffix(w))", count: w.count,
               [.int32(code), .tensor(w), .tensor(g), .tensor(s[0]), .tensor(s[1]), .int(w.count),
                .double(adjustment.scale), .double(adjustment.l1reg), .double(adjustment.l2reg)]
               + (h + [Double](repeating: 0, count: 6 - h.count)).map { .double($0) })
    }
}

/// `shape` with size-1 dims dropped and neighbouring dims merged where every stride set
/// walks them as one (`stride[d+1] == stride[d]·shape[d]`), so the kernels' 8-dim layouts
/// serve tensors of any rank that are views of few-dim memory. Stops when more than 8
/// dims remain.
func mergedDims(_ shape: [Int], _ strides: [[Int]]) -> (shape: [Int], strides: [[Int]]) {
    var outShape: [Int] = [], out = strides.map { _ in [Int]() }
    for d in shape.indices where shape[d] != 1 {
        if let last = outShape.indices.last, strides.indices.allSatisfy({ strides[$0][d] == out[$0][last] * outShape[last] }) {
            outShape[last] *= shape[d]
        } else {
            outShape.append(shape[d])
            for k in strides.indices { out[k].append(strides[k][d]) }
        }
    }
    knetCheck(outShape.count <= CUDAKernelSource.maxBroadcastDims,
              "GPU: a strided view of shape \(shape) has more than \(CUDAKernelSource.maxBroadcastDims) dims that cannot be merged")
    return (outShape, out)
}
