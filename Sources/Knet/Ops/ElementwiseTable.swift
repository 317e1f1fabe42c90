import KnetMath
import RealModule

/// The table of elementwise functions (DESIGN.md principle 1, Knet.jl's `ops.jl`).
/// Each row gives: the scalar formula used by the CPU kernels (`scalar`), the CUDA C
/// expression of the same function of `x` (`cuda`), and the derivative written with
/// Tensor ops (`derivative`: from input `x`, output `y` and incoming gradient `dy`),
/// so that higher-order gradients work. Adding a function is adding one case to each
/// of the three switches below, kept in the same order.
public enum UnaryOp: Int, CaseIterable, Sendable {
    case abs, abs2, acos, acosh, asin, asinh, atan, atanh, cbrt, ceil, cos, cosh, cospi
    case erf, erfc, erfinv, exp, exp10, exp2, expm1, floor, log, log10, log1p, log2
    case round, sign, sin, sinh, sinpi, sqrt, tan, tanh, trunc
    case relu, sigm, invx, elu, selu, gelu, softplus, neg

    /// The function's name, as Knet.jl spells it.
    public var name: String { "\(self)" }

    /// The scalar formula (CPU column).
    @inline(__always)
    public func scalar<T: KnetFloat>(_ x: T) -> T {
        switch self {
        case .abs: return Swift.abs(x)
        case .abs2: return x * x
        case .acos: return .acos(x)
        case .acosh: return .acosh(x)
        case .asin: return .asin(x)
        case .asinh: return .asinh(x)
        case .atan: return .atan(x)
        case .atanh: return .atanh(x)
        case .cbrt: return x < 0 ? -T.root(-x, 3) : T.root(x, 3)
        case .ceil: return x.rounded(.up)
        case .cos: return .cos(x)
        case .cosh: return .cosh(x)
        case .cospi: return ScalarMath.cospi(x)
        case .erf: return .erf(x)
        case .erfc: return .erfc(x)
        case .erfinv: return ScalarMath.erfinv(x)
        case .exp: return ScalarMath.exp(x)
        case .exp10: return .exp10(x)
        case .exp2: return .exp2(x)
        case .expm1: return .expMinusOne(x)
        case .floor: return x.rounded(.down)
        case .log: return .log(x)
        case .log10: return .log10(x)
        case .log1p: return .log(onePlus: x)
        case .log2: return .log2(x)
        case .round: return x.rounded(.toNearestOrEven)
        case .sign: return x > 0 ? 1 : (x < 0 ? -1 : x)
        case .sin: return .sin(x)
        case .sinh: return .sinh(x)
        case .sinpi: return ScalarMath.sinpi(x)
        case .sqrt: return x < 0 ? .nan : x.magnitude.squareRoot()   // no errno path: vectorises
        case .tan: return .tan(x)
        case .tanh: return ScalarMath.tanh(x)
        case .trunc: return x.rounded(.towardZero)
        case .relu: return x > 0 ? x : 0
        case .sigm: return ScalarMath.sigm(x)
        case .invx: return 1 / x
        case .elu: return x > 0 ? x : .expMinusOne(x)
        case .selu:
            let lambda = T(ScalarMath.seluLambda), lambdaAlpha = T(ScalarMath.seluLambda * ScalarMath.seluAlpha)
            return x > 0 ? lambda * x : lambdaAlpha * T.expMinusOne(x)
        case .gelu:
            let c = T(ScalarMath.geluC), a = T(ScalarMath.geluA)
            let u: T = c * (x + a * x * x * x)
            return x / 2 * (1 + T.tanh(u))
        case .softplus: return x > 0 ? x + .log(onePlus: .exp(-x)) : .log(onePlus: .exp(x))
        case .neg: return -x
        }
    }

