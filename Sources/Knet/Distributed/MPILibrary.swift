#if canImport(Glibc)
import Glibc
#endif

// OpenMPI's C API found with dlopen (DESIGN.md principle 4): nothing of MPI is needed to
// build Knet or to run it as one process. OpenMPI's handles (`MPI_COMM_WORLD`,
// `MPI_FLOAT`, `MPI_SUM`...) are the addresses of exported globals (`ompi_mpi_comm_world`,
// `ompi_mpi_float`, `ompi_mpi_op_sum`), so they are looked up with dlsym like functions.
// MPICH and its derivatives use integer handles instead; they are not bound.

/// The entry points and handles of OpenMPI's `libmpi.so.40` that Knet uses.
///
///     if let mpi = MPILibrary.load() { print(mpi.library) }   // "libmpi.so.40"
struct MPILibrary: @unchecked Sendable {
    /// An MPI handle: a pointer to one of OpenMPI's objects.
    typealias Handle = UnsafeMutableRawPointer
    /// `MPI_Request`: a pointer to an OpenMPI request object.
    typealias Request = UnsafeMutableRawPointer?

    /// The name the library was opened by.
    let library: String
    /// `MPI_COMM_WORLD`.
    let commWorld: Handle
    /// `MPI_FLOAT`, `MPI_DOUBLE`, `MPI_INT64_T`, `MPI_BYTE`.
    let float, double, int64, byte: Handle
    /// `MPI_SUM`, `MPI_MAX`, `MPI_MIN`.
    let sum, max, min: Handle

