import RealModule
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The table of broadcasting binary functions: scalar formula for the CPU kernels,
/// CUDA C expression of `x` and `y`, and per-argument derivative rules written with
/// Tensor ops (from inputs `a`, `b`, output `z` and incoming gradient `dz`; the
/// result is summed back to the argument's shape by the caller).
public enum BinaryOp: Int, CaseIterable, Sendable {
    case add, sub, mul, div, pow, max, min
    /// The gradients of relu, sigm and tanh from the incoming gradient `x` and the
    /// activation's output `y` (Knet.jl's `reluback`, `sigmback`, `tanhback`): one pass
    /// instead of two or three ops, and differentiable again.
    case reluback, sigmback, tanhback
    case lt, le, eq, ne, gt, ge

    /// The function's name.
    public var name: String { "\(self)" }

    /// Comparisons (`lt` ... `ge`) return 1/0 and have zero gradient.
    public var isComparison: Bool { rawValue >= BinaryOp.lt.rawValue }

    /// The scalar formula (CPU column).
    @inline(__always)
    public func scalar<T: KnetFloat>(_ x: T, _ y: T) -> T {
        switch self {
        case .add: return x + y
        case .sub: return x - y
        case .mul: return x * y
        case .div: return x / y
        case .pow: return BinaryOp.power(x, y)
        case .max: return x.isNaN || y.isNaN ? .nan : Swift.max(x, y)
        case .min: return x.isNaN || y.isNaN ? .nan : Swift.min(x, y)
        case .reluback: return y > 0 ? x : 0
        case .sigmback: return x * y * (1 - y)
        case .tanhback: return x * (1 - y * y)
        case .lt: return x < y ? 1 : 0
        case .le: return x <= y ? 1 : 0
        case .eq: return x == y ? 1 : 0
        case .ne: return x != y ? 1 : 0
        case .gt: return x > y ? 1 : 0
        case .ge: return x >= y ? 1 : 0
        }
    }

    /// The CUDA C expression of `x` and `y` (GPU column).
    public var cuda: String {
        switch self {
        case .add: return "x+y"
        case .sub: return "x-y"
        case .mul: return "x*y"
        case .div: return "x/y"
        case .pow: return "pow(x,y)"
        case .max: return "((x!=x || y!=y) ? x+y : (x>y ? x : y))"    // NaN wins, as on the CPU
        case .min: return "((x!=x || y!=y) ? x+y : (x<y ? x : y))"
        case .reluback: return "(y>0 ? x : 0)"
        case .sigmback: return "(x*y*(1-y))"
        case .tanhback: return "(x*(1-y*y))"
        case .lt: return "(x<y)"
        case .le: return "(x<=y)"
        case .eq: return "(x==y)"
        case .ne: return "(x!=y)"
        case .gt: return "(x>y)"
        case .ge: return "(x>=y)"
        }
    }

    /// Derivative rule for argument `arg` (0 or 1); `nil` when the function has
    /// zero gradient (comparisons).
    func derivative(_ arg: Int, _ a: Tensor, _ b: Tensor, _ z: Tensor, _ dz: Tensor) -> Tensor? {
        switch self {
        case .add: return dz
        case .sub: return arg == 0 ? dz : -dz
        case .mul: return arg == 0 ? dz .* b : dz .* a
        case .div: return arg == 0 ? dz ./ b : -dz .* z ./ b
        case .pow: return arg == 0 ? dz .* b .* (a ** (b .- 1)) : dz .* z .* log(a)
        case .max, .min: return dz .* (z .== (arg == 0 ? a : b))
        // linear in the incoming gradient a; relu's mask is constant in the output b
        case .reluback: return arg == 0 ? elementwise(.reluback, dz, b) : nil
        case .sigmback: return arg == 0 ? elementwise(.sigmback, dz, b) : dz .* a .* (1 .- 2 .* b)
        case .tanhback: return arg == 0 ? elementwise(.tanhback, dz, b) : dz .* a .* b .* -2
        case .lt, .le, .eq, .ne, .gt, .ge: return nil
        }
    }

    /// Integer powers by multiplication (exact, and defined for negative bases);
    /// others through C's `pow`, whose IEEE 754 special cases CUDA and PyTorch share:
    /// (-8)^(1/3) is NaN, (-2)^Inf is Inf and (-2)^-Inf is 0, (-1)^±Inf and 1^NaN are 1,
    /// (-Inf)^0.5 is Inf.
    @inline(__always)
    static func power<T: KnetFloat>(_ x: T, _ y: T) -> T {
        if y == 2 { return x * x }
        if y == 1 { return x }
        if y == 0 { return 1 }
        if y == 3 { return x * x * x }
        if y == 0.5 && x > 0 && x != .infinity { return x.squareRoot() }   // C: (-0)^0.5 = +0, (-Inf)^0.5 = Inf
        if y == y.rounded() && Swift.abs(y) < 1_048_576 {
            return .pow(x, Int(y))
        }
        if T.self == Float.self { return T(powf(Float(x), Float(y))) }
        return T(cPow(Double(x), Double(y)))
    }
}

/// C's `pow` (a name the `BinaryOp.pow` case hides inside the enum).
@inline(__always) private func cPow(_ x: Double, _ y: Double) -> Double { pow(x, y) }
