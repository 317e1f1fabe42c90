#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A reference-counted block of device memory. Views share one `Storage`;
/// when the last tensor using it goes away (ARC) the block returns to its
/// allocator's pool at once.
final class Storage {
    let pointer: UnsafeMutableRawPointer
    let byteCount: Int
    let dtype: DType
    let device: Device

    /// Allocates `count` elements of `dtype` on `device` (uninitialised).
    init(count: Int, dtype: DType, device: Device = .cpu) {
        self.byteCount = Swift.max(count, 1) * dtype.size
        self.dtype = dtype
        self.device = device
        self.pointer = CPUAllocator.shared.allocate(byteCount)
    }

    deinit { CPUAllocator.shared.free(pointer, byteCount) }

    @inline(__always) func typed<T>(_: T.Type) -> UnsafeMutablePointer<T> {
        pointer.assumingMemoryBound(to: T.self)
    }
}

/// Counters of the CPU caching allocator.
///
///     let s = memoryStats()
///     print(s.bytesInUse, s.bytesCached, s.systemAllocations)
public struct MemoryStats: Sendable, CustomStringConvertible {
    /// Bytes held by live tensors (after size rounding).
    public var bytesInUse = 0
    /// Bytes kept in the pool for reuse.
    public var bytesCached = 0
    /// Calls that had to ask the system for memory (pool misses).
    public var systemAllocations = 0
    /// Allocations served from the pool.
    public var poolHits = 0
    /// One-line summary.
    public var description: String {
        "in use \(bytesInUse) B, cached \(bytesCached) B, system allocations \(systemAllocations), pool hits \(poolHits)"
    }
}

/// The allocator's counters now.
public func memoryStats() -> MemoryStats { CPUAllocator.shared.stats }

/// Returns every cached block to the system.
public func emptyCache() { CPUAllocator.shared.emptyCache() }

/// A size-class caching allocator for host memory, in the spirit of Knet's KnetPtr
/// pools: a freed block goes back to the pool of its rounded size and is handed out
/// again on the next request of that size, so a training loop stops calling malloc
/// after its first step. Blocks are 64-byte aligned.
final class CPUAllocator: Sendable {
    static let shared = CPUAllocator()

    private struct State {
        /// Free blocks per size class, indexed by `classIndex`.
        var pools: [[UnsafeMutableRawPointer]] = Array(repeating: [], count: 64 * 16)
        var stats = MemoryStats()
    }
    private let state = Mutex(State())
    /// Above this many cached bytes, freed blocks go straight back to the system.
    private let cacheLimit = 4 << 30

    /// Rounds a request up to its size class: powers of two up to 1 MiB, then
    /// eighths of a power of two (at most 12.5% waste).
    static func sizeClass(_ bytes: Int) -> Int {
        if bytes <= 64 { return 64 }
        let p = Int.bitWidth - (bytes - 1).leadingZeroBitCount   // 2^p >= bytes
        if p <= 20 { return 1 << p }
        let step = 1 << (p - 4)
        return (bytes + step - 1) / step * step
    }

    /// A dense index for each size class: (power of two, sixteenth step).
    static func classIndex(_ size: Int) -> Int {
        let p = Int.bitWidth - (size - 1).leadingZeroBitCount
        if p <= 20 { return p * 16 }
        return p * 16 + ((size - 1) >> (p - 4)) & 15
    }

    func allocate(_ bytes: Int) -> UnsafeMutableRawPointer {
        let size = Self.sizeClass(bytes), index = Self.classIndex(size)
        let reused: UnsafeMutableRawPointer? = state.withLock { s in
            s.stats.bytesInUse += size
            if let p = s.pools[index].popLast() {
                s.stats.bytesCached -= size
                s.stats.poolHits += 1
                return p
            }
            s.stats.systemAllocations += 1
            return nil
        }
        if let p = reused { return p }
        var p: UnsafeMutableRawPointer?
        if posix_memalign(&p, 64, size) != 0 || p == nil {
            emptyCache()
            guard posix_memalign(&p, 64, size) == 0, let q = p else {
                fatalError("Knet: out of host memory allocating \(size) bytes (\(stats))")
            }
            return q
        }
        return p!
    }

    func free(_ p: UnsafeMutableRawPointer, _ bytes: Int) {
        let size = Self.sizeClass(bytes), index = Self.classIndex(size)
        let keep = state.withLock { s -> Bool in
            s.stats.bytesInUse -= size
            guard s.stats.bytesCached + size <= cacheLimit else { return false }
            s.pools[index].append(p)
            s.stats.bytesCached += size
            return true
        }
        if !keep { Glibc.free(p) }
    }

    var stats: MemoryStats { state.withLock { $0.stats } }

    func emptyCache() {
        let blocks: [UnsafeMutableRawPointer] = state.withLock { s in
            let all = s.pools.flatMap { $0 }
            for i in s.pools.indices { s.pools[i].removeAll() }
            s.stats.bytesCached = 0
            return all
        }
        for p in blocks { Glibc.free(p) }
    }
}
