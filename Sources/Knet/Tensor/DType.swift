import RealModule
import Synchronization

/// The element type of a tensor. `Float32` is the default, as in Knet.jl.
///
///     let t = Tensor.zeros(3, 4, dtype: .float64)
///     t.dtype   // .float64
public enum DType: String, Sendable, CustomStringConvertible {
    /// 32-bit IEEE float (`Float`).
    case float32 = "Float32"
    /// 64-bit IEEE float (`Double`), used by `gradcheck`.
    case float64 = "Float64"

    /// Bytes per element.
    public var size: Int { self == .float32 ? 4 : 8 }
    /// The name as Julia prints it (`Float32`, `Float64`).
    public var description: String { rawValue }
}

/// The scalar types a tensor can hold: `Float` and `Double`.
/// Kernels are generic over it and specialised for both.
public protocol KnetFloat: BinaryFloatingPoint, Real, SIMDScalar, Codable, Sendable {
    /// The `DType` tag of this scalar type.
    static var dtype: DType { get }
}

extension Float: KnetFloat {
    /// `.float32`
    public static var dtype: DType { .float32 }
}

extension Double: KnetFloat {
    /// `.float64`
    public static var dtype: DType { .float64 }
}

/// Where a tensor's memory lives: host memory or one NVIDIA GPU. Every op's result is
/// on its inputs' device; mixing devices stops with a message naming both.
///
///     let x = Tensor.randn(3, 4, device: .gpu(0))
///     x.device            // gpu0
public enum Device: Hashable, Sendable, CustomStringConvertible {
    /// Host memory.
    case cpu
    /// An NVIDIA GPU by ordinal.
    case gpu(Int)

    /// `cpu` or `gpu0`, `gpu1`...
    public var description: String {
        switch self {
        case .cpu: return "cpu"
        case .gpu(let n): return "gpu\(n)"
        }
    }

    /// Where creation functions put new tensors when no `device:` is given: `.cpu`
    /// unless changed with `setDefaultDevice` or `withDevice` (PyTorch's
    /// `torch.set_default_device`).
    ///
    ///     Device.current      // cpu
    public static var current: Device { Device(code: defaultDeviceCode.load(ordering: .relaxed)) }

    /// -1 for the CPU, else the GPU ordinal (the atomic form of `current`).
    var code: Int {
        switch self {
        case .cpu: return -1
        case .gpu(let n): return n
        }
    }

    init(code: Int) { self = code < 0 ? .cpu : .gpu(code) }

    /// Parses "cpu", "gpu" (the active GPU, `gpu()`) or "gpu<n>"; nil for anything else,
    /// or "gpu" when no GPU is active.
    ///
    ///     Device("gpu1")     // .gpu(1)
    public init?(_ text: String) {
        if text == "cpu" { self = .cpu; return }
        guard text.hasPrefix("gpu") else { return nil }
        let number = text.dropFirst(3)
        if number.isEmpty {
            let active = Knet.gpu()
            guard active >= 0 else { return nil }
            self = .gpu(active)
        } else {
            guard let n = Int(number), n >= 0, String(n) == number else { return nil }
            self = .gpu(n)
        }
    }

    /// Whether tensors can be made here: always for the CPU; for a GPU, when the CUDA
    /// runtime of this process has that device.
    ///
    ///     Device.gpu(0).isAvailable     // false on a machine without CUDA
    public var isAvailable: Bool {
        switch self {
        case .cpu: return true
        case .gpu(let n): return n >= 0 && n < (CUDARuntime.current?.backends.count ?? 0)
        }
    }
}

private let defaultDeviceCode = Atomic<Int>(-1)

/// Makes `device` the default of every creation function (`zeros`, `randn`, `Tensor(values)`,
/// ...) in this process, for every thread. Stops with a message when `device` is a GPU
/// this process cannot use.
///
///     setDefaultDevice(.gpu(0))
///     let w = Tensor.randn(10, 784)       // on gpu0
public func setDefaultDevice(_ device: Device) {
    _ = Backend.on(device)                  // fails clearly for a GPU that is not there
    defaultDeviceCode.store(device.code, ordering: .relaxed)
}

/// Runs `body` with `device` as the default device of creation functions, then restores
/// the previous default (also when `body` throws). The default is process-wide: other
/// threads see the change while `body` runs, so threads should name their devices
/// instead (`device:`), with the default set once before they start.
///
///     let y = withDevice(.gpu(0)) { predict(w.gpu(), Tensor(values, shape: [784, 1])) }
public func withDevice<R>(_ device: Device, _ body: () throws -> R) rethrows -> R {
    let previous = Device.current
    setDefaultDevice(device)
    defer { defaultDeviceCode.store(previous.code, ordering: .relaxed) }
    return try body()
}
