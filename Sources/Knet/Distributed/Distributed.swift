import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The processes of one training job and the collective operations between them, over
/// OpenMPI found at run time (and NCCL for GPU tensors, when present): MLX's
/// `mlx.distributed`, PyTorch's `torch.distributed`. Start the job with
/// `mpirun -np N program`; a process started any other way, or on a machine without
/// OpenMPI, is a job of one (said once on stderr by `initialize`), where every
/// collective is the identity, so the same program runs everywhere.
///
/// Every process must make the same collective calls in the same order with tensors of
/// the same shape and dtype. Tensors may be of any dtype, on any device, and strided.
///
///     Distributed.initialize()
///     let g = Tensor([Double(Distributed.rank)])
///     Distributed.allReduce(g, .sum)                  // 0 + 1 + … + (size − 1) everywhere
///     if Distributed.isPrimary { print(g) }
public enum Distributed {
    /// Joins the job (at the first call; later calls return the same) and returns this
    /// process's rank and the number of processes. Under `mpirun` it initialises MPI
    /// and, when the machine has GPUs, makes GPU `localRank % gpuCount` the active one (one
    /// process per GPU). Otherwise — no OpenMPI (`libmpi.so.40`, or `$KNET_LIBMPI`), not
    /// started by a launcher, or `KNET_DISTRIBUTED=0` — the job is this process alone, and
    /// the first `initialize` says so (and why) on stderr. MPI is finalised when the process
    /// exits with status 0; any other exit status aborts the whole job (`MPI_Abort`),
    /// naming this rank. Everything else in `Distributed` joins silently at first use.
    ///
    ///     let (rank, size) = Distributed.initialize()
    @discardableResult
    public static func initialize() -> (rank: Int, size: Int) {
        let w = world
        if w.size == 1, announced.exchange(true, ordering: .relaxed) == false {
            let reason = (w.host as? SingleProcessTransport)?.reason ?? w.host.name
            fputs("Knet: running as one process (world size 1): \(reason)\n", stderr)
        }
        return (w.rank, w.size)
    }

    /// Whether `initialize` has said that the job is this process alone.
    private static let announced = Atomic<Bool>(false)

    /// True when this process was started by an MPI launcher (`mpirun`, `mpiexec`, or a
    /// PMIx launcher such as `srun --mpi=pmix`): what a program checks to call
    /// `initialize` only when it runs as part of a job.
    ///
    ///     if Distributed.isLaunchedByMPI { Distributed.initialize() }
    public static var isLaunchedByMPI: Bool { launchedByMPI(launcherEnvironment()) }

    /// This process's number in the job, 0..<size (joins the job at first use).
    public static var rank: Int { world.rank }
    /// The number of processes in the job (joins the job at first use).
    public static var size: Int { world.size }
    /// True on rank 0, the process that prints progress and writes checkpoints.
    ///
    ///     if Distributed.isPrimary { print("epoch \(epoch) loss \(loss)") }
    public static var isPrimary: Bool { world.rank == 0 }
    /// What carries the job, e.g. "2 processes over MPI (libmpi.so.40)" or "one process
    /// (not started by mpirun)".
    public static var summary: String {
        let w = world
        return w.size > 1 ? "\(w.size) processes over \(w.host.name)" : w.host.name
    }

    /// Returns once every process has called it.
    ///
    ///     Distributed.barrier()
    public static func barrier() { world.host.barrier() }

    /// Reduces `x` IN PLACE across the processes: afterwards every process's `x` holds the
    /// elementwise sum (mean, max, min) of all of them. Not recorded on a tape; use the
    /// differentiable `allReduce(_:_:)` inside a loss.
    ///
    ///     Distributed.allReduce(loss, .mean)     // the loss averaged over the job
    public static func allReduce(_ x: Tensor, _ op: AllReduceOp = .sum) {
        let w = world
        w.inPlace(x, "allReduce") { transport, t in transport.allReduce(t, op) }
        if op == .mean { scale(x, by: 1 / Double(w.size)) }
    }

    /// Overwrites `x` IN PLACE on every process with process `root`'s values (same shape
    /// and dtype everywhere).
    ///
    ///     Distributed.broadcast(w1)          // every process starts from rank 0's weights
    public static func broadcast(_ x: Tensor, root: Int = 0) {
        let w = world
        knetCheck(root >= 0 && root < w.size, "broadcast: root \(root) is not a rank of this job of \(w.size)")
        w.inPlace(x, "broadcast") { transport, t in transport.broadcast(t, root: root) }
    }

    /// Every process's `x`, concatenated in rank order along the last dimension (a 0-d
    /// tensor gives shape `[size]`), on `x`'s device. Every `x` must have the same shape.
    ///
    ///     let all = Distributed.allGather(Tensor([Double(Distributed.rank)]))   // [0, 1, …] everywhere
    public static func allGather(_ x: Tensor) -> Tensor {
        let w = world
        let shape = x.ndims == 0 ? [w.size] : Array(x.shape.dropLast()) + [x.shape[x.ndims - 1] * w.size]
        let out = Tensor(uninitialized: shape, dtype: x.dtype, device: x.device)
        let transport = w.transport(for: x.device)
        if transport.handles(x.device) {
            transport.allGather(x.untracked.contiguousData(), into: out)
        } else {
            let staged = Tensor(uninitialized: shape, dtype: x.dtype, device: .cpu)
            transport.allGather(x.untracked.transferred(to: .cpu), into: staged)
            Backend.on(out.device).upload(staged, into: out)
        }
        return out
    }

