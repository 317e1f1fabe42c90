import Synchronization

// The GPU caching allocator, in the spirit of Knet's KnetPtr pools and PyTorch's caching
// allocator: a freed block goes back to a pool of its size class at once (ARC frees it
// deterministically, no GC), an allocation takes a cached block of its class when there
// is one, and a device out-of-memory empties the cache and retries before failing.

/// Where raw device memory comes from: the CUDA driver, or a test double.
protocol DeviceMemorySource: AnyObject {
    /// `bytes` of device memory, or nil when the device is out of memory.
    func allocate(_ bytes: Int) throws -> UInt64?
    /// Returns memory from `allocate` to the device.
    func free(_ address: UInt64)
    /// The device's name, for error messages.
    var deviceName: String { get }
}

/// Counters of a caching allocator.
public struct GPUMemoryStats: Sendable, Equatable {
    /// Bytes of the blocks handed out and not yet released (size classes, not requests).
    public var bytesInUse = 0
    /// Bytes of released blocks kept for reuse.
    public var bytesCached = 0
    /// Device allocations made (`cuMemAlloc` calls); steady-state training adds none.
    public var deviceAllocations = 0
    /// Device frees made (when the cache is emptied).
    public var deviceFrees = 0
    /// Allocations served from the cache.
    public var cacheHits = 0
}

/// A block of device memory handed out by a `CachingAllocator`.
struct DeviceBlock: Equatable {
    /// The device address.
    let address: UInt64
    /// Its size class in bytes (at least what was asked for).
    let bytes: Int
}

/// A thread-safe caching allocator over one device's memory.
final class CachingAllocator: @unchecked Sendable {
    private let source: DeviceMemorySource
    private let state = Mutex(State())

    private struct State {
        var pools: [Int: [UInt64]] = [:]
        var stats = GPUMemoryStats()
    }

    /// An allocator drawing from `source`.
    init(source: DeviceMemorySource) { self.source = source }

    /// The size class of a request: multiples of 512 bytes up to 1 MiB, above that the
    /// next of 2ᵏ, 1.25·2ᵏ, 1.5·2ᵏ, 1.75·2ᵏ (at most 25% waste, few classes to reuse).
    static func sizeClass(_ bytes: Int) -> Int {
        let request = Swift.max(bytes, 1)
        if request <= 1 << 20 { return (request + 511) / 512 * 512 }
        let power = 1 << (Int.bitWidth - 1 - (request - 1).leadingZeroBitCount)   // largest 2ᵏ < request
        let quarter = power / 4
        return (request + quarter - 1) / quarter * quarter
    }

    /// A block of at least `bytes`: a cached one of its size class, else a new device
    /// allocation; on out-of-memory the cache is emptied and the allocation retried, then
    /// it throws `GPUError.outOfMemory`.
    func allocate(_ bytes: Int) throws -> DeviceBlock {
        let size = CachingAllocator.sizeClass(bytes)
        let cached: UInt64? = state.withLock { s in
            guard let address = s.pools[size]?.popLast() else { return nil }
            s.stats.cacheHits += 1
            s.stats.bytesCached -= size
            s.stats.bytesInUse += size
            return address
        }
        if let cached { return DeviceBlock(address: cached, bytes: size) }
        var address = try source.allocate(size)
        if address == nil {
            emptyCache()
            address = try source.allocate(size)
        }
        guard let address else {
            throw GPUError.outOfMemory(requested: bytes, inUse: stats.bytesInUse, device: source.deviceName)
        }
        state.withLock { s in
            s.stats.deviceAllocations += 1
            s.stats.bytesInUse += size
        }
        return DeviceBlock(address: address, bytes: size)
    }

    /// Returns `block` to its pool for reuse (the device memory stays allocated).
    func release(_ block: DeviceBlock) {
        state.withLock { s in
            s.pools[block.bytes, default: []].append(block.address)
            s.stats.bytesInUse -= block.bytes
            s.stats.bytesCached += block.bytes
        }
    }

    /// Frees every cached block on the device.
    func emptyCache() {
        let blocks = state.withLock { s -> [UInt64] in
            let all = s.pools.values.flatMap { $0 }
            s.pools = [:]
            s.stats.deviceFrees += all.count
            s.stats.bytesCached = 0
            return all
        }
        for address in blocks { source.free(address) }
    }

    /// The counters now.
    var stats: GPUMemoryStats { state.withLock { $0.stats } }
}
