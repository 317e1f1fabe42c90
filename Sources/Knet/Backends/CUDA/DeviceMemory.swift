#if canImport(Glibc)
import Glibc
#endif

// GPU memory for the per-device caching allocators that device tensors are stored in,
// and their counters.

/// Device memory drawn from the CUDA driver for one device (primary context).
final class CUDAMemory: MemorySource, Sendable {
    let driver: CUDADriver
    let device: GPUDevice

    init(driver: CUDADriver, device: GPUDevice) {
        self.driver = driver
        self.device = device
    }

    var deviceName: String { "gpu\(device.ordinal) (\(device.name))" }

    func allocate(_ bytes: Int) throws -> UInt? {
        try driver.activate(device)
        return try driver.allocate(bytes).map { UInt($0) }
    }

    /// Returns a block to the driver (a failure is reported on stderr: a deinit cannot throw).
    func free(_ address: UInt) {
        do {
            try driver.activate(device)
            try driver.free(UInt64(address))
        } catch {
            fputs("Knet: freeing memory of \(deviceName): \(error)\n", stderr)
        }
    }
}

/// The caching allocator of each GPU of the runtime in use (none without a driver).
private var allocators: [CachingAllocator] { CUDARuntime.current?.backends.map(\.allocator) ?? [] }

/// The caching allocator's counters for `device` (default: the active GPU), or nil
/// when there is no such GPU.
///
///     if let m = gpuMemoryStats() { print(m.bytesInUse, m.bytesCached, m.systemAllocations) }
public func gpuMemoryStats(_ device: Int = gpu()) -> MemoryStats? {
    device >= 0 && device < allocators.count ? allocators[device].stats : nil
}

/// Frees the cached (unused) GPU memory of `device` back to the driver.
public func gpuEmptyCache(_ device: Int = gpu()) {
    if device >= 0 && device < allocators.count { allocators[device].emptyCache() }
}

/// Waits until every kernel and copy queued on GPU `device` (default: the active GPU) has
/// finished, e.g. before reading a clock; reading values (`[Float](t)`, `.scalar`) waits
/// by itself. Does nothing without a GPU.
///
///     synchronize()
public func synchronize(_ device: Int = gpu()) {
    guard let runtime = CUDARuntime.current, device >= 0, device < runtime.backends.count else { return }
    runtime.backends[device].synchronize()
}
