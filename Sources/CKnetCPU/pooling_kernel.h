/* One instance of pooling (max and average, forward and backward), included by
 * window_kernels.c once per element type and instruction set, with KT, KN(x) and KATTR
 * defined as for lowering_kernel.h. Maxima are exact; a window's sum adds its elements in
 * column-major order, then is divided by the divisor, and the backward pass adds each
 * window's share in the same order, in every instance (contraction is off), so every
 * instance gives the same bits. The 2×2 loops over a row of windows vectorise. */

/* Whether v replaces the running maximum m: it is larger, or it is the first NaN when NaNs
 * propagate. Without branches (comparisons of random data are unpredictable). */
KATTR static inline int KN(wins)(KT v, KT m, int propagate_nan) {
    return (v > m) | (propagate_nan & (v != v) & (m == m));
}

/* The part of one input plane a window covers, clipped to the real (unpadded) elements:
 * lo..<hi in each of the three spatial dims. */
struct KN(window) { long lo0, hi0, lo1, hi1, lo2, hi2; };

/* Runs the statement that follows for each real element of window w in column-major order,
 * with `i` its offset within a plane. */
#define KNET_FOR_WINDOW(q, w, i)                                                                               \
    for (long c_ = (w).lo2; c_ < (w).hi2; c_++)                                                                \
        for (long b_ = (w).lo1; b_ < (w).hi1; b_++)                                                            \
            for (long a_ = (w).lo0, i = c_ * (q)->x_stride2 + b_ * (q)->x_stride1 + a_; a_ < (w).hi0; a_++, i++)

/* The offset (within a plane) of the window's maximum in `p`: the first in column-major
 * order, or the first NaN when NaNs propagate (the first element when nothing exceeds -Inf). */
KATTR static inline long KN(argmax)(const struct knet_pool* q, const KT* p, struct KN(window) w) {
    long best = w.lo0 + w.lo1 * q->x_stride1 + w.lo2 * q->x_stride2;
    KT m = -INFINITY;
    KNET_FOR_WINDOW(q, w, i) {
        KT v = p[i];
        int take = KN(wins)(v, m, q->propagate_nan);
        m = take ? v : m;
        best = take ? i : best;
    }
    return best;
}

/* The value at argmax(q, p, w), found without tracking the position. */
KATTR static inline KT KN(maximum)(const struct knet_pool* q, const KT* p, struct KN(window) w) {
    KT m = -INFINITY;
    KNET_FOR_WINDOW(q, w, i) {
        KT v = p[i];
        m = KN(wins)(v, m, q->propagate_nan) ? v : m;
    }
    return m == -INFINITY ? p[w.lo0 + w.lo1 * q->x_stride1 + w.lo2 * q->x_stride2] : m;
}

/* The number a window's sum is divided by in the average modes. */
static inline long KN(divisor)(const struct knet_pool* q, struct KN(window) w) {
    return q->mode == 1 ? q->window_size : (w.hi0 - w.lo0) * (w.hi1 - w.lo1) * (w.hi2 - w.lo2);
}

/* Output position o's window, o = i + y0·(j + y1·k). */
static inline struct KN(window) KN(window_at)(const struct knet_pool* q, long i, long j, long k) {
    const long* b0 = q->bounds;
    const long *b1 = b0 + 2 * q->y[0], *b2 = b1 + 2 * q->y[1];
    return (struct KN(window)){b0[2 * i], b0[2 * i + 1], b1[2 * j], b1[2 * j + 1], b2[2 * k], b2[2 * k + 1]};
}

KATTR static void KN(pool)(const struct knet_pool* q, const void* v_, const void* selector_, void* y_, long lo, long hi) {
    const KT *v = v_, *selector = selector_;
    KT* y = y_;
    const KT alpha = (KT)q->alpha;
    for (long plane = lo; plane < hi; plane++) {
        const KT *p = v + plane * q->x_plane, *s = selector + plane * q->x_plane;
        KT* out = y + plane * q->y_plane;
        for (long k = 0; k < q->y[2]; k++)
            for (long j = 0; j < q->y[1]; j++)
                for (long i = 0; i < q->y[0]; i++) {
                    struct KN(window) w = KN(window_at)(q, i, j, k);
                    KT r;
                    if (q->mode == 0) {
                        r = selector == v ? KN(maximum)(q, p, w) : p[KN(argmax)(q, s, w)];
                    } else {
                        KT sum = 0;
                        KNET_FOR_WINDOW(q, w, e) sum += p[e];
                        r = sum / (KT)KN(divisor)(q, w);
                    }
                    *out++ = alpha * r;
                }
    }
}

