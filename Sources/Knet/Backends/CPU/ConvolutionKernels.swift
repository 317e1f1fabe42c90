// Convolution kernels: the three cuDNN-style calls (forward, backward data, backward
// filter) behind `ConvolutionBackend`, and their CPU implementation by lowering
// (im2col / col2im) plus one GEMM per image, group and row tile.

import KnetGEMM



extension CPUBackend: ConvolutionBackend {
    func convolution(_ w: Tensor, _ x: Tensor, into y: Tensor, _ g: ConvGeometry, alpha: Double) {
        dispatchFloat(y.dtype,
            { convForward(g, w.pointer(Float.self), x.pointer(Float.self), y.pointer(Float.self), Float(alpha)) },
            { convForward(g, w.pointer(Double.self), x.pointer(Double.self), y.pointer(Double.self), alpha) })
    }

    func convolutionBackwardData(_ w: Tensor, _ dy: Tensor, into dx: Tensor, _ g: ConvGeometry, alpha: Double) {
        dispatchFloat(dx.dtype,
            { convBackwardData(g, w.pointer(Float.self), dy.pointer(Float.self), dx.pointer(Float.self), Float(alpha)) },
            { convBackwardData(g, w.pointer(Double.self), dy.pointer(Double.self), dx.pointer(Double.self), alpha) })
    }

    func convolutionBackwardFilter(_ x: Tensor, _ dy: Tensor, into dw: Tensor, _ g: ConvGeometry, alpha: Double) {
        dispatchFloat(dw.dtype,
            { convBackwardFilter(g, x.pointer(Float.self), dy.pointer(Float.self), dw.pointer(Float.self), Float(alpha)) },
            { convBackwardFilter(g, x.pointer(Double.self), dy.pointer(Double.self), dw.pointer(Double.self), alpha) })
    }
}

// MARK: - drivers

/// Tuning of the CPU convolution.
enum CPUConvolution {
    /// The lowered-image scratch of all threads together stays under this many bytes
    /// (64 MB); larger images are lowered in row tiles. Tests lower it to exercise tiling.
    nonisolated(unsafe) static var loweringBudgetBytes = 64 << 20
}

/// How the output rows (flat positions of all images, image-major) are shared among
/// threads. `.images` gives each part whole images: col2im adds into the image, so two
/// parts must not share one. `.rows` may also cut an image between parts, so that a
/// batch smaller than the thread count still keeps every core busy.
enum ConvolutionSplit { case images, rows }

/// The fewest output rows worth a part of their own.
private let minimumRowsPerPart = 16

/// The number of parts (one per thread of `threads` and at most `maxParts`) and the rows
/// each covers (a multiple of `ySpatial` unless `.rows` cuts images).
func partition(_ g: ConvGeometry, _ split: ConvolutionSplit, maxParts: Int = .max,
               threads: Int = Parallel.threads) -> (parts: Int, unit: Int) {
    let threads = min(threads, max(1, maxParts))
    if split == .images || g.batch >= threads { return (min(threads, g.batch), g.ySpatial) }
    return (min(threads, max(1, g.batch * g.ySpatial / minimumRowsPerPart)), 1)
}

/// One unit of work: rows `rows` (flat output positions) of image `image`; `first` is
/// true for the first tile a part visits.
typealias Tile = (image: Int, rows: Range<Int>, first: Bool)

/// Calls `body` with the tiles of part `p` of a `partition` into `parts` parts of `unit`
/// rows, in order: row ranges of one image each, at most `tileRows` long.
@inline(__always)
func forEachTile(of p: Int, parts: Int, unit: Int, _ g: ConvGeometry, tileRows: Int, _ body: (Tile) -> Void) {
    let units = g.batch * g.ySpatial / unit
    let start = units * p / parts * unit, end = units * (p + 1) / parts * unit
    var pos = start
    while pos < end {
        let image = pos / g.ySpatial, row = pos % g.ySpatial
        let rows = row ..< min(g.ySpatial, row + tileRows, row + end - pos)
        body((image, rows, pos == start))
        pos += rows.count
    }
}

