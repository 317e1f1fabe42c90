#if canImport(Glibc)
import Glibc
#endif

/// Collectives over `MPI_COMM_WORLD` on host tensors, through OpenMPI found at run time.
/// Counts above `Int32.max` elements are cut into several calls (MPI counts are C ints).
///
///     let mpi = try MPITransport(MPILibrary.load()!)
///     mpi.allReduce(x, .sum)
final class MPITransport: CollectiveTransport {
    let mpi: MPILibrary
    let rank: Int
    let size: Int
    var name: String { "MPI (\(mpi.library))" }

    /// Joins the job: `MPI_Init_thread` asking for `MPI_THREAD_SERIALIZED` (the training loop
    /// may run on any thread, one at a time), unless MPI is initialised already. A process
    /// waiting in a collective yields its core (`OMPI_MCA_mpi_yield_when_idle=1`, unless the
    /// environment says otherwise): where processes share cores, a busy-waiting one takes the
    /// core from the very process it waits for (measured here: the MLP's 6000 steps on 2
    /// processes took 31 s spinning, 2.8 s yielding, on a loaded 2-core machine).
    init(_ mpi: MPILibrary) {
        self.mpi = mpi
        var flag: Int32 = 0
        _ = mpi.initialized(&flag)
        if flag == 0 {
            setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0)
            var provided: Int32 = 0
            MPITransport.check(mpi.initThread(nil, nil, MPILibrary.threadSerialized, &provided), "MPI_Init_thread")
        }
        var r: Int32 = 0, s: Int32 = 0
        MPITransport.check(mpi.commRank(mpi.commWorld, &r), "MPI_Comm_rank")
        MPITransport.check(mpi.commSize(mpi.commWorld, &s), "MPI_Comm_size")
        (rank, size) = (Int(r), Int(s))
    }

    /// Stops naming `call` when an MPI call fails (OpenMPI's default handler aborts first).
    static func check(_ rc: Int32, _ call: String) {
        knetCheck(rc == 0, "\(call) failed with MPI error \(rc)")
    }

    func handles(_ device: Device) -> Bool { device == .cpu }

    func barrier() { MPITransport.check(mpi.barrier(mpi.commWorld), "MPI_Barrier") }

    /// `body(pointer, count)` over pieces of at most `Int32.max` elements of contiguous host `x`.
    private func pieces(_ x: Tensor, _ body: (UnsafeMutableRawPointer, Int32) -> Void) {
        x.withUnsafeMutableHostBytes { bytes in
            let step = Int(Int32.max), elementSize = x.dtype.size
            for start in stride(from: 0, to: x.count, by: step) {
                body(bytes.baseAddress! + start * elementSize, Int32(Swift.min(step, x.count - start)))
            }
        }
    }

    func allReduce(_ x: Tensor, _ op: AllReduceOp) {
        pieces(x) { p, n in
            MPITransport.check(mpi.allreduce(MPILibrary.inPlace, p, n, mpi.datatype(x.dtype), mpi.operation(op), mpi.commWorld),
                               "MPI_Allreduce")
        }
    }

    /// A reduction in flight: the MPI requests of its pieces.
    final class Pending: PendingReduce {
        var requests: [MPILibrary.Request] = []
        var done = false
    }

    func startAllReduce(_ x: Tensor, _ op: AllReduceOp) -> PendingReduce {
        let pending = Pending(buffer: x)
        pieces(x) { p, n in
            var request: MPILibrary.Request = nil
            MPITransport.check(mpi.iallreduce(MPILibrary.inPlace, p, n, mpi.datatype(x.dtype), mpi.operation(op), mpi.commWorld,
                                              &request), "MPI_Iallreduce")
            pending.requests.append(request)
        }
        return pending
    }

    func progress(_ pending: [PendingReduce]) {
        for case let p as Pending in pending where !p.done {
            var flag: Int32 = 0
            MPITransport.check(mpi.testall(Int32(p.requests.count), &p.requests, &flag, nil), "MPI_Testall")
            p.done = flag != 0
        }
    }

    func wait(_ pending: [PendingReduce]) {
        for case let p as Pending in pending where !p.done {
            MPITransport.check(mpi.waitall(Int32(p.requests.count), &p.requests, nil), "MPI_Waitall")
            p.done = true
        }
    }

    func broadcast(_ x: Tensor, root: Int) {
        pieces(x) { p, n in MPITransport.check(mpi.bcast(p, n, mpi.datatype(x.dtype), Int32(root), mpi.commWorld), "MPI_Bcast") }
    }

    func allGather(_ x: Tensor, into y: Tensor) {
        let bytes = x.count * x.dtype.size
        knetCheck(bytes <= Int(Int32.max), "allGather: \(x.count) elements of \(x.dtype) per process exceed MPI's 2 GB count")
        x.withUnsafeMutableHostBytes { send in
            y.withUnsafeMutableHostBytes { receive in
                MPITransport.check(mpi.allgather(send.baseAddress, Int32(bytes), mpi.byte, receive.baseAddress, Int32(bytes),
                                                 mpi.byte, mpi.commWorld), "MPI_Allgather")
            }
        }
    }

    func broadcast(_ values: inout [Int64], root: Int) {
        let n = Int32(values.count)
        values.withUnsafeMutableBytes { b in
            MPITransport.check(mpi.bcast(b.baseAddress, n, mpi.int64, Int32(root), mpi.commWorld), "MPI_Bcast")
        }
    }

    func abort(_ code: Int32) -> Never {
        _ = mpi.abort(mpi.commWorld, code)
        exit(code)                          // MPI_Abort does not return; in case it does
    }

    func finalize() {
        var flag: Int32 = 0
        _ = mpi.finalized(&flag)
        if flag == 0 { _ = mpi.finalize() }
    }
}
