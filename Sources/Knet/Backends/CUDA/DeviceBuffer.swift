#if canImport(Glibc)
import Glibc
#endif

// Raw GPU memory from the per-device caching allocators: what device tensors are stored
// in. A buffer goes back to its allocator's pool when its last reference goes.

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

/// One caching allocator per device of this machine (none without a driver).
private let allocators: [CachingAllocator] = {
    guard let driver = CUDADriver.shared else { return [] }
    return driver.devices.map { CachingAllocator(source: CUDAMemory(driver: driver, device: $0)) }
}()

/// A block of GPU memory of at least `bytes`, from device `device`'s caching allocator;
/// returned to the pool (not to the driver) when released.
///
///     let b = try DeviceBuffer(bytes: 1 << 20)     // on gpu(); throws without a GPU
public final class DeviceBuffer {
    /// The device ordinal.
    public let device: Int
    /// The bytes asked for.
    public let bytes: Int
    /// The device address.
    public let address: UInt
    private let allocator: CachingAllocator

    /// Reserves `bytes` on `device` (default: the active GPU). Throws `GPUError.noDevice`
    /// when there is no such GPU, `AllocationError` when even an emptied cache leaves
    /// too little.
    public init(bytes: Int, device: Int = gpu()) throws {
        guard device >= 0 && device < allocators.count else { throw GPUError.noDevice(device) }
        self.device = device
        self.bytes = bytes
        allocator = allocators[device]
        address = try allocator.allocate(bytes)
    }

    /// Reserves `bytes` from `allocator`, which serves GPU `device`.
    init(bytes: Int, allocator: CachingAllocator, device: Int) throws {
        self.device = device
        self.bytes = bytes
        self.allocator = allocator
        address = try allocator.allocate(bytes)
    }

    deinit { allocator.free(address, bytes) }
}

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
