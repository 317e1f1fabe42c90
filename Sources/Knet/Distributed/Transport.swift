#if canImport(Glibc)
import Glibc
#endif

// The engines under `Distributed`: one `CollectiveTransport` per kind of memory. MPI moves
// host tensors between processes, NCCL moves GPU tensors between GPUs, and a process
// running alone has the trivial one. `Distributed` stages tensors a transport cannot
// take directly (strided views, GPU tensors without NCCL) through contiguous copies.

/// The reductions of the collective operations: `mean` is the sum divided by the number
/// of processes.
///
///     Distributed.allReduce(g, .mean)     // every process now holds the average of the g's
public enum AllReduceOp: String, Sendable, CaseIterable {
    /// Σ over the processes.
    case sum
    /// Σ over the processes / their number.
    case mean
    /// The largest value of each element across the processes.
    case max
    /// The smallest value of each element across the processes.
    case min
}

/// A non-blocking all-reduce in flight (`CollectiveTransport.startAllReduce`): its buffer
/// must not be touched until `CollectiveTransport.wait` returns.
class PendingReduce {
    /// The contiguous tensor being reduced in place (kept alive while in flight).
    let buffer: Tensor
    init(buffer: Tensor) { self.buffer = buffer }
}

/// The collective operations one transport implements, on contiguous untracked tensors
/// of a device it `handles`; every process of the job must make the same calls in the
/// same order, with tensors of the same shape and dtype.
protocol CollectiveTransport: AnyObject {
    /// This process's number, 0..<size.
    var rank: Int { get }
    /// How many processes the job has.
    var size: Int { get }
    /// What it is, for messages: "MPI (libmpi.so.40)", "one process".
    var name: String { get }
    /// Whether tensors on `device` can be given to it directly.
    func handles(_ device: Device) -> Bool
    /// Returns once every process has called it.
    func barrier()
    /// Reduces `x` in place across the processes (`mean` is left as the sum).
    func allReduce(_ x: Tensor, _ op: AllReduceOp)
    /// Starts reducing `x` in place (`mean` as the sum); `progress` and `wait` finish it.
    func startAllReduce(_ x: Tensor, _ op: AllReduceOp) -> PendingReduce
    /// Lets reductions in flight advance (MPI progresses only inside MPI calls).
    func progress(_ pending: [PendingReduce])
    /// Returns once every reduction of `pending` is complete.
    func wait(_ pending: [PendingReduce])
    /// Overwrites `x` on every process with process `root`'s `x`.
    func broadcast(_ x: Tensor, root: Int)
    /// Writes every process's `x` into `y` (`size` times as long), in rank order.
    func allGather(_ x: Tensor, into y: Tensor)
    /// Overwrites `values` everywhere with process `root`'s (same count on every process).
    func broadcast(_ values: inout [Int64], root: Int)
    /// Ends the whole job with exit status `code`.
    func abort(_ code: Int32) -> Never
    /// Leaves the job (at the end of a successful run).
    func finalize()
}

/// The transport of a process running alone: every collective is the identity (a
/// gather copies).
final class SingleProcessTransport: CollectiveTransport {
    /// Why the process runs alone, for the notice ("libmpi.so.40 not found").
    let reason: String
    init(reason: String) { self.reason = reason }

    var rank: Int { 0 }
    var size: Int { 1 }
    var name: String { "one process (\(reason))" }
    func handles(_ device: Device) -> Bool { true }
    func barrier() {}
    func allReduce(_ x: Tensor, _ op: AllReduceOp) {}
    func startAllReduce(_ x: Tensor, _ op: AllReduceOp) -> PendingReduce { PendingReduce(buffer: x) }
    func progress(_ pending: [PendingReduce]) {}
    func wait(_ pending: [PendingReduce]) {}
    func broadcast(_ x: Tensor, root: Int) {}
    func allGather(_ x: Tensor, into y: Tensor) { Backend.on(y.device).copy(from: x.reshaped(y.shape), to: y) }
    func broadcast(_ values: inout [Int64], root: Int) {}
    func abort(_ code: Int32) -> Never { exit(code) }
    func finalize() {}
}

extension Tensor {
    /// A view of this contiguous tensor with another shape of the same count (not recorded).
    func reshaped(_ shape: [Int]) -> Tensor { view(shape: shape, strides: nil, offset: offset) }
}
