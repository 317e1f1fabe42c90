import Synchronization
#if canImport(Glibc)
import Glibc
#endif

// The caching allocator of every device, in the spirit of Knet's KnetPtr pools and
// PyTorch's caching allocator: a freed block goes back to the pool of its size class at
// once (ARC frees deterministically, no GC), a request takes a pooled block of its class
// when there is one, and running out of memory empties the pool and retries before
// failing. Host memory and each GPU are sources of the same allocator.

/// Where a caching allocator's blocks come from: host memory, a GPU, or a test double.
/// Addresses are plain integers (host pointers by bit pattern, CUDA device pointers).
protocol MemorySource: AnyObject, Sendable {
    /// `bytes` of memory, or nil when the device is out of memory.
    func allocate(_ bytes: Int) throws -> UInt?
    /// Returns memory from `allocate`.
    func free(_ address: UInt)
    /// The device's name, for error messages.
    var deviceName: String { get }
}

/// Counters of a caching allocator (`memoryStats()` for the host, `gpuMemoryStats()` for a
/// GPU), over all threads of the process.
///
///     let s = memoryStats()
///     print(s.bytesInUse, s.bytesCached, s.systemAllocations)
public struct MemoryStats: Sendable, Equatable, CustomStringConvertible {
    /// Bytes of the blocks handed out and not yet freed (size classes, not requests).
    public var bytesInUse = 0
    /// Bytes of freed blocks kept for reuse.
    public var bytesCached = 0
    /// Requests the device itself had to serve (malloc / cuMemAlloc calls): a training
    /// loop in steady state adds none.
    public var systemAllocations = 0
    /// Requests served from the pool.
    public var poolHits = 0
    /// One-line summary.
    public var description: String {
        "in use \(bytesInUse) B, cached \(bytesCached) B, system allocations \(systemAllocations), pool hits \(poolHits)"
    }
}

/// A size-class caching allocator over one `MemorySource`. Thread-safe: the pools and
/// counters sit behind one mutex (held for a few instructions, never across a system
/// call), so any thread may allocate and free, and `stats` counts every thread's requests
/// exactly.
final class CachingAllocator: Sendable {
    private struct State {
        /// Free blocks per size class, indexed by `classIndex`.
        var pools: [[UInt]] = Array(repeating: [], count: 64 * 16)
        var stats = MemoryStats()
    }
    private let source: MemorySource
    private let cacheLimit: Int
    private let state = Mutex(State())

    /// An allocator over `source` that keeps at most `cacheLimit` bytes of freed blocks
    /// (beyond that a freed block goes straight back to the source).
    init(source: MemorySource, cacheLimit: Int = .max) {
        self.source = source
        self.cacheLimit = cacheLimit
    }

    /// Rounds a request up to its size class: powers of two from 64 bytes up to 1 MiB,
    /// then eighths of a power of two (at most 12.5% waste).
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

    /// A block of `sizeClass(bytes)`: a pooled one of its class, else a new one from the
    /// source; when the source is out of memory the pool is emptied and the request
    /// retried, then it throws `AllocationError`.
    func allocate(_ bytes: Int) throws -> UInt {
        let size = Self.sizeClass(bytes), index = Self.classIndex(size)
        let pooled: UInt? = state.withLock { s in
            guard let address = s.pools[index].popLast() else { return nil }
            s.stats.bytesInUse += size
            s.stats.bytesCached -= size
            s.stats.poolHits += 1
            return address
        }
        if let pooled { return pooled }
        var address = try source.allocate(size)
        if address == nil {
            emptyCache()
            address = try source.allocate(size)
        }
        guard let address else {
            throw AllocationError(requested: bytes, stats: stats, device: source.deviceName)
        }
        state.withLock { s in
            s.stats.bytesInUse += size
            s.stats.systemAllocations += 1
        }
        return address
    }

    /// Returns a block of `bytes` (as requested) to its pool, or to the source when the
    /// pool is full.
    func free(_ address: UInt, _ bytes: Int) {
        let size = Self.sizeClass(bytes), index = Self.classIndex(size)
        let keep = state.withLock { s -> Bool in
            s.stats.bytesInUse -= size
            guard s.stats.bytesCached + size <= cacheLimit else { return false }
            s.pools[index].append(address)
            s.stats.bytesCached += size
            return true
        }
        if !keep { source.free(address) }
    }

    /// Returns every pooled block to the source.
    func emptyCache() {
        let blocks: [UInt] = state.withLock { s in
            let all = s.pools.flatMap { $0 }
            for i in s.pools.indices { s.pools[i].removeAll() }
            s.stats.bytesCached = 0
            return all
        }
        for address in blocks { source.free(address) }
    }

    /// The counters now.
    var stats: MemoryStats { state.withLock { $0.stats } }
}

/// A request the device could not serve even after its pool was emptied.
public struct AllocationError: Error, Equatable, CustomStringConvertible {
    /// The bytes asked for.
    public let requested: Int
    /// The allocator's counters at the time.
    public let stats: MemoryStats
    /// The device ("host", "gpu0 (NVIDIA H100 …)").
    public let device: String

    /// A readable message.
    public var description: String {
        "out of memory on \(device): \(requested) bytes requested with \(stats.bytesInUse) bytes in use (the cache was emptied and the request retried)"
    }
}

/// Host memory, 64-byte aligned (posix_memalign).
final class HostMemory: MemorySource {
    var deviceName: String { "host" }

    func allocate(_ bytes: Int) throws -> UInt? {
        var p: UnsafeMutableRawPointer?
        guard posix_memalign(&p, 64, bytes) == 0, let p else { return nil }
        return UInt(bitPattern: p)
    }

    func free(_ address: UInt) { Glibc.free(UnsafeMutableRawPointer(bitPattern: address)) }
}