KATTR static void KN(pool_backward)(const struct knet_pool* q, const void* dy_, const void* selector_, void* dx_, long lo,
                                    long hi) {
    const KT *dy = dy_, *selector = selector_;
    KT* dx = dx_;
    const KT alpha = (KT)q->alpha;
    for (long plane = lo; plane < hi; plane++) {
        KT* p = dx + plane * q->x_plane;
        const KT* g = dy + plane * q->y_plane;
        for (long e = 0; e < q->x_plane; e++) p[e] = 0;
        for (long k = 0; k < q->y[2]; k++)
            for (long j = 0; j < q->y[1]; j++)
                for (long i = 0; i < q->y[0]; i++) {
                    struct KN(window) w = KN(window_at)(q, i, j, k);
                    KT gradient = alpha * *g++;
                    if (q->mode == 0) {
                        p[KN(argmax)(q, selector + plane * q->x_plane, w)] += gradient;
                        continue;
                    }
                    KT share = gradient / (KT)KN(divisor)(q, w);
                    KNET_FOR_WINDOW(q, w, e) p[e] += share;
                }
    }
}

/* Which of a 2×2 window's elements argmax picks, numbered in column-major order (0 and 1
 * along dim 0, 2 and 3 one step along dim 1), as a KT (so that it vectorises at KT's width). */
KATTR static inline KT KN(pick)(KT s0, KT s1, KT s2, KT s3, int propagate_nan) {
    KT m = -INFINITY, k = 0;
    int take = KN(wins)(s0, m, propagate_nan);
    m = take ? s0 : m;
    take = KN(wins)(s1, m, propagate_nan);
    m = take ? s1 : m;
    k = take ? 1 : k;
    take = KN(wins)(s2, m, propagate_nan);
    m = take ? s2 : m;
    k = take ? 2 : k;
    take = KN(wins)(s3, m, propagate_nan);
    return take ? 3 : k;
}

/* Windows i ..< i + count of one row of 2×2 windows, outputs at out[i]: the inputs are two
 * rows (top, bottom) of twice as many elements, the maxima located in s_top, s_bottom. */
KATTR static inline __attribute__((always_inline)) void KN(pool_2x2_block)(
    const KT* restrict top, const KT* restrict bottom, const KT* restrict s_top, const KT* restrict s_bottom,
    KT* restrict out, long i, long count, KT alpha, int propagate_nan) {
#pragma clang loop unroll(disable)
    for (long t = i; t < i + count; t++) {
        KT k = KN(pick)(s_top[2 * t], s_top[2 * t + 1], s_bottom[2 * t], s_bottom[2 * t + 1], propagate_nan);
        KT v = k == 0 ? top[2 * t] : (k == 1 ? top[2 * t + 1] : (k == 2 ? bottom[2 * t] : bottom[2 * t + 1]));
        out[t] = alpha * v;
    }
}

/* The same where the maxima are located in the values themselves: the maximum, found
 * without tracking its position (which would select among loads: a gather). */
KATTR static inline __attribute__((always_inline)) void KN(pool_2x2_max_block)(
    const KT* restrict top, const KT* restrict bottom, KT* restrict out, long i, long count, KT alpha,
    int propagate_nan) {
#pragma clang loop unroll(disable)
    for (long t = i; t < i + count; t++) {
        KT v0 = top[2 * t], m = -INFINITY;
        m = KN(wins)(v0, m, propagate_nan) ? v0 : m;
        m = KN(wins)(top[2 * t + 1], m, propagate_nan) ? top[2 * t + 1] : m;
        m = KN(wins)(bottom[2 * t], m, propagate_nan) ? bottom[2 * t] : m;
        m = KN(wins)(bottom[2 * t + 1], m, propagate_nan) ? bottom[2 * t + 1] : m;
        out[t] = alpha * (m == -INFINITY ? v0 : m);
    }
}