    /// The CUDA C expression of the function of `x` (GPU column; C++ overloads
    /// make it serve float and double).
    public var cuda: String {
        switch self {
        case .abs: return "fabs(x)"
        case .abs2: return "x*x"
        case .acos: return "acos(x)"
        case .acosh: return "acosh(x)"
        case .asin: return "asin(x)"
        case .asinh: return "asinh(x)"
        case .atan: return "atan(x)"
        case .atanh: return "atanh(x)"
        case .cbrt: return "cbrt(x)"
        case .ceil: return "ceil(x)"
        case .cos: return "cos(x)"
        case .cosh: return "cosh(x)"
        case .cospi: return "cospi(x)"
        case .erf: return "erf(x)"
        case .erfc: return "erfc(x)"
        case .erfinv: return "erfinv(x)"
        case .exp: return "exp(x)"
        case .exp10: return "exp10(x)"
        case .exp2: return "exp2(x)"
        case .expm1: return "expm1(x)"
        case .floor: return "floor(x)"
        case .log: return "log(x)"
        case .log10: return "log10(x)"
        case .log1p: return "log1p(x)"
        case .log2: return "log2(x)"
        case .round: return "rint(x)"
        case .sign: return "(x>0 ? 1 : (x<0 ? -1 : x))"
        case .sin: return "sin(x)"
        case .sinh: return "sinh(x)"
        case .sinpi: return "sinpi(x)"
        case .sqrt: return "sqrt(x)"
        case .tan: return "tan(x)"
        case .tanh: return "tanh(x)"
        case .trunc: return "trunc(x)"
        case .relu: return "(x>0 ? x : 0)"
        case .sigm: return "(x>=0 ? 1/(1+exp(-x)) : exp(x)/(1+exp(x)))"
        case .invx: return "1/x"
        case .elu: return "(x>0 ? x : expm1(x))"
        case .selu: return "(x>0 ? 1.0507009873554805*x : 1.7580993408473766*expm1(x))"
        case .gelu: return "(x/2*(1+tanh(0.7978845608028654*(x+0.044715*x*x*x))))"
        case .softplus: return "(x>0 ? x+log1p(exp(-x)) : log1p(exp(x)))"
        case .neg: return "(-x)"
        }
    }

    /// The derivative rule: the gradient with respect to `x` given `y = f(x)` and
    /// `dy`; `nil` for functions whose derivative is zero almost everywhere.
    func derivative(_ x: Tensor, _ y: Tensor, _ dy: Tensor) -> Tensor? {
        switch self {
        case .abs: return dy .* Knet.sign(x)
        case .abs2: return dy .* (x .+ x)      // (dy·x)·2 without a constant tensor
        case .acos: return -dy ./ Knet.sqrt(1 .- Knet.abs2(x))
        case .acosh: return dy ./ Knet.sqrt(Knet.abs2(x) .- 1)
        case .asin: return dy ./ Knet.sqrt(1 .- Knet.abs2(x))
        case .asinh: return dy ./ Knet.sqrt(Knet.abs2(x) .+ 1)
        case .atan: return dy ./ (Knet.abs2(x) .+ 1)
        case .atanh: return dy ./ (1 .- Knet.abs2(x))
        case .cbrt: return dy ./ (Knet.abs2(y) .* 3)
        case .cos: return -dy .* Knet.sin(x)
        case .cosh: return dy .* Knet.sinh(x)
        case .cospi: return dy .* Knet.sinpi(x) .* -Double.pi
        case .erf: return dy .* Knet.exp(-Knet.abs2(x)) .* (2 / Double.pi.squareRoot())
        case .erfc: return dy .* Knet.exp(-Knet.abs2(x)) .* (-2 / Double.pi.squareRoot())
        case .erfinv: return dy .* Knet.exp(Knet.abs2(y)) .* (Double.pi.squareRoot() / 2)
        case .exp: return dy .* y
        case .exp10: return dy .* y .* Double.log(10)
        case .exp2: return dy .* y .* Double.log(2)
        case .expm1: return dy .* (y .+ 1)
        case .log: return dy ./ x
        case .log10: return dy ./ (x .* Double.log(10))
        case .log1p: return dy ./ (x .+ 1)
        case .log2: return dy ./ (x .* Double.log(2))
        case .sin: return dy .* Knet.cos(x)
        case .sinh: return dy .* Knet.cosh(x)
        case .sinpi: return dy .* Knet.cospi(x) .* Double.pi
        case .sqrt: return dy ./ (y .* 2)
        case .tan: return dy .* (Knet.abs2(y) .+ 1)
        case .tanh: return elementwise(.tanhback, dy, y)
        case .relu: return elementwise(.reluback, dy, y)
        case .sigm: return elementwise(.sigmback, dy, y)
        case .invx: return -dy .* Knet.abs2(y)
        case .elu:
            let positive = x .> 0
            return dy .* (positive .+ (1 .- positive) .* (y .+ 1))
        case .selu:
            let positive = x .> 0
            return dy .* (positive .* ScalarMath.seluLambda
                          .+ (1 .- positive) .* (y .+ ScalarMath.seluLambda * ScalarMath.seluAlpha))
        case .gelu:
            let c = ScalarMath.geluC, a = ScalarMath.geluA
            let t = Knet.tanh((x .+ x .* Knet.abs2(x) .* a) .* c)
            return dy .* ((t .+ 1) .* 0.5 .+ x .* (1 .- Knet.abs2(t)) .* (c / 2) .* (Knet.abs2(x) .* (3 * a) .+ 1))
        case .softplus: return dy .* Knet.sigm(x)
        case .neg: return -dy
        case .ceil, .floor, .round, .sign, .trunc: return nil
        }
    }
}

