/* One instance of the convolution lowering (im2col, and col2im its adjoint), included by
 * window_kernels.c once per element type and instruction set. Before including, define KT
 * (float or double), KN(x) (the instance's name for x) and KATTR (the function attribute
 * selecting the instruction set, may be empty). Copies are exact and col2im adds each
 * element of col once, in the same order in every instance (contraction is off), so every
 * instance gives the same bits; the loops over a run of output positions vectorise. */

/* Copies n contiguous elements eight at a time, then the rest: runs are short (rows of an
 * output), where a vector loop's set-up or a memcpy call would cost more. */
KATTR static inline void KN(copy_run)(const KT* restrict source, KT* restrict target, long n) {
    long t = 0;
    for (; t + 8 <= n; t += 8)
        for (long j = 0; j < 8; j++) target[t + j] = source[t + j];
#pragma clang loop vectorize(disable)
    for (; t < n; t++) target[t] = source[t];
}

/* Adds n contiguous elements of source into target, eight at a time, then the rest. */
KATTR static inline void KN(add_run)(const KT* restrict source, KT* restrict target, long n) {
    long t = 0;
    for (; t + 8 <= n; t += 8)
        for (long j = 0; j < 8; j++) target[t + j] += source[t + j];
#pragma clang loop vectorize(disable)
    for (; t < n; t++) target[t] += source[t];
}

/* A valid convolution (every tap inside the image): each column copies the runs from its
 * tap's shifted position (scatter: adds them back there). */
KATTR static inline __attribute__((always_inline)) void KN(lower_valid)(const struct knet_lowering* g, KT* restrict x,
                                                                        KT* restrict col, long count, int scatter) {
    const long X1 = g->x[0], X2 = g->x[1];
    const long K1 = g->kernel[0], K2 = g->kernel[1], K3 = g->kernel[2];
    KT* column = col;
    for (long c = 0; c < g->channels; c++) {
        KT* channel = x + c * X1 * X2 * g->x[2];
        for (long k3 = 0; k3 < K3; k3++)
            for (long k2 = 0; k2 < K2; k2++)
                for (long k1 = 0; k1 < K1; k1++, column += count) {
                    KT* shifted = channel + (knet_tap(g, k3, K3) * X2 + knet_tap(g, k2, K2)) * X1 + knet_tap(g, k1, K1);
                    for (const struct knet_run* r = g->runs; r < g->runs + g->run_count; r++) {
                        if (scatter) KN(add_run)(column + r->target, shifted + r->source, r->count);
                        else KN(copy_run)(shifted + r->source, column + r->target, r->count);
                    }
                }
    }
}

/* Any geometry: for each run of output positions along dim 1, each column takes (scatter:
 * adds back) the run's elements its tap meets, zeros where they fall outside the image. */
KATTR static inline __attribute__((always_inline)) void KN(lower_general)(const struct knet_lowering* g, KT* restrict x, KT* restrict col, long first,
                                           long count, int scatter) {
    const long X1 = g->x[0], X2 = g->x[1], X3 = g->x[2], Y1 = g->y[0], Y2 = g->y[1];
    const long K1 = g->kernel[0], K2 = g->kernel[1], K3 = g->kernel[2];
    const long s1 = g->stride[0], s2 = g->stride[1], s3 = g->stride[2];
    const long d1 = g->dilation[0], d2 = g->dilation[1], d3 = g->dilation[2];
    const long p1 = g->padding[0], p2 = g->padding[1], p3 = g->padding[2];
    const long end = first + count;
    for (long pos = first; pos < end;) {
        const long i1 = pos % Y1, i2 = (pos / Y1) % Y2, i3 = pos / (Y1 * Y2);
        const long len = Y1 - i1 < end - pos ? Y1 - i1 : end - pos;
        KT* column = col + (pos - first);
        for (long c = 0; c < g->channels; c++) {
            KT* channel = x + c * X1 * X2 * X3;
            for (long k3 = 0; k3 < K3; k3++) {
                long x3 = i3 * s3 - p3 + knet_tap(g, k3, K3) * d3;
                for (long k2 = 0; k2 < K2; k2++) {
                    long x2 = i2 * s2 - p2 + knet_tap(g, k2, K2) * d2;
                    int inside = x3 >= 0 && x3 < X3 && x2 >= 0 && x2 < X2;
                    for (long k1 = 0; k1 < K1; k1++, column += count) {
                        if (!inside) {
                            if (!scatter) for (long t = 0; t < len; t++) column[t] = 0;
                            continue;
                        }
                        /* x1 = start + t·s1 for t < len; keep 0 <= x1 < X1. */
                        long start = i1 * s1 - p1 + knet_tap(g, k1, K1) * d1;
                        long lo = s1 == 1 ? -start : knet_ceil_div(-start, s1);
                        lo = lo < 0 ? 0 : (lo > len ? len : lo);
                        long hi = s1 == 1 ? X1 - start : knet_ceil_div(X1 - start, s1);
                        hi = hi > len ? len : (hi < lo ? lo : hi);
                        KT* line = channel + (x3 * X2 + x2) * X1;
                        if (scatter) {
                            for (long t = lo; t < hi; t++) line[start + t * s1] += column[t];
                        } else {
                            for (long t = 0; t < lo; t++) column[t] = 0;
                            for (long t = lo; t < hi; t++) column[t] = line[start + t * s1];
                            for (long t = hi; t < len; t++) column[t] = 0;
                        }
                    }
                }
            }
        }
        pos += len;
    }
}

/* The runs path for a valid convolution, else the general one; inlined into im2col and
 * col2im, so that `scatter` is a constant in each. */
KATTR static inline __attribute__((always_inline)) void KN(lower)(const struct knet_lowering* g, KT* x, KT* col, long first, long count, int scatter) {
    if (g->runs) KN(lower_valid)(g, x, col, count, scatter);
    else KN(lower_general)(g, x, col, first, count, scatter);
}

KATTR static void KN(im2col)(const struct knet_lowering* g, const void* x, void* col, long first, long count) {
    KN(lower)(g, (KT*)x, col, first, count, 0);
}

KATTR static void KN(col2im)(const struct knet_lowering* g, void* x, const void* col, long first, long count) {
    KN(lower)(g, x, (KT*)col, first, count, 1);
}