    /// Ends the whole job: prints `Knet: rank R of N: message` on stderr and aborts every
    /// process (`MPI_Abort`, exit status 1). In a job of one it prints the message and
    /// exits with status 1.
    ///
    ///     guard ok else { Distributed.abort("the data set differs between ranks") }
    public static func abort(_ message: String) -> Never {
        let w = world
        fputs("Knet: rank \(w.rank) of \(w.size): \(message); aborting the job\n", stderr)
        fflush(stderr)
        w.host.abort(1)
    }

    /// Runs `body`; when it throws in a job of several processes, the error ends the whole
    /// job with a message naming this rank (`abort`) instead of leaving the other
    /// processes waiting in a collective. In a job of one, or before `initialize`, the
    /// error is rethrown.
    ///
    ///     try Distributed.run { try train() }
    public static func run<R>(_ body: () throws -> R) rethrows -> R {
        do {
            return try body()
        } catch {
            if let w = activeWorld, w.size > 1 { abort("\(error)") }
            throw error
        }
    }

    /// Leaves the job now (`MPI_Finalize`); no collective may follow. Done by itself when
    /// the process exits with status 0, so a program rarely calls it.
    public static func finalize() { activeWorld?.host.finalize() }
}

// MARK: - the world

/// The job as this process sees it: the transport for host tensors (MPI or none) and,
/// made at first use per GPU, the one for device tensors (NCCL, when present).
final class World {
    let host: CollectiveTransport
    /// Makes the transport of a GPU's tensors (nil: stage them through the host).
    private let makeDeviceTransport: (Int) -> CollectiveTransport?
    private var deviceTransports: [Int: CollectiveTransport?] = [:]
    private let lock = Mutex<Void>(())

    var rank: Int { host.rank }
    var size: Int { host.size }

    init(host: CollectiveTransport, deviceTransport: @escaping (Int) -> CollectiveTransport? = { _ in nil }) {
        self.host = host
        self.makeDeviceTransport = deviceTransport
    }

    /// The transport for tensors on `device` (the host one unless a GPU has its own).
    func transport(for device: Device) -> CollectiveTransport {
        guard case .gpu(let n) = device else { return host }
        return lock.withLock { _ in
            if let made = deviceTransports[n] { return made ?? host }
            let made = makeDeviceTransport(n)
            deviceTransports[n] = made
            return made ?? host
        }
    }

    /// `body(transport, t)` on `x`'s data as a contiguous tensor the transport takes,
    /// staged through a copy (written back afterwards) when `x` is strided or on a device
    /// the transport cannot reach.
    func inPlace(_ x: Tensor, _ op: String, _ body: (CollectiveTransport, Tensor) -> Void) {
        let t = x.untracked
        let transport = transport(for: t.device)
        if transport.handles(t.device) && t.isContiguous { body(transport, t); return }
        let staged = transport.handles(t.device) ? t.contiguousData() : t.transferred(to: .cpu)
        body(transport, staged)
        Backend.on(t.device).copy(from: staged.transferred(to: t.device), to: t)
    }
}

/// `x *= factor` in place, on x's backend.
func scale(_ x: Tensor, by factor: Double) {
    let t = x.untracked
    Backend.on(t.device).binary(.mul, t, Tensor(scalar: factor, dtype: t.dtype, device: t.device), into: t)
}

extension Distributed {
    private static let installed = Mutex<World?>(nil)

    /// The job, joined at first use (see `initialize`).
    static var world: World {
        installed.withLock { w in
            if let w { return w }
            let made = startWorld()
            w = made
            return made
        }
    }

    /// The job if this process has joined one, without joining.
    static var activeWorld: World? { installed.withLock { $0 } }

    /// Makes `world` the job (tests: a job of one with another transport); nil forgets it.
    static func install(_ world: World?) { installed.withLock { $0 = world } }

    /// Joins the job the environment describes (see `initialize`).
    private static func startWorld() -> World {
        let environment = launcherEnvironment()
        func alone(_ reason: String) -> World {
            World(host: SingleProcessTransport(reason: reason))
        }
        if environment["KNET_DISTRIBUTED"] == "0" { return alone("KNET_DISTRIBUTED=0") }
        guard launchedByMPI(environment) else { return alone("not started by mpirun") }
        guard let mpi = MPILibrary.load() else {
            return alone("OpenMPI's libmpi.so.40 not found (set KNET_LIBMPI to its path)")
        }
        let transport = MPITransport(mpi)
        let world = World(host: transport, deviceTransport: { NCCLTransport.make(device: $0, over: transport) })
        if transport.size > 1 {
            failureHandler = { message in
                fputs("Knet: rank \(transport.rank) of \(transport.size): \(message); aborting the job\n", stderr)
                fflush(stderr)
                transport.abort(1)
            }
            if let local = environment["OMPI_COMM_WORLD_LOCAL_RANK"].flatMap(Int.init), let runtime = CUDARuntime.current,
               !runtime.backends.isEmpty {
                Knet.gpu(local % runtime.backends.count)
            }
        }
        finishAtExit()
        return world
    }

    /// At exit: status 0 finalises MPI; any other status aborts the job naming the rank
    /// (otherwise the others would wait for this process forever).
    private static func finishAtExit() {
        on_exit({ status, _ in
            guard let w = Distributed.activeWorld else { return }
            if status == 0 || w.size == 1 { w.host.finalize(); return }
            fputs("Knet: rank \(w.rank) of \(w.size) exited with status \(status); aborting the job\n", stderr)
            fflush(stderr)
            w.host.abort(status)
        }, nil)
    }
}
