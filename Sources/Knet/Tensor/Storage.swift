import Synchronization

/// The memory behind a storage: a host block or a block of one GPU (candle's
/// `Storage` enum). Only `Backends/CPU` turns a host block into pointers, and only
/// `Backends/CUDA` uses device addresses.
enum StorageBuffer {
    /// Host memory, 64-byte aligned, by address.
    case host(UInt)
    /// GPU memory of device `ordinal`, by device address.
    case cuda(ordinal: Int, address: UInt64)
}

/// A reference-counted block of memory owned by one device. Views share one `Storage`;
/// when the last tensor using it goes away (ARC) the block returns to its device's
/// caching allocator at once.
final class Storage {
    let buffer: StorageBuffer
    /// The context writing it in place now, 0 when none (see `exclusiveWrite`).
    let writer = Atomic<UInt>(0)
    let byteCount: Int
    let dtype: DType
    let device: Device
    /// A GPU's allocator, held so that it outlives the block; nil on the host, whose
    /// allocator is the global `hostAllocator` (no reference counted per tensor).
    private let deviceAllocator: CachingAllocator?

    /// Allocates `count` elements of `dtype` on `device` (uninitialised). Stops with the
    /// allocator's message when the device is out of memory even after emptying its cache.
    init(count: Int, dtype: DType, device: Device = .cpu) {
        byteCount = Swift.max(count, 1) * dtype.size
        self.dtype = dtype
        self.device = device
        do {
            switch device {
            case .cpu:
                deviceAllocator = nil
                buffer = .host(try hostAllocator.allocate(byteCount))
            case .gpu(let n):
                let allocator = CUDARuntime.backend(n).allocator
                deviceAllocator = allocator
                buffer = .cuda(ordinal: n, address: UInt64(try allocator.allocate(byteCount)))
            }
        } catch {
            knetFail("\(error)")
        }
    }

    deinit {
        switch buffer {
        case .host(let address): hostAllocator.free(address, byteCount)
        case .cuda(_, let address): deviceAllocator?.free(UInt(address), byteCount)
        }
    }
}

/// The host allocator's counters now, over all threads (`knet-bench --memory` samples them).
///
///     let before = memoryStats().systemAllocations
public func memoryStats() -> MemoryStats { hostAllocator.stats }

/// Returns every cached host block to the system.
public func emptyCache() { hostAllocator.emptyCache() }

/// The caching allocator of host memory: a training loop stops calling malloc after its
/// first step. At most 4 GiB of freed blocks are kept.
let hostAllocator = CachingAllocator(source: HostMemory(), cacheLimit: 4 << 30)
