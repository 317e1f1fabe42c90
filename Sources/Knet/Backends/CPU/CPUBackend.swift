/// The reductions the backends implement; everything else (mean, norm, sumabs...)
/// is composed from these in `Ops/Reductions.swift`.
public enum ReduceOp: Sendable {
    case sum, prod, max, min

    @inline(__always) func identity<T: KnetFloat>(_: T.Type) -> T {
        switch self {
        case .sum: return 0
        case .prod: return 1
        case .max: return -.infinity
        case .min: return .infinity
        }
    }

    @inline(__always) func combine<T: KnetFloat>(_ a: T, _ b: T) -> T {
        switch self {
        case .sum: return a + b
        case .prod: return a * b
        case .max: return a > b || a.isNaN ? a : b
        case .min: return a < b || a.isNaN ? a : b
        }
    }
}

/// The narrow interface ops use to run kernels (DESIGN.md principle 4). Every method
/// takes tensors whose dtype and device were already checked; outputs are fresh
/// contiguous tensors allocated by the caller. Convolution and pooling kernels are
/// declared with their ops' kernels (`ConvolutionBackend`, `PoolingBackend`).
protocol ComputeBackend: ConvolutionBackend, PoolingBackend {
    /// y = op.(x); x and y contiguous of the same shape.
    func unary(_ op: UnaryOp, _ x: Tensor, into y: Tensor)
    /// y = op.(a, b) where `a`, `b` are viewed with broadcast strides of y's shape.
    func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, into y: Tensor)
    /// y = reduce(op, x) over the dims where y's size is 1 and x's is not.
    func reduce(_ op: ReduceOp, _ x: Tensor, into y: Tensor)
    /// Elementwise copy between same-shaped (possibly strided or broadcast) views.
    func copy(from x: Tensor, to y: Tensor)
    /// y = x converted to y's dtype; both contiguous of the same shape.
    func convert(_ x: Tensor, into y: Tensor)
    /// y[.., j, ..] = x[.., indices[j], ..] along `dim`; x and y contiguous.
    func gather(_ x: Tensor, dim: Int, indices: [Int], into y: Tensor)
    /// x[.., indices[j], ..] = y[.., j, ..] along `dim` (added when `accumulate`; repeated
    /// indices then sum, otherwise the last wins); x and y contiguous.
    func scatter(_ y: Tensor, dim: Int, indices: [Int], into x: Tensor, accumulate: Bool)
    /// Sets every element of y to `value`.
    func fill(_ y: Tensor, _ value: Double)
    /// C = alpha * op(A) * op(B) + beta * C on column-major matrices.
    func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
              a: Tensor, lda: Int, b: Tensor, ldb: Int, beta: Double, c: Tensor, ldc: Int)
}

/// Backend selection by device.
enum Backend {
    /// The CPU backend (always present).
    static let cpu = CPUBackend()

    /// The backend that owns `device`'s memory.
    static func on(_ device: Device) -> ComputeBackend {
        switch device {
        case .cpu: return cpu
        case .gpu: knetFail("no CUDA backend in this build: tensors on \(device) are not supported yet")
        }
    }
}

/// Calls `body` with the Swift scalar type of `dtype` (Float or Double).
@inline(__always)
func dispatchFloat(_ dtype: DType, _ f32: () -> Void, _ f64: () -> Void) {
    switch dtype {
    case .float32: f32()
    case .float64: f64()
    }
}

/// Strides of `t` broadcast to `shape` (0 where t has size 1 or lacks the dim).
func broadcastStrides(_ t: Tensor, to shape: [Int]) -> [Int] {
    shape.indices.map { d in d < t.ndims && t.shape[d] != 1 ? t.stride(d) : 0 }
}