/* Its adjoint: each window gets alpha·dy at its argmax and +0 elsewhere (a gradient of -0
 * lands as +0, as the general path's 0 + g gives). */
KATTR static inline __attribute__((always_inline)) void KN(pool_2x2_backward_block)(
    const KT* restrict dy, const KT* restrict s_top, const KT* restrict s_bottom, KT* restrict top,
    KT* restrict bottom, long i, long count, KT alpha, int propagate_nan) {
#pragma clang loop unroll(disable)
    for (long t = i; t < i + count; t++) {
        KT k = KN(pick)(s_top[2 * t], s_top[2 * t + 1], s_bottom[2 * t], s_bottom[2 * t + 1], propagate_nan);
        KT g = alpha * dy[t] + 0;
        top[2 * t] = k == 0 ? g : 0;
        top[2 * t + 1] = k == 1 ? g : 0;
        bottom[2 * t] = k == 2 ? g : 0;
        bottom[2 * t + 1] = k == 3 ? g : 0;
    }
}

/* Calls BLOCK(i, count, nan) over a row of n windows in blocks of 8 (of 4 for rows of fewer
 * than 8, one block for rows of fewer than 4), the last block overlapping the one before
 * (blocks of a constant size vectorise; a window done twice is written twice alike). */
#define KNET_2X2_BLOCKS(n, BLOCK, nan)                                                                         \
    do {                                                                                                       \
        if ((n) >= 8) for (long i = 0; i < (n); i += 8) BLOCK(i < (n) - 8 ? i : (n) - 8, 8, nan);              \
        else if ((n) >= 4) for (long i = 0; i < (n); i += 4) BLOCK(i < (n) - 4 ? i : (n) - 4, 4, nan);         \
        else BLOCK(0, (n), nan);                                                                               \
    } while (0)

/* Calls BLOCK over every row of 2×2 windows of planes lo..<hi, where `in` is the offset of
 * the row's top input row and `o` of its outputs, the NaN option a constant in each copy. */
#define KNET_2X2_ROWS(BLOCK)                                                                                   \
    for (long plane = lo; plane < hi; plane++)                                                                 \
        for (long j = 0; j < q->y[1]; j++) {                                                                   \
            long in = plane * q->x_plane + 2 * j * q->x_stride1, o = plane * q->y_plane + j * q->y[0];         \
            if (q->propagate_nan) KNET_2X2_BLOCKS(q->y[0], BLOCK, 1);                                          \
            else KNET_2X2_BLOCKS(q->y[0], BLOCK, 0);                                                           \
        }

KATTR static void KN(pool_2x2)(const struct knet_pool* q, const void* v_, const void* selector_, void* y_, long lo,
                               long hi) {
    const KT *v = v_, *s = selector_;
    KT* y = y_;
    const KT alpha = (KT)q->alpha;
    const long r = q->x_stride1;
#define BLOCK(i, count, nan) KN(pool_2x2_block)(v + in, v + in + r, s + in, s + in + r, y + o, i, count, alpha, nan)
#define MAX_BLOCK(i, count, nan) KN(pool_2x2_max_block)(v + in, v + in + r, y + o, i, count, alpha, nan)
    if (s == v) {
        KNET_2X2_ROWS(MAX_BLOCK)
    } else {
        KNET_2X2_ROWS(BLOCK)
    }
#undef MAX_BLOCK
#undef BLOCK
}

KATTR static void KN(pool_2x2_backward)(const struct knet_pool* q, const void* dy_, const void* selector_, void* dx_,
                                        long lo, long hi) {
    const KT *dy = dy_, *s = selector_;
    KT* dx = dx_;
    const KT alpha = (KT)q->alpha;
    const long r = q->x_stride1;
#define BLOCK(i, count, nan) \
    KN(pool_2x2_backward_block)(dy + o, s + in, s + in + r, dx + in, dx + in + r, i, count, alpha, nan)
    KNET_2X2_ROWS(BLOCK)
#undef BLOCK
}

#undef KNET_FOR_WINDOW
#undef KNET_2X2_ROWS
#undef KNET_2X2_BLOCKS