/// Splits the output rows into parts (see `ConvolutionSplit`, `partition`), cuts each part into row tiles of one
/// image whose lowered matrix (`rows × groupK`) fits the budget, and calls
/// `body(part, tile, col)` with that part's scratch `col`. Parts run concurrently and
/// their GEMMs single-threaded (`CPUBLAS.gemm` picks the Swift kernel inside a parallel
/// region, as a system BLAS would start threads of its own), while one part leaves the
/// GEMM free to use every core. Returns the number of parts.
@discardableResult
private func forEachTile<T: KnetFloat>(
    _ g: ConvGeometry, _: T.Type, _ split: ConvolutionSplit, maxParts: Int = .max,
    _ body: (_ part: Int, _ tile: Tile, _ col: UnsafeMutablePointer<T>) -> Void
) -> Int {
    let (parts, unit) = partition(g, split, maxParts: maxParts)
    guard g.batch > 0, g.ySpatial > 0 else { return 0 }
    let budget = max(1, CPUConvolution.loweringBudgetBytes / MemoryLayout<T>.stride / parts)
    let tileRows = max(1, min(g.ySpatial, budget / max(g.groupK, 1)))
    let scratch = Tensor(uninitialized: [parts * tileRows * g.groupK], dtype: T.dtype)
    defer { withExtendedLifetime(scratch) {} }
    let base = scratch.pointer(T.self)
    Parallel.forEach(parts) { p in
        let col = base + p * tileRows * g.groupK
        forEachTile(of: p, parts: parts, unit: unit, g, tileRows: tileRows) { body(p, $0, col) }
    }
    return parts
}

/// Pointers to image `n`'s data in x ([xSize..., C, N]) and y ([ySize..., O, N]), and
/// group `grp`'s filter matrix ([groupK, groupOutChannels], column-major).
private extension ConvGeometry {
    func image<T>(_ x: UnsafeMutablePointer<T>, _ n: Int) -> UnsafeMutablePointer<T> { x + n * xSpatial * channels }
    func output<T>(_ y: UnsafeMutablePointer<T>, _ n: Int, group grp: Int) -> UnsafeMutablePointer<T> {
        y + (n * outChannels + grp * groupOutChannels) * ySpatial
    }
    func filter<T>(_ w: UnsafeMutablePointer<T>, group grp: Int) -> UnsafeMutablePointer<T> {
        w + grp * groupOutChannels * groupK
    }
}

/// y_n[rows, group's O] = alpha * col[rows, K] * w_g[K, O_g], col = im2col(x_n).
private func convForward<T: KnetFloat>(_ g: ConvGeometry, _ w: UnsafeMutablePointer<T>, _ x: UnsafeMutablePointer<T>,
                                       _ y: UnsafeMutablePointer<T>, _ alpha: T) {
    forEachTile(g, T.self, .rows) { _, tile, col in
        let m = tile.rows.count
        for grp in 0..<g.groups {
            lower(g, image: g.image(x, tile.image), group: grp, rows: tile.rows, col: col, scatter: false)
            CPUBLAS.gemm(transA: false, transB: false, m: m, n: g.groupOutChannels, k: g.groupK, alpha: alpha,
                         a: col, lda: m, b: g.filter(w, group: grp), ldb: g.groupK,
                         beta: 0, c: g.output(y, tile.image, group: grp) + tile.rows.lowerBound, ldc: g.ySpatial)
        }
    }
}

