import CKnetCPU
#if canImport(Glibc)
import Glibc
#endif

// NCCL (`libnccl.so.2`) found with dlopen: the collectives of GPU tensors, one process per
// GPU, queued on the GPU backend's stream so that they run in order with the kernels
// around them. The communicator's unique id is made by rank 0 and broadcast over MPI.

/// The NCCL entry points Knet uses, bound from a library found at run time.
///
///     if let nccl = NCCLLibrary.shared { print(nccl.library, nccl.version) }   // "libnccl.so.2" 22105
struct NCCLLibrary: @unchecked Sendable {
    /// `ncclComm_t`.
    typealias Comm = OpaquePointer
    typealias GetVersion = @convention(c) (UnsafeMutablePointer<Int32>) -> Int32
    typealias GetUniqueId = @convention(c) (UnsafeMutablePointer<knet_nccl_unique_id>) -> Int32
    typealias CommInitRank = @convention(c) (UnsafeMutablePointer<Comm?>, Int32, knet_nccl_unique_id, Int32) -> Int32
    typealias AllReduce = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int, Int32, Int32, Comm?, OpaquePointer?) -> Int32
    typealias Broadcast = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int, Int32, Int32, Comm?, OpaquePointer?) -> Int32
    typealias AllGather = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int, Int32, Comm?, OpaquePointer?) -> Int32
    typealias CommDestroy = @convention(c) (Comm?) -> Int32
    typealias ErrorString = @convention(c) (Int32) -> UnsafePointer<CChar>?

    /// The name the library was opened by.
    let library: String
    /// NCCL's version code (major·10000 + minor·100 + patch since 2.9).
    let version: Int32
    let getUniqueId: GetUniqueId
    let commInitRank: CommInitRank
    let allReduce: AllReduce
    let broadcast: Broadcast
    let allGather: AllGather
    let commDestroy: CommDestroy
    let errorString: ErrorString

    /// `ncclFloat32`, `ncclFloat64`.
    static func datatype(_ dtype: DType) -> Int32 { dtype == .float32 ? 7 : 8 }

    /// `ncclSum`, `ncclMax`, `ncclMin` (mean is a sum, scaled by the caller).
    static func operation(_ op: AllReduceOp) -> Int32 {
        switch op {
        case .sum, .mean: return 0
        case .max: return 2
        case .min: return 3
        }
    }

    /// This machine's NCCL (`$KNET_LIBNCCL`, `libnccl.so.2`, `libnccl.so`), or nil.
    static let shared: NCCLLibrary? = DynamicLibrary.firstBinding(
        libraryCandidates("libnccl", versions: ["2"], override: "KNET_LIBNCCL")) { NCCLLibrary($0) }

    /// The bindings of `lib`, or nil when an entry point is missing or `ncclGetVersion` fails.
    init?(_ lib: DynamicLibrary) {
        guard let getVersion = lib.function("ncclGetVersion", as: GetVersion.self),
              let getUniqueId = lib.function("ncclGetUniqueId", as: GetUniqueId.self),
              let commInitRank = lib.function("ncclCommInitRank", as: CommInitRank.self),
              let allReduce = lib.function("ncclAllReduce", as: AllReduce.self),
              let broadcast = lib.function("ncclBroadcast", as: Broadcast.self),
              let allGather = lib.function("ncclAllGather", as: AllGather.self),
              let commDestroy = lib.function("ncclCommDestroy", as: CommDestroy.self),
              let errorString = lib.function("ncclGetErrorString", as: ErrorString.self)
        else { return nil }
        var v: Int32 = 0
        guard getVersion(&v) == 0 else { return nil }
        library = lib.name
        version = v
        (self.getUniqueId, self.commInitRank, self.allReduce) = (getUniqueId, commInitRank, allReduce)
        (self.broadcast, self.allGather, self.commDestroy, self.errorString) = (broadcast, allGather, commDestroy, errorString)
    }

    /// Throws `GPUError.driver` naming `call` and NCCL's message when `result` is not ncclSuccess.
    func check(_ result: Int32, _ call: String) throws {
        guard result != 0 else { return }
        let message = errorString(result).map { String(cString: $0) } ?? "error \(result)"
        throw GPUError.driver(call: call, message: message)
    }

    /// A new communicator of `size` ranks for this process's rank `rank`, the id made by
    /// rank 0 and sent to the others with `share` (the host transport's broadcast).
    func communicator(rank: Int, size: Int, share: (inout [Int64]) -> Void) throws -> Comm {
        var id = knet_nccl_unique_id()
        if rank == 0 { try check(getUniqueId(&id), "ncclGetUniqueId") }
        var words = [Int64](repeating: 0, count: MemoryLayout<knet_nccl_unique_id>.size / 8)
        withUnsafeBytes(of: &id) { raw in words.withUnsafeMutableBytes { $0.copyMemory(from: raw) } }
        share(&words)
        words.withUnsafeBytes { raw in withUnsafeMutableBytes(of: &id) { $0.copyMemory(from: raw) } }
        var comm: Comm?
        try check(commInitRank(&comm, Int32(size), id, Int32(rank)), "ncclCommInitRank")
        guard let comm else { throw GPUError.driver(call: "ncclCommInitRank", message: "no communicator") }
        return comm
    }
}

