#if canImport(Glibc)
import Glibc
#endif
import Synchronization

// Knet's `gpu()`: which GPU new device tensors go to, or -1 for the CPU.

/// The active GPU's ordinal, or -1 when Knet computes on the CPU (no usable GPU, or
/// `gpu(-1)` / `KNET_GPU=-1`). At start the active GPU is `$KNET_GPU` when set, else 0
/// when the machine has a GPU; a machine without CUDA quietly reports -1.
///
///     if gpu() >= 0 { print("computing on", GPUInfo.current.devices[gpu()].name) }
public func gpu() -> Int { activeGPU.load(ordering: .relaxed) }

/// Makes GPU `n` active (a negative `n` selects the CPU) and returns the active ordinal
/// afterwards: -1 when `n` is not a device of this machine.
///
///     gpu(1)      // use the second GPU
///     gpu(-1)     // back to the CPU
@discardableResult
public func gpu(_ n: Int) -> Int {
    let chosen = selectableGPU(n, count: CUDARuntime.current?.backends.count ?? 0)
    activeGPU.store(chosen, ordering: .relaxed)
    return chosen
}

/// `n` if it is a device ordinal among `count`, else -1.
func selectableGPU(_ n: Int, count: Int) -> Int { n >= 0 && n < count ? n : -1 }

/// The GPU active at start: `KNET_GPU` (an ordinal, or negative for the CPU) when it is
/// set to an integer, else 0 when there is a GPU.
func initialGPU(environment value: String?, count: Int) -> Int {
    if let value, let n = Int(value) { return selectableGPU(n, count: count) }
    return count > 0 ? 0 : -1
}

private let activeGPU = Atomic<Int>(initialGPU(environment: getenv("KNET_GPU").map { String(cString: $0) },
                                               count: CUDARuntime.current?.backends.count ?? 0))