/// col[rows, K] = alpha * dy_n[rows, O_g] * w_gᵀ, then dx_n += col2im(col).
private func convBackwardData<T: KnetFloat>(_ g: ConvGeometry, _ w: UnsafeMutablePointer<T>, _ dy: UnsafeMutablePointer<T>,
                                            _ dx: UnsafeMutablePointer<T>, _ alpha: T) {
    forEachTile(g, T.self, .images) { _, tile, col in
        let m = tile.rows.count, image = g.image(dx, tile.image)
        if tile.rows.lowerBound == 0 { image.update(repeating: 0, count: g.xSpatial * g.channels) }
        for grp in 0..<g.groups {
            CPUBLAS.gemm(transA: false, transB: true, m: m, n: g.groupK, k: g.groupOutChannels, alpha: alpha,
                         a: g.output(dy, tile.image, group: grp) + tile.rows.lowerBound, lda: g.ySpatial,
                         b: g.filter(w, group: grp), ldb: g.groupK, beta: 0, c: col, ldc: m)
            lower(g, image: image, group: grp, rows: tile.rows, col: col, scatter: true)
        }
    }
}

/// dw_g[K, O_g] = alpha * Σ_n col_nᵀ * dy_n[rows, O_g]; each part sums its tiles into
/// its own copy of dw (part 0 into dw itself), then the copies are added (in parallel).
private func convBackwardFilter<T: KnetFloat>(_ g: ConvGeometry, _ x: UnsafeMutablePointer<T>, _ dy: UnsafeMutablePointer<T>,
                                              _ dw: UnsafeMutablePointer<T>, _ alpha: T) {
    let count = g.groupK * g.outChannels
    // The partial copies stay within the lowering budget (a large filter splits less).
    let maxParts = 1 + CPUConvolution.loweringBudgetBytes / max(1, count * MemoryLayout<T>.stride)
    let partials = Tensor(uninitialized: [max(0, partition(g, .rows, maxParts: maxParts).parts - 1) * count],
                          dtype: T.dtype)
    defer { withExtendedLifetime(partials) {} }
    let extra = partials.pointer(T.self)
    let used = forEachTile(g, T.self, .rows, maxParts: maxParts) { part, tile, col in
        let target = part == 0 ? dw : extra + (part - 1) * count
        let m = tile.rows.count
        for grp in 0..<g.groups {
            lower(g, image: g.image(x, tile.image), group: grp, rows: tile.rows, col: col, scatter: false)
            CPUBLAS.gemm(transA: true, transB: false, m: g.groupK, n: g.groupOutChannels, k: m, alpha: alpha,
                         a: col, lda: m, b: g.output(dy, tile.image, group: grp) + tile.rows.lowerBound, ldb: g.ySpatial,
                         beta: tile.first ? 0 : 1, c: g.filter(target, group: grp), ldc: g.groupK)
        }
    }
    if used == 0 { dw.update(repeating: 0, count: count); return }
    guard used > 1 else { return }
    Parallel.chunks(count, costPerElement: used - 1) { lo, hi in
        for p in 1..<used { addRun(from: extra + (p - 1) * count + lo, to: dw + lo, hi - lo) }
    }
}

// MARK: - lowering

/// Ceiling of a / b for b > 0.
@inline(__always) private func ceilDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? (a + b - 1) / b : -((-a) / b) }