/// Scalar helpers the table needs beyond swift-numerics.
enum ScalarMath {
    static let seluLambda = 1.0507009873554804934193349852946
    static let seluAlpha = 1.6732632423543772848170429916717
    static let geluC = 0.7978845608028654   // sqrt(2/pi)
    static let geluA = 0.044715

    /// eˣ (see `ActivationMath.exp`).
    @inline(__always) static func exp<T: KnetFloat>(_ x: T) -> T { ActivationMath.exp(x) }

    /// The logistic sigmoid (see `ActivationMath.sigm`).
    @inline(__always) static func sigm<T: KnetFloat>(_ x: T) -> T { ActivationMath.sigm(x) }

    /// tanh x (see `ActivationMath.tanh`).
    @inline(__always) static func tanh<T: KnetFloat>(_ x: T) -> T { ActivationMath.tanh(x) }

    /// cos(πx), exact at integers and half-integers.
    @inline(__always) static func cospi<T: KnetFloat>(_ x: T) -> T {
        let r = Swift.abs(x).truncatingRemainder(dividingBy: 2)       // [0, 2)
        if r == 0.5 || r == 1.5 { return 0 }
        if r == 1 { return -1 }
        return .cos(T.pi * r)
    }

    /// sin(πx), exact at integers and half-integers.
    @inline(__always) static func sinpi<T: KnetFloat>(_ x: T) -> T {
        let r = x.truncatingRemainder(dividingBy: 2)                   // (-2, 2)
        if r == 0 || Swift.abs(r) == 1 { return 0 }
        if r == 0.5 || r == -1.5 { return 1 }
        if r == -0.5 || r == 1.5 { return -1 }
        return .sin(T.pi * r)
    }

    /// Inverse error function: Giles' approximation refined by Newton steps in Double.
    static func erfinv<T: KnetFloat>(_ x: T) -> T {
        let v = Double(x)
        if v <= -1 { return v == -1 ? -.infinity : .nan }
        if v >= 1 { return v == 1 ? .infinity : .nan }
        var w = -Double.log((1 - v) * (1 + v)), p: Double
        if w < 5 {
            w -= 2.5
            p = 2.81022636e-08
            for c in [3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                      -0.00125372503, -0.00417768164, 0.246640727, 1.50140941] { p = c + p * w }
        } else {
            w = w.squareRoot() - 3
            p = -0.000200214257
            for c in [0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
                      -0.0076224613, 0.00943887047, 1.00167406, 2.83297682] { p = c + p * w }
        }
        var r = p * v
        for _ in 0..<2 {   // Newton on erf(r) - v
            let e = Double.erf(r) - v
            r -= e / (2 / Double.pi.squareRoot() * Double.exp(-r * r))
        }
        return T(r)
    }
}
