// The CPU side of the counter-based generator: every element is computed from its own
// counter (`RandomSource.sample`), so the fill splits over the cores and equals the GPU's.

extension CPUBackend {
    func randomFill(_ y: Tensor, _ distribution: RandomDistribution, key: UInt64, counter: UInt64) {
        func go<T: KnetFloat>(_ p: UnsafeMutablePointer<T>) {
            Parallel.chunks(y.count, costPerElement: 16) { lo, hi in
                for i in lo..<hi { p[i] = T(RandomSource.sample(distribution, y.dtype, key: key, counter: counter, i)) }
            }
        }
        dispatchFloat(y.dtype, { go(y.pointer(Float.self)) }, { go(y.pointer(Double.self)) })
    }
}
