#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The package's random number generator (xoshiro256**), shared by all threads.
/// `setseed` makes initialisation, shuffling and dropout reproducible.
final class RandomSource: Sendable {
    static let shared = RandomSource()
    private let state = Mutex<(UInt64, UInt64, UInt64, UInt64)>((0, 0, 0, 0))

    private init() {
        var system = SystemRandomNumberGenerator()
        reseed(system.next())
    }

    func reseed(_ seed: UInt64) {
        var expand = SplitMix(seed: seed)   // one seed → the four state words
        let s = (expand.next(), expand.next(), expand.next(), expand.next())
        state.withLock { $0 = s }
    }

    @inline(__always) private static func next(_ s: inout (UInt64, UInt64, UInt64, UInt64)) -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }

    /// Fills `n` values with uniform numbers in [0, 1) (53-bit resolution).
    @inline(__always) func fillUniform(_ n: Int, _ body: (Int, Double) -> Void) {
        state.withLock { s in
            for i in 0..<n { body(i, Double(RandomSource.next(&s) >> 11) * 0x1.0p-53) }
        }
    }

    /// Fills `n` values with standard normal numbers (Box–Muller).
    func fillNormal(_ n: Int, _ body: (Int, Double) -> Void) {
        state.withLock { s in
            var i = 0
            while i < n {
                let u1 = Double((RandomSource.next(&s) >> 11) + 1) * 0x1.0p-53   // (0, 1]
                let u2 = Double(RandomSource.next(&s) >> 11) * 0x1.0p-53
                let r = (-2 * log(u1)).squareRoot(), a = 2 * Double.pi * u2
                body(i, r * cos(a)); i += 1
                if i < n { body(i, r * sin(a)); i += 1 }
            }
        }
    }

    /// One uniform number in [0, 1).
    func uniform() -> Double {
        var v = 0.0
        fillUniform(1) { _, u in v = u }
        return v
    }
}

/// Seeds the random generator used by `rand`, `randn`, `xavier`, shuffling and dropout.
///
///     setseed(42)
///     let a = Tensor.randn(3)   // same values on every run
public func setseed(_ seed: Int) { RandomSource.shared.reseed(UInt64(bitPattern: Int64(seed))) }

/// SplitMix64: a tiny seeded generator with a fixed, documented algorithm (the same
/// sequence on every platform and Swift version). Seeds `RandomSource` and shuffles
/// minibatches; usable as any `RandomNumberGenerator`.
///
///     var g = SplitMix(seed: 1)
///     let label = Int.random(in: 0..<10, using: &g)
public struct SplitMix: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniformly random permutation of `0..<n` (Fisher–Yates).
    mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, Int(next() % UInt64(i + 1))) }
        return p
    }
}
