// Convolution kernels: the three cuDNN-style calls (forward, backward data, backward
// filter) behind `ConvolutionBackend`, and their CPU implementation by lowering
// (im2col / col2im) plus one GEMM per image, group and row tile.

import CKnetCPU
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

private extension ConvGeometry {
    /// Whether every kernel tap lies inside the image (no padding, unit strides and dilations).
    var isValid: Bool {
        padding.allSatisfy { $0 == 0 } && stride.allSatisfy { $0 == 1 } && dilation.allSatisfy { $0 == 1 }
    }

    /// The geometry of the C lowering loops for the channels of one group, with `runs` (none:
    /// the general loops).
    func lowering(_ runs: UnsafeBufferPointer<knet_run>) -> knet_lowering {
        func dims(_ a: [Int]) -> (Int, Int, Int) { (a[0], a[1], a[2]) }
        return knet_lowering(x: dims(xSize), y: dims(ySize), kernel: dims(kernel), padding: dims(padding),
                             stride: dims(stride), dilation: dims(dilation), channels: groupChannels,
                             flipped: flipped ? 1 : 0, runs: runs.isEmpty ? nil : runs.baseAddress, run_count: runs.count)
    }

    /// For a valid convolution, the runs along dim 1 of output positions `rows` (the same
    /// for every tap, found once); else none.
    func runs(_ rows: Range<Int>) -> [knet_run] {
        guard isValid else { return [] }
        let (Y1, Y2, X1, X2) = (ySize[0], ySize[1], xSize[0], xSize[1])
        var runs: [knet_run] = []
        var pos = rows.lowerBound
        while pos < rows.upperBound {
            let i1 = pos % Y1, i2 = (pos / Y1) % Y2, i3 = pos / (Y1 * Y2), len = min(Y1 - i1, rows.upperBound - pos)
            runs.append(knet_run(source: (i3 * X2 + i2) * X1 + i1, target: pos - rows.lowerBound, count: len))
            pos += len
        }
        return runs
    }
}

/// Moves data between image `x` (channels of group `group`, zero outside its bounds) and
/// the lowered matrix `col` [rows.count, groupK] (column-major): column k = (k1, k2, k3, c)
/// holds, for each output position of `rows`, the input element that kernel tap k meets
/// there (taps mirrored when `g.flipped`). `scatter == false` fills col (im2col);
/// `scatter == true` adds col back into x (col2im, the adjoint). The loops are
/// `WindowKernels`'; a valid convolution's copy whole runs of positions per tap.
private func lower<T: KnetFloat>(_ g: ConvGeometry, image x: UnsafeMutablePointer<T>, group: Int,
                                 rows: Range<Int>, col: UnsafeMutablePointer<T>, scatter: Bool) {
    let channels = x + group * g.groupChannels * g.xSpatial, loops = WindowKernels.entryPoints(T.self)
    g.runs(rows).withUnsafeBufferPointer { runs in
        var geometry = g.lowering(runs)
        if scatter {
            loops.col2im(&geometry, channels, col, rows.lowerBound, rows.count)
        } else {
            loops.im2col(&geometry, channels, col, rows.lowerBound, rows.count)
        }
    }
}
