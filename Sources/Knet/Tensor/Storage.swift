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
        do {
            pointer = UnsafeMutableRawPointer(bitPattern: try hostAllocator.allocate(byteCount))!
        } catch {
            knetFail("\(error)")
        }
    }

    deinit { hostAllocator.free(UInt(bitPattern: pointer), byteCount) }

    @inline(__always) func typed<T>(_: T.Type) -> UnsafeMutablePointer<T> {
        pointer.assumingMemoryBound(to: T.self)
    }
}

/// The host allocator's counters now.
public func memoryStats() -> MemoryStats { hostAllocator.stats }

/// Returns every cached host block to the system.
public func emptyCache() { hostAllocator.emptyCache() }

/// The caching allocator of host memory: a training loop stops calling malloc after its
/// first step. At most 4 GiB of freed blocks are kept.
let hostAllocator = CachingAllocator(source: HostMemory(), cacheLimit: 4 << 30)
