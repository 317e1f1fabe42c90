#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The package's random number generator, shared by all threads and devices: a
/// counter-based stream (SplitMix64 evaluated at a counter), so any device can draw
/// element i of a fill independently and every device draws the same numbers. Draw k of
/// the stream seeded with s is `SplitMix(seed: s)`'s k-th output. `setseed` makes
/// initialisation, shuffling and dropout reproducible.
///
/// Thread safety: one stream for the whole process, safe to draw from on any number of
/// threads. Each fill reserves its own counter range under a mutex, so concurrent draws
/// never repeat or tear a number; but which thread gets which range depends on timing,
/// so threads drawing at once are reproducible only together (the set of numbers), not
/// one by one. For bit-reproducible concurrent training, draw (initialise, shuffle with a
/// `seed:`) before the threads start, or give each thread no random ops.
final class RandomSource: Sendable {
    static let shared = RandomSource()
    /// (key, next counter).
    private let state = Mutex<(UInt64, UInt64)>((0, 0))

    private init() {
        var system = SystemRandomNumberGenerator()
        reseed(system.next())
    }

    /// Restarts the stream of `seed` at counter 0.
    func reseed(_ seed: UInt64) { state.withLock { $0 = (seed, 0) } }

    /// Takes `count` consecutive counters (rounded up to even, so normal pairs never
    /// straddle two fills) and returns the key and the first counter.
    func reserve(_ count: Int) -> (key: UInt64, counter: UInt64) {
        state.withLock { s in
            let first = s.1
            s.1 &+= UInt64(count + count % 2)
            return (s.0, first)
        }
    }

    /// The 64 random bits at `counter` of the stream `key` (SplitMix64's finaliser of
    /// `key + (counter + 1)·γ`); the CUDA kernels compute the same function.
    @inline(__always) static func bits(key: UInt64, counter: UInt64) -> UInt64 {
        var z = key &+ (counter &+ 1) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) from 64 bits: 53-bit resolution, or 24 bits for Float32 so
    /// that the value stays below 1 once rounded to Float.
    @inline(__always) static func unit(_ bits: UInt64, _ dtype: DType = .float64) -> Double {
        dtype == .float32 ? Double(bits >> 40) * 0x1.0p-24 : Double(bits >> 11) * 0x1.0p-53
    }

    /// Element `i` of a fill of `distribution` that starts at `counter` (the formula
    /// every backend implements for a tensor of `dtype`; Box–Muller on the counter pair
    /// `2⌊i/2⌋, +1`).
    @inline(__always) static func sample(_ distribution: RandomDistribution, _ dtype: DType, key: UInt64, counter: UInt64,
                                         _ i: Int) -> Double {
        switch distribution {
        case .uniform(let scale, let shift): return shift + scale * unit(bits(key: key, counter: counter &+ UInt64(i)), dtype)
        case .bernoulli(let p, let value): return unit(bits(key: key, counter: counter &+ UInt64(i)), dtype) >= p ? value : 0
        case .normal(let mean, let std):
            let pair = counter &+ UInt64(i & ~1)
            let u1 = Double((bits(key: key, counter: pair) >> 11) + 1) * 0x1.0p-53      // (0, 1]
            let u2 = unit(bits(key: key, counter: pair &+ 1))
            let r = (-2 * log(u1)).squareRoot(), a = 2 * Double.pi * u2
            return mean + std * (i & 1 == 0 ? r * cos(a) : r * sin(a))
        }
    }

    /// One uniform number in [0, 1).
    func uniform() -> Double {
        let (key, counter) = reserve(1)
        return RandomSource.unit(RandomSource.bits(key: key, counter: counter))
    }

    /// Fills `y` (any device) from this stream.
    func fill(_ y: Tensor, _ distribution: RandomDistribution) {
        let (key, counter) = reserve(y.count)
        Backend.on(y.device).randomFill(y, distribution, key: key, counter: counter)
    }
}

/// Seeds the random generator used by `rand`, `randn`, `xavier`, shuffling and dropout.
/// The generator is shared by all threads (safe, but threads drawing at once get their
/// numbers in timing order: see the README's "Thread safety").
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
