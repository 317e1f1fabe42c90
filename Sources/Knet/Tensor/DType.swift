import RealModule

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

/// Where a tensor's memory lives. Only the CPU exists until the CUDA backend lands.
public enum Device: Equatable, Sendable, CustomStringConvertible {
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
}