/// Collectives of one GPU's tensors over NCCL, queued on that GPU's stream (a reduction
/// is complete for every later kernel; nothing to wait for on the host). Barriers, integer
/// broadcasts and aborts go to the host transport.
///
///     let t = try NCCLTransport(nccl, backend: CUDARuntime.backend(0), host: SingleProcessTransport(reason: "test"))
final class NCCLTransport: CollectiveTransport {
    let nccl: NCCLLibrary
    let backend: CUDABackend
    let host: CollectiveTransport
    let comm: NCCLLibrary.Comm
    var rank: Int { host.rank }
    var size: Int { host.size }
    var name: String { "NCCL \(nccl.version) (\(nccl.library)) on \(backend.device)" }

    /// A communicator over every process of `host`'s job, on `backend`'s GPU.
    init(_ nccl: NCCLLibrary, backend: CUDABackend, host: CollectiveTransport) throws {
        (self.nccl, self.backend, self.host) = (nccl, backend, host)
        try backend.driver.activate(backend.gpu)
        comm = try nccl.communicator(rank: host.rank, size: host.size) { host.broadcast(&$0, root: 0) }
    }

    deinit { _ = nccl.commDestroy(comm) }

    /// The NCCL transport of GPU `n` for the job of `host`, or nil (NCCL absent, or
    /// `KNET_NCCL=0`) so that GPU tensors go through the host. A job of one needs none.
    static func make(device n: Int, over host: CollectiveTransport) -> CollectiveTransport? {
        guard host.size > 1, let nccl = NCCLLibrary.shared, getenv("KNET_NCCL").map({ String(cString: $0) }) != "0"
        else { return nil }
        do {
            return try NCCLTransport(nccl, backend: CUDARuntime.backend(n), host: host)
        } catch {
            knetFail("NCCL on gpu\(n): \(error)")
        }
    }

    func handles(_ device: Device) -> Bool { device == backend.device }

    /// Queues `call(stream)` on the GPU's stream; a failure stops naming it.
    private func enqueue(_ call: String, _ body: (OpaquePointer?) -> Int32) {
        backend.run(call) { s in try nccl.check(body(s.stream.handle), call) }
    }

    private func pointer(_ t: Tensor) -> UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: UInt(backend.address(t))) }

    func barrier() {
        backend.synchronize()
        host.barrier()
    }

    func allReduce(_ x: Tensor, _ op: AllReduceOp) {
        let p = pointer(x)
        enqueue("ncclAllReduce") { nccl.allReduce(p, p, x.count, NCCLLibrary.datatype(x.dtype), NCCLLibrary.operation(op), comm, $0) }
    }

    func startAllReduce(_ x: Tensor, _ op: AllReduceOp) -> PendingReduce {
        allReduce(x, op)
        return PendingReduce(buffer: x)
    }

    func progress(_ pending: [PendingReduce]) {}
    func wait(_ pending: [PendingReduce]) {}

    func broadcast(_ x: Tensor, root: Int) {
        let p = pointer(x)
        enqueue("ncclBroadcast") { nccl.broadcast(p, p, x.count, NCCLLibrary.datatype(x.dtype), Int32(root), comm, $0) }
    }

    func allGather(_ x: Tensor, into y: Tensor) {
        let (send, receive) = (pointer(x), pointer(y))
        enqueue("ncclAllGather") { nccl.allGather(send, receive, x.count, NCCLLibrary.datatype(x.dtype), comm, $0) }
    }

    func broadcast(_ values: inout [Int64], root: Int) { host.broadcast(&values, root: root) }
    func abort(_ code: Int32) -> Never { host.abort(code) }
    func finalize() { host.finalize() }
}
