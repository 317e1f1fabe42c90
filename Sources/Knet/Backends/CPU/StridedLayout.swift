/// The loop structure shared by every strided CPU kernel: a shape and, per operand,
/// element strides (0 along broadcast dimensions). Adjacent dimensions that every
/// operand walks contiguously are merged first, so most loops end up one or two
/// dimensions deep and the innermost run is a plain pointer loop.
struct StridedLayout {
    var shape: [Int]
    var strides: [[Int]]   // strides[operand][dim]

    /// Merges adjacent dims where every operand's stride is contiguous across them.
    /// `keep` marks dims that must not be merged with a neighbour of the other kind
    /// (used by reductions: reduced and kept dims stay apart).
    init(shape: [Int], strides: [[Int]], kind: [Bool]? = nil) {
        var sh: [Int] = [], st: [[Int]] = strides.map { _ in [] }
        var kinds: [Bool] = []
        for d in shape.indices where shape[d] != 1 {
            let k = kind?[d] ?? false
            if let last = sh.indices.last, kinds[last] == k,
               strides.indices.allSatisfy({ strides[$0][d] == st[$0][last] * sh[last] }) {
                sh[last] *= shape[d]
            } else {
                sh.append(shape[d]); kinds.append(k)
                for o in strides.indices { st[o].append(strides[o][d]) }
            }
        }
        if sh.isEmpty { sh = [1]; kinds = [kind?.first ?? false]; for o in st.indices { st[o] = [0] } }
        self.shape = sh
        self.strides = st
        self.kinds = kinds
    }

    /// Per merged dim: the `kind` flag it was built with.
    let kinds: [Bool]

    var count: Int { shape.reduce(1, *) }

    /// Visits the runs of the flat range `start..<end` (column-major over `shape`):
    /// `body(offsets, runLength)` where `offsets[o]` is operand o's element offset
    /// of the run's first element; along the run operand o advances by `strides[o][0]`.
    @inline(__always)
    func forEachRun(from start: Int, to end: Int, _ body: (UnsafePointer<Int>, Int) -> Void) {
        guard start < end else { return }
        let rank = shape.count, ops = strides.count
        var index = [Int](repeating: 0, count: rank)
        var offsets = [Int](repeating: 0, count: ops)
        var rem = start
        for d in 0..<rank {
            index[d] = rem % shape[d]; rem /= shape[d]
            for o in 0..<ops { offsets[o] += index[d] * strides[o][d] }
        }
        var pos = start
        offsets.withUnsafeMutableBufferPointer { off in
            while pos < end {
                let run = Swift.min(shape[0] - index[0], end - pos)
                body(off.baseAddress!, run)
                pos += run
                // advance the multi-index by `run` along dim 0, carrying upward
                for o in 0..<ops { off[o] += run * strides[o][0] }
                index[0] += run
                var d = 0
                while d < rank - 1 && index[d] == shape[d] {
                    for o in 0..<ops { off[o] -= shape[d] * strides[o][d]; off[o] += strides[o][d + 1] }
                    index[d] = 0
                    index[d + 1] += 1
                    d += 1
                }
            }
        }
    }
}
