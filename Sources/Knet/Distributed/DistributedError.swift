/// A data-parallel request that cannot be met as given: thrown, since the values come
/// from outside (flags, data sizes, a checkpoint path).
///
///     do { _ = try Distributed.shard(minibatch(x, y, 100)) }
///     catch let e as DistributedError { print(e) }   // "a batch of 100 does not split into 3 equal shards"
public enum DistributedError: Error, Equatable, CustomStringConvertible {
    /// The batch size is not a multiple of the number of processes.
    case batchNotDivisible(batchsize: Int, processes: Int)
    /// A rank or process count that does not describe a shard.
    case invalidShard(rank: Int, processes: Int)
    /// Rank 0 could not write the checkpoint that every process asked for; its message.
    case checkpointNotWritten(path: String, message: String)

    /// A one-line reason.
    public var description: String {
        switch self {
        case .batchNotDivisible(let b, let n):
            return "a batch of \(b) does not split into \(n) equal shards: use a batch size that is a multiple of \(n)"
        case .invalidShard(let r, let n): return "rank \(r) of \(n) processes is not a shard"
        case .checkpointNotWritten(let path, let message): return "rank 0 could not write the checkpoint \(path): \(message)"
        }
    }
}