/// Moves data between image `x` (channels of group `group`, zero outside its bounds) and
/// the lowered matrix `col` [rows.count, groupK] (column-major): column k = (k1, k2, k3, c)
/// holds, for each output position of `rows`, the input element that kernel tap k meets
/// there (taps mirrored when `g.flipped`). `scatter == false` fills col (im2col);
/// `scatter == true` adds col back into x (col2im, the adjoint).
private func lower<T: KnetFloat>(_ g: ConvGeometry, image x: UnsafeMutablePointer<T>, group: Int,
                                 rows: Range<Int>, col: UnsafeMutablePointer<T>, scatter: Bool) {
    let (X1, X2, X3) = (g.xSize[0], g.xSize[1], g.xSize[2])
    let (Y1, Y2) = (g.ySize[0], g.ySize[1])
    let (K1, K2, K3) = (g.kernel[0], g.kernel[1], g.kernel[2])
    let (s1, s2, s3) = (g.stride[0], g.stride[1], g.stride[2])
    let (d1, d2, d3) = (g.dilation[0], g.dilation[1], g.dilation[2])
    let (p1, p2, p3) = (g.padding[0], g.padding[1], g.padding[2])
    let m = rows.count, firstChannel = group * g.groupChannels
    @inline(__always) func tap(_ k: Int, _ size: Int) -> Int { g.flipped ? size - 1 - k : k }
    if g.padding.allSatisfy({ $0 == 0 }) && g.stride.allSatisfy({ $0 == 1 }) && g.dilation.allSatisfy({ $0 == 1 }) {
        // A valid convolution (every tap inside the image): the rows' runs along dim 1
        // are found once, then each column copies them from (or adds them back to) its
        // tap's shifted position.
        var runs: [(source: Int, target: Int, count: Int)] = []
        var pos = rows.lowerBound
        while pos < rows.upperBound {
            let i1 = pos % Y1, i2 = (pos / Y1) % Y2, i3 = pos / (Y1 * Y2), len = min(Y1 - i1, rows.upperBound - pos)
            runs.append(((i3 * X2 + i2) * X1 + i1, pos - rows.lowerBound, len))
            pos += len
        }
        var column = col
        for c in 0..<g.groupChannels {
            let channel = x + (firstChannel + c) * g.xSpatial
            for k3 in 0..<K3 {
                for k2 in 0..<K2 {
                    for k1 in 0..<K1 {
                        let shifted = channel + (tap(k3, K3) * X2 + tap(k2, K2)) * X1 + tap(k1, K1)
                        if scatter {
                            for run in runs { addRun(from: column + run.target, to: shifted + run.source, run.count) }
                        } else {
                            for run in runs { copyRun(from: shifted + run.source, to: column + run.target, run.count) }
                        }
                        column += m
                    }
                }
            }
        }
        return
    }
    var pos = rows.lowerBound
    while pos < rows.upperBound {
        // One run of output positions along dim 1: (i1 ..< i1 + len, i2, i3).
        let i1 = pos % Y1, i2 = (pos / Y1) % Y2, i3 = pos / (Y1 * Y2)
        let len = min(Y1 - i1, rows.upperBound - pos)
        var column = col + (pos - rows.lowerBound)
        for c in 0..<g.groupChannels {
            let channel = x + (firstChannel + c) * g.xSpatial
            for k3 in 0..<K3 {
                let x3 = i3 * s3 - p3 + tap(k3, K3) * d3
                for k2 in 0..<K2 {
                    let x2 = i2 * s2 - p2 + tap(k2, K2) * d2
                    let inside = x3 >= 0 && x3 < X3 && x2 >= 0 && x2 < X2
                    for k1 in 0..<K1 {
                        defer { column += m }
                        guard inside else {
                            if !scatter { for t in 0..<len { column[t] = 0 } }
                            continue
                        }
                        // x1 = start + t * s1 for t in 0..<len; keep 0 <= x1 < X1.
                        let start = i1 * s1 - p1 + tap(k1, K1) * d1
                        let lo = min(len, max(0, s1 == 1 ? -start : ceilDiv(-start, s1)))   // no div
                        let hi = max(lo, min(len, s1 == 1 ? X1 - start : ceilDiv(X1 - start, s1)))
                        let line = channel + (x3 * X2 + x2) * X1 + start
                        if scatter {
                            if s1 == 1 {
                                addRun(from: column + lo, to: line + lo, hi - lo)
                            } else {
                                for t in lo..<hi { line[t * s1] += column[t] }
                            }
                        } else {
                            // Runs are short (a row of the output): plain loops beat
                            // memmove/memset calls here.
                            for t in 0..<lo { column[t] = 0 }
                            if s1 == 1 {
                                copyRun(from: line + lo, to: column + lo, hi - lo)
                            } else {
                                for t in lo..<hi { column[t] = line[t * s1] }
                            }
                            for t in hi..<len { column[t] = 0 }
                        }
                    }
                }
            }
        }
        pos += len
    }
}