    typealias InitThread = @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, Int32,
                                           UnsafeMutablePointer<Int32>) -> Int32
    typealias Flag = @convention(c) (UnsafeMutablePointer<Int32>) -> Int32
    typealias NoArguments = @convention(c) () -> Int32
    typealias CommInt = @convention(c) (Handle, UnsafeMutablePointer<Int32>) -> Int32
    typealias Comm = @convention(c) (Handle) -> Int32
    typealias Allreduce = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, Handle, Handle, Handle) -> Int32
    typealias Iallreduce = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, Handle, Handle, Handle,
                                           UnsafeMutablePointer<Request>) -> Int32
    typealias Waitall = @convention(c) (Int32, UnsafeMutablePointer<Request>, UnsafeMutableRawPointer?) -> Int32
    typealias Testall = @convention(c) (Int32, UnsafeMutablePointer<Request>, UnsafeMutablePointer<Int32>,
                                        UnsafeMutableRawPointer?) -> Int32
    typealias Bcast = @convention(c) (UnsafeMutableRawPointer?, Int32, Handle, Int32, Handle) -> Int32
    typealias Allgather = @convention(c) (UnsafeRawPointer?, Int32, Handle, UnsafeMutableRawPointer?, Int32, Handle, Handle) -> Int32
    typealias Abort = @convention(c) (Handle, Int32) -> Int32

    let initThread: InitThread
    let initialized: Flag
    let finalized: Flag
    let finalize: NoArguments
    let commRank: CommInt
    let commSize: CommInt
    let barrier: Comm
    let allreduce: Allreduce
    let iallreduce: Iallreduce
    let waitall: Waitall
    let testall: Testall
    let bcast: Bcast
    let allgather: Allgather
    let abort: Abort

    /// OpenMPI's `MPI_IN_PLACE` (`(void *) 1`).
    static let inPlace = UnsafeMutableRawPointer(bitPattern: 1)!
    /// `MPI_THREAD_SERIALIZED`: any thread may call MPI, one at a time.
    static let threadSerialized: Int32 = 2

    /// The library names tried: `$KNET_LIBMPI`, then `libmpi.so.40` (OpenMPI 3 to 5), `libmpi.so`.
    static var candidates: [String] { libraryCandidates("libmpi", versions: ["40"], override: "KNET_LIBMPI") }

    /// Binds the first of `candidates` that opens and exports everything (opened
    /// `RTLD_GLOBAL`, as OpenMPI's plug-ins expect); nil when none does (no MPI, or an
    /// MPI without OpenMPI's ABI).
    static func load(_ candidates: [String] = MPILibrary.candidates) -> MPILibrary? {
        DynamicLibrary.firstBinding(candidates, global: true) { MPILibrary($0) }
    }

    /// The bindings of `lib`, or nil when one symbol is missing.
    init?(_ lib: DynamicLibrary) {
        func handle(_ name: String) -> Handle? { lib.address(name) }
        guard let commWorld = handle("ompi_mpi_comm_world"), let float = handle("ompi_mpi_float"),
              let double = handle("ompi_mpi_double"), let int64 = handle("ompi_mpi_int64_t"), let byte = handle("ompi_mpi_byte"),
              let sum = handle("ompi_mpi_op_sum"), let max = handle("ompi_mpi_op_max"), let min = handle("ompi_mpi_op_min"),
              let initThread = lib.function("MPI_Init_thread", as: InitThread.self),
              let initialized = lib.function("MPI_Initialized", as: Flag.self),
              let finalized = lib.function("MPI_Finalized", as: Flag.self),
              let finalize = lib.function("MPI_Finalize", as: NoArguments.self),
              let commRank = lib.function("MPI_Comm_rank", as: CommInt.self),
              let commSize = lib.function("MPI_Comm_size", as: CommInt.self),
              let barrier = lib.function("MPI_Barrier", as: Comm.self),
              let allreduce = lib.function("MPI_Allreduce", as: Allreduce.self),
              let iallreduce = lib.function("MPI_Iallreduce", as: Iallreduce.self),
              let waitall = lib.function("MPI_Waitall", as: Waitall.self),
              let testall = lib.function("MPI_Testall", as: Testall.self),
              let bcast = lib.function("MPI_Bcast", as: Bcast.self),
              let allgather = lib.function("MPI_Allgather", as: Allgather.self),
              let abort = lib.function("MPI_Abort", as: Abort.self)
        else { return nil }
        library = lib.name
        (self.commWorld, self.float, self.double, self.int64, self.byte) = (commWorld, float, double, int64, byte)
        (self.sum, self.max, self.min) = (sum, max, min)
        (self.initThread, self.initialized, self.finalized, self.finalize) = (initThread, initialized, finalized, finalize)
        (self.commRank, self.commSize, self.barrier) = (commRank, commSize, barrier)
        (self.allreduce, self.iallreduce, self.waitall, self.testall) = (allreduce, iallreduce, waitall, testall)
        (self.bcast, self.allgather, self.abort) = (bcast, allgather, abort)
    }

    /// The `MPI_Datatype` of `dtype`.
    func datatype(_ dtype: DType) -> Handle { dtype == .float32 ? float : double }

    /// The `MPI_Op` of `op` (mean is a sum, scaled by the caller).
    func operation(_ op: AllReduceOp) -> Handle {
        switch op {
        case .sum, .mean: return sum
        case .max: return max
        case .min: return min
        }
    }
}

/// The MPI launchers' environment: set in every process `mpirun`/`mpiexec` (OpenMPI's,
/// or a PMIx launcher such as Slurm's `srun --mpi=pmix`) starts.
///
///     launchedByMPI(["OMPI_COMM_WORLD_SIZE": "2"])   // true
func launchedByMPI(_ environment: [String: String]) -> Bool {
    environment["OMPI_COMM_WORLD_SIZE"] != nil || environment["PMIX_RANK"] != nil
}

/// The variables of the process environment that `launchedByMPI` and the GPU choice read.
func launcherEnvironment() -> [String: String] {
    var out: [String: String] = [:]
    for name in ["OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "PMIX_RANK", "KNET_DISTRIBUTED"] {
        if let v = getenv(name) { out[name] = String(cString: v) }
    }
    return out
}
