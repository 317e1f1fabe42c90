/* One instance of Knet's GEMM, included by gemm.c once per element type and instruction
 * set. Before including, define:
 *   KT      the element type (float or double)
 *   KW      elements per vector register (4/8/16 floats, 2/4/8 doubles)
 *   KN(x)   the instance's name for x (e.g. knet_sgemm_avx2_ ## x)
 *   KATTR   the function attribute that selects the instruction set (may be empty)
 *   KMC, KNC  the row and column blocking (the A block mc×kc stays in L2, B's kc×nc in L3)
 * A packed-panel GEMM in the style of GotoBLAS/BLIS: panels of op(A) of MR = 2·KW rows
 * and of op(B) of NR = 6 columns, both k-major, multiplied by a register-blocked
 * micro-kernel of 12 vector accumulators with fused multiply-adds. Every element of C is
 * summed over k in the same order by every instance (k in blocks of KKC, in order, one FMA
 * per k), so all instances give the same bits. */

#define MR (2 * KW)

typedef KT KN(vec) __attribute__((ext_vector_type(KW)));
typedef KT KN(uvec) __attribute__((ext_vector_type(KW), aligned(sizeof(KT))));

/* Element (i, j) of op(X) for a column-major X with leading dimension ld. */
#define AT(x, ld, trans, i, j) ((trans) ? (x) + (j) + (i) * (ld) : (x) + (i) + (j) * (ld))

/* Writes the transpose of the 8×8 block at s (rows s + i·ls, eight contiguous elements
 * each) to d (rows d + j·ld): three rounds of shuffles, pairs, then quads, then halves. */
KATTR static inline __attribute__((always_inline)) void KN(transpose8)(const KT* s, long ls, KT* d, long ld) {
    typedef KT V8 __attribute__((ext_vector_type(8)));
    typedef KT U8 __attribute__((ext_vector_type(8), aligned(sizeof(KT))));
    V8 r[8], t[8], q[8];
    for (int i = 0; i < 8; i++) r[i] = *(const U8*)(s + i * ls);
    for (int i = 0; i < 8; i += 2) {        /* t[i]: even columns of rows i, i+1 interleaved; t[i+1]: odd */
        t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 2, 10, 4, 12, 6, 14);
        t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 1, 9, 3, 11, 5, 13, 7, 15);
    }
    for (int h = 0; h < 8; h += 4)          /* q[h + c]: columns c and c + 4 (c < 4) of rows h..h+3 */
        for (int e = 0; e < 2; e++) {
            q[h + e] = __builtin_shufflevector(t[h + e], t[h + 2 + e], 0, 1, 8, 9, 4, 5, 12, 13);
            q[h + 2 + e] = __builtin_shufflevector(t[h + e], t[h + 2 + e], 2, 3, 10, 11, 6, 7, 14, 15);
        }
    for (int c = 0; c < 4; c++) {
        *(U8*)(d + c * ld) = __builtin_shufflevector(q[c], q[4 + c], 0, 1, 2, 3, 8, 9, 10, 11);
        *(U8*)(d + (c + 4) * ld) = __builtin_shufflevector(q[c], q[4 + c], 4, 5, 6, 7, 12, 13, 14, 15);
    }
}

/* Packs the mb×kb block of op(A) at (i0, p0) into panels of MR rows, k-major, zero-padding
 * the last panel. */
KATTR static void KN(pack_a)(const KT* a, long lda, int trans, long i0, long p0, long mb, long kb, KT* d) {
    for (long ir = 0; ir < mb; ir += MR) {
        long rows = mb - ir < MR ? mb - ir : MR;
        if (!trans) {
            const KT* src = AT(a, lda, 0, i0 + ir, p0);
            for (long p = 0; p < kb; p++, src += lda, d += MR) {
                if (rows == MR) {
                    *(KN(uvec)*)d = *(const KN(uvec)*)src;
                    *(KN(uvec)*)(d + KW) = *(const KN(uvec)*)(src + KW);
                } else {
                    long r = 0;
                    for (; r < rows; r++) d[r] = src[r];
                    for (; r < MR; r++) d[r] = 0;
                }
            }
        } else {
            /* Rows of op(A) are contiguous: a full panel of 8k rows goes through 8×8 transposes in
             * registers (eight loads along k, eight stores of k-slices), the rest element by
             * element. */
            const KT* src = AT(a, lda, 1, i0 + ir, p0);
            long p = 0;
            if (rows == MR && MR % 8 == 0)      /* (not the portable double instance's 4-row panels) */
                for (; p + 8 <= kb; p += 8)
                    for (long r = 0; r < MR; r += 8) KN(transpose8)(src + r * lda + p, lda, d + p * MR + r, MR);
            for (; p < kb; p++)
                for (long r = 0; r < MR; r++) d[p * MR + r] = r < rows ? src[r * lda + p] : 0;
            d += kb * MR;
        }
    }
}

/* Packs the kb×nb block of op(B) at (p0, j0) into panels of 6 columns, k-major,
 * zero-padding the last panel. */
KATTR static void KN(pack_b)(const KT* b, long ldb, int trans, long p0, long j0, long kb, long nb, KT* d) {
    if (trans) {
        /* Rows of op(B) are contiguous: stream each row once, scattering it over the panels. */
        long full = nb / 6;
        for (long p = 0; p < kb; p++) {
            const KT* src = AT(b, ldb, 1, p0 + p, j0);
            KT* dp = d + p * 6;
            for (long q = 0; q < full; q++, dp += 6 * kb)
                for (long j = 0; j < 6; j++) dp[j] = src[q * 6 + j];
            if (nb % 6 != 0)
                for (long j = 0; j < 6; j++) dp[j] = full * 6 + j < nb ? src[full * 6 + j] : 0;
        }
        return;
    }
    for (long jr = 0; jr < nb; jr += 6) {
        long cols = nb - jr < 6 ? nb - jr : 6;
        if (cols == 6) {        /* six columns in step: one contiguous write of six per k */
            const KT* s0 = AT(b, ldb, 0, p0, j0 + jr);
            const KT *s1 = s0 + ldb, *s2 = s1 + ldb, *s3 = s2 + ldb, *s4 = s3 + ldb, *s5 = s4 + ldb;
            for (long p = 0; p < kb; p++, d += 6) {
                d[0] = s0[p]; d[1] = s1[p]; d[2] = s2[p]; d[3] = s3[p]; d[4] = s4[p]; d[5] = s5[p];
            }
            continue;
        }
        for (long j = 0; j < 6; j++) {
            if (j < cols) {
                const KT* src = AT(b, ldb, 0, p0, j0 + jr + j);
                for (long p = 0; p < kb; p++) d[p * 6 + j] = src[p];
            } else {
                for (long p = 0; p < kb; p++) d[p * 6 + j] = 0;
            }
        }
        d += 6 * kb;
    }
}

/* C[0..<rows, 0..<cols] = alpha·Ã·B̃ + beta·C for one MR×kb panel Ã and six columns of
 * B̃ whose element (p, j) is b[p·bk + j·bj]: a `packed` kb×6 panel (bk 6, bj 1), or
 * op(B) itself where packing would not pay, whose columns past `cols` are never read.
 * `packed` and `narrow` (at most KW valid rows: skips the second vector of rows) are
 * constants in each caller. With beta 0, C is not read. */
KATTR static inline __attribute__((always_inline))
void KN(tile)(long k, const KT* a, const KT* b, long bk, long bj, int packed, KT* c, long ldc, long rows, long cols, KT alpha, KT beta,
              int narrow) {
    typedef KN(vec) V;
    V c00 = 0, c10 = 0, c01 = 0, c11 = 0, c02 = 0, c12 = 0, c03 = 0, c13 = 0, c04 = 0, c14 = 0, c05 = 0, c15 = 0;
    /* A packed panel is zero-padded, so its six columns are read at fixed offsets; a short
     * edge of an unpacked B reads column 0 again in place of the missing ones (their sums
     * are discarded). */
    const KT *b0 = b, *b1 = packed || cols > 1 ? b + bj : b, *b2 = packed || cols > 2 ? b + 2 * bj : b;
    const KT *b3 = packed || cols > 3 ? b + 3 * bj : b, *b4 = packed || cols > 4 ? b + 4 * bj : b;
    const KT *b5 = packed || cols > 5 ? b + 5 * bj : b;
    for (long p = 0, q = 0; p < k; p++, q += bk, a += MR) {
        V a0 = *(const KN(uvec)*)a, a1 = 0;
        if (!narrow) a1 = *(const KN(uvec)*)(a + KW);
        V bv = b0[q];
        c00 = __builtin_elementwise_fma(a0, bv, c00); if (!narrow) c10 = __builtin_elementwise_fma(a1, bv, c10);
        bv = b1[q];
        c01 = __builtin_elementwise_fma(a0, bv, c01); if (!narrow) c11 = __builtin_elementwise_fma(a1, bv, c11);
        bv = b2[q];
        c02 = __builtin_elementwise_fma(a0, bv, c02); if (!narrow) c12 = __builtin_elementwise_fma(a1, bv, c12);
        bv = b3[q];
        c03 = __builtin_elementwise_fma(a0, bv, c03); if (!narrow) c13 = __builtin_elementwise_fma(a1, bv, c13);
        bv = b4[q];
        c04 = __builtin_elementwise_fma(a0, bv, c04); if (!narrow) c14 = __builtin_elementwise_fma(a1, bv, c14);
        bv = b5[q];
        c05 = __builtin_elementwise_fma(a0, bv, c05); if (!narrow) c15 = __builtin_elementwise_fma(a1, bv, c15);
    }
    if (!narrow && rows == MR && cols == 6) {
        V va = alpha, vb = beta;
#define KSTORE(j, x0, x1) do { \
            KT* col = c + (j) * ldc; \
            V y0 = (x0) * va, y1 = (x1) * va; \
            if (beta != 0) { y0 = y0 + vb * *(KN(uvec)*)col; y1 = y1 + vb * *(KN(uvec)*)(col + KW); } \
            *(KN(uvec)*)col = y0; *(KN(uvec)*)(col + KW) = y1; \
        } while (0)
        KSTORE(0, c00, c10); KSTORE(1, c01, c11); KSTORE(2, c02, c12);
        KSTORE(3, c03, c13); KSTORE(4, c04, c14); KSTORE(5, c05, c15);
#undef KSTORE
        return;
    }
    /* Edge tile: only the valid part of C. */
    V acc[12] = {c00, c10, c01, c11, c02, c12, c03, c13, c04, c14, c05, c15};
    const KT* t = (const KT*)acc;
    for (long j = 0; j < cols; j++) {
        KT* col = c + j * ldc;
        for (long i = 0; i < rows; i++)
            col[i] = beta == 0 ? alpha * t[j * MR + i] : alpha * t[j * MR + i] + beta * col[i];
    }
}

/* `tile` on a packed B panel for a full panel of MR rows, and for a last one of at most KW
 * rows (half the arithmetic), and the same on an unpacked B; not inlined, so that each
 * keeps its 12 (or 6) accumulators in registers. */
KATTR static __attribute__((noinline))
void KN(tile_full)(long k, const KT* a, const KT* b, KT* c, long ldc, long rows, long cols, KT alpha, KT beta) {
    KN(tile)(k, a, b, 6, 1, 1, c, ldc, rows, cols, alpha, beta, 0);
}
KATTR static __attribute__((noinline))
void KN(tile_narrow)(long k, const KT* a, const KT* b, KT* c, long ldc, long rows, long cols, KT alpha, KT beta) {
    KN(tile)(k, a, b, 6, 1, 1, c, ldc, rows, cols, alpha, beta, 1);
}
KATTR static __attribute__((noinline))
void KN(tile_full_strided)(long k, const KT* a, const KT* b, long bk, long bj, KT* c, long ldc, long rows, long cols, KT alpha, KT beta) {
    KN(tile)(k, a, b, bk, bj, 0, c, ldc, rows, cols, alpha, beta, 0);
}
KATTR static __attribute__((noinline))
void KN(tile_narrow_strided)(long k, const KT* a, const KT* b, long bk, long bj, KT* c, long ldc, long rows, long cols, KT alpha, KT beta) {
    KN(tile)(k, a, b, bk, bj, 0, c, ldc, rows, cols, alpha, beta, 1);
}

/* The block size that cuts `total` into as few blocks of at most `limit` as possible, of
 * near-equal sizes rounded up to a multiple of `unit`. */
static inline long KN(divide)(long total, long limit, long unit) {
    long blocks = (total + limit - 1) / limit;
    long size = (total + blocks - 1) / blocks;
    return (size + unit - 1) / unit * unit;
}

/* C = beta·C (not read when beta is 0). */
KATTR static void KN(scale)(long m, long n, KT beta, KT* c, long ldc) {
    if (beta == 1) return;
    if (ldc == m) {             /* contiguous: one loop (a row vector would otherwise cost a loop per element) */
        if (beta == 0) memset(c, 0, (size_t)(m * n) * sizeof(KT));
        else for (long i = 0; i < m * n; i++) c[i] = beta * c[i];
        return;
    }
    for (long j = 0; j < n; j++)
        for (long i = 0; i < m; i++) c[i + j * ldc] = beta == 0 ? 0 : beta * c[i + j * ldc];
}

/* y[i] += s·x[i] over `count` contiguous elements, eight at a time, then the tail in
 * halving widths (short rows cost a few instructions). */
KATTR static inline __attribute__((always_inline)) void KN(axpy)(KT s, const KT* x, KT* y, long count) {
    typedef KT U8 __attribute__((ext_vector_type(8), aligned(sizeof(KT))));
    typedef KT U4 __attribute__((ext_vector_type(4), aligned(sizeof(KT))));
    typedef KT U2 __attribute__((ext_vector_type(2), aligned(sizeof(KT))));
    long i = 0;
    for (; i + 8 <= count; i += 8) *(U8*)(y + i) += s * *(const U8*)(x + i);
    if (count - i >= 4) { *(U4*)(y + i) += s * *(const U4*)(x + i); i += 4; }
    if (count - i >= 2) { *(U2*)(y + i) += s * *(const U2*)(x + i); i += 2; }
    if (count - i >= 1) y[i] += s * x[i];
}

/* Four axpys in one pass, y[i] = (((y[i] + s0·x0[i]) + s1·x1[i]) + s2·x2[i]) + s3·x3[i]:
 * the adds in the order of four `axpy` calls (the same bits), y loaded and stored once, so
 * a short y is not a chain of store-to-load forwards. */
KATTR static inline __attribute__((always_inline))
void KN(axpy4)(KT s0, KT s1, KT s2, KT s3, const KT* x0, const KT* x1, const KT* x2, const KT* x3, KT* y, long count) {
    typedef KT U8 __attribute__((ext_vector_type(8), aligned(sizeof(KT))));
    typedef KT U4 __attribute__((ext_vector_type(4), aligned(sizeof(KT))));
    typedef KT U2 __attribute__((ext_vector_type(2), aligned(sizeof(KT))));
#define KAXPY4(U, i) *(U*)(y + (i)) = (((*(U*)(y + (i)) + s0 * *(const U*)(x0 + (i))) + s1 * *(const U*)(x1 + (i))) \
                                        + s2 * *(const U*)(x2 + (i))) + s3 * *(const U*)(x3 + (i))
    long i = 0;
    for (; i + 8 <= count; i += 8) KAXPY4(U8, i);
    if (count - i >= 4) { KAXPY4(U4, i); i += 4; }
    if (count - i >= 2) { KAXPY4(U2, i); i += 2; }
    if (count - i >= 1) y[i] = (((y[i] + s0 * x0[i]) + s1 * x1[i]) + s2 * x2[i]) + s3 * x3[i];
#undef KAXPY4
}

/* y += Σ_p s(p)·x(p) over p < k as k axpys in order (four at a time), for a column of op(A)
 * or a row of op(B): `X(p)` is the vector of step p, `S(p)` its scale. */
#define KAXPY_SUM(k, S, X, y, count) do { \
        long p_ = 0; \
        for (; p_ + 4 <= (k); p_ += 4) { \
            KN(axpy4)(S(p_), S(p_ + 1), S(p_ + 2), S(p_ + 3), X(p_), X(p_ + 1), X(p_ + 2), X(p_ + 3), (y), (count)); \
        } \
        for (; p_ < (k); p_++) KN(axpy)(S(p_), X(p_), (y), (count)); \
    } while (0)

/* `count` dot products (count ≤ 8, a constant where inlined) of k contiguous elements of x
 * with the columns y + j·yj, each with eight partial sums whatever the vector width (so
 * every instance adds alike): lanes p mod 8, folded 8 → 4, the next four elements, 4 → 1
 * pairwise, then the last elements in order. Eight at a time run in lockstep, independent
 * chains the core overlaps (one at a time waits on its own adds, e.g. the 506 dots of
 * k = 13 in linreg's forward product). */
KATTR static inline __attribute__((always_inline)) void KN(dots)(const KT* x, const KT* y, long yj, long k, int count, KT* out) {
    typedef KT V8 __attribute__((ext_vector_type(8)));
    typedef KT U8 __attribute__((ext_vector_type(8), aligned(sizeof(KT))));
    typedef KT V4 __attribute__((ext_vector_type(4)));
    typedef KT U4 __attribute__((ext_vector_type(4), aligned(sizeof(KT))));
    V8 acc[8];
    for (int j = 0; j < count; j++) acc[j] = 0;
    long p = 0;
    for (; p + 8 <= k; p += 8) {
        V8 xv = *(const U8*)(x + p);
        for (int j = 0; j < count; j++) acc[j] += xv * *(const U8*)(y + j * yj + p);
    }
    V4 half[8];
    for (int j = 0; j < count; j++) half[j] = acc[j].lo + acc[j].hi;
    if (p + 4 <= k) {
        V4 xv = *(const U4*)(x + p);
        for (int j = 0; j < count; j++) half[j] += xv * *(const U4*)(y + j * yj + p);
        p += 4;
    }
    for (int j = 0; j < count; j++) {
        const KT* yc = y + j * yj;
        KT total = (half[j].x + half[j].z) + (half[j].y + half[j].w);
        if (p < k) {               /* at most three left: straight-line code, in order */
            total += x[p] * yc[p];
            if (p + 1 < k) {
                total += x[p + 1] * yc[p + 1];
                if (p + 2 < k) total += x[p + 2] * yc[p + 2];
            }
        }
        out[j] = total;
    }
}

/* row[j] += Σ_p s(p)·x(p)[j] for j < n ≤ 16, p < k in order, as KAXPY_SUM sums it (each
 * element y + s·x step by step, so the bits are alike), with the row in two registers
 * throughout instead of loaded and stored every four steps. Row p of op(B) is the n
 * contiguous elements at x + p·xp; the reads run 16 wide while they stay inside op(B)
 * (its last element is x[(k - 1)·xp + n - 1]), the last rows through a padded copy. */
KATTR static inline __attribute__((always_inline))
void KN(axpy_sum16)(const KT* s, long sp, KT alpha, const KT* x, long xp, long k, KT* row, long n) {
    typedef KT V8 __attribute__((ext_vector_type(8)));
    typedef KT U8 __attribute__((ext_vector_type(8), aligned(sizeof(KT))));
    KT pad[16] = {0};
    for (long j = 0; j < n; j++) pad[j] = row[j];
    V8 r0 = *(const U8*)pad, r1 = *(const U8*)(pad + 8);
    long end = (k - 1) * xp + n, p = 0;
    for (; p < k && p * xp + 16 <= end; p++) {
        V8 sv = alpha * s[p * sp];
        const KT* xr = x + p * xp;
        r0 = r0 + sv * *(const U8*)xr;
        r1 = r1 + sv * *(const U8*)(xr + 8);
    }
    for (; p < k; p++) {
        KT tail[16] = {0};
        for (long j = 0; j < n; j++) tail[j] = x[p * xp + j];
        V8 sv = alpha * s[p * sp];
        r0 = r0 + sv * *(const U8*)tail;
        r1 = r1 + sv * *(const U8*)(tail + 8);
    }
    *(U8*)pad = r0; *(U8*)(pad + 8) = r1;
    for (long j = 0; j < n; j++) row[j] = pad[j];
}

/* A small or thin product without packing, in the loop order whose inner loop runs over
 * contiguous memory: columns of op(A), else rows of op(A) against columns of op(B) (dot
 * products), else rows of op(B) into a row of C. Element (i, p) of op(A) is at
 * a + i·ai + p·ap and (p, j) of op(B) at b + p·bp + j·bj. */
KATTR static void KN(direct)(int ta, int tb, long m, long n, long k, KT alpha, const KT* a, long lda,
                             const KT* b, long ldb, KT beta, KT* c, long ldc) {
    KN(scale)(m, n, beta, c, ldc);
    int columnsOfA = !ta || m == 1, rowsOfA = ta || lda == 1 || k == 1;
    int columnsOfB = !tb || ldb == 1 || k == 1, rowsOfB = tb || ldb == 1 || n == 1;
    long ai = ta ? lda : 1, ap = ta ? 1 : lda, bp = tb ? ldb : 1, bj = tb ? 1 : ldb;
    if (columnsOfA && (m >= 8 || (!(rowsOfA && columnsOfB) && !rowsOfB))) {
        for (long j = 0; j < n; j++) {
            KT* cj = c + j * ldc;
#define KS(p) (alpha * b[(p) * bp + j * bj])
#define KX(p) (a + (p) * ap)
            KAXPY_SUM(k, KS, KX, cj, m);
#undef KS
#undef KX
        }
    } else if (rowsOfA && columnsOfB) {
        for (long i = 0; i < m; i++) {
            const KT* x = a + i * ai;
            KT* ci = c + i;
            long j = 0;
            for (; j + 8 <= n; j += 8) {        /* eight columns at a time (see dots) */
                KT t[8];
                KN(dots)(x, b + j * bj, bj, k, 8, t);
                for (int q = 0; q < 8; q++) ci[(j + q) * ldc] += alpha * t[q];
            }
            for (; j < n; j++) {
                KT t;
                KN(dots)(x, b + j * bj, bj, k, 1, &t);
                ci[j * ldc] += alpha * t;
            }
        }
    } else {
        /* The rows of op(B) are contiguous: accumulate each row of C, in registers when it
         * is short (n ≤ 16: e.g. linreg's 1×13 weight gradient over k = 506), else directly
         * when it is contiguous (m == 1), else in a contiguous scratch row. */
        if (n <= 16) {
            for (long i = 0; i < m; i++) {
                KT row[16];
                for (long j = 0; j < n; j++) row[j] = c[i + j * ldc];
                KN(axpy_sum16)(a + i * ai, ap, alpha, b, bp, k, row, n);
                for (long j = 0; j < n; j++) c[i + j * ldc] = row[j];
            }
            return;
        }
        KT* scratch = ldc == 1 ? 0 : (KT*)knet_gemm_buffer((size_t)n * sizeof(KT));
        for (long i = 0; i < m; i++) {
            KT* row = ldc == 1 ? c + i : scratch;
            if (ldc != 1) for (long j = 0; j < n; j++) row[j] = c[i + j * ldc];
#define KS(p) (alpha * a[i * ai + (p) * ap])
#define KX(p) (b + (p) * bp)
            KAXPY_SUM(k, KS, KX, row, n);
#undef KS
#undef KX
            if (ldc != 1) for (long j = 0; j < n; j++) c[i + j * ldc] = row[j];
        }
    }
}

/* The packed product, single-threaded: callers split large products by rows or columns
 * into calls of this (whole panels each), which sums every element as one call would. */
KATTR void KN(blocked)(int ta, int tb, long m, long n, long k, KT alpha, const KT* a, long lda,
                       const KT* b, long ldb, KT beta, KT* c, long ldc) {
    if (m <= 0 || n <= 0) return;
    if (k == 0 || alpha == 0) { KN(scale)(m, n, beta, c, ldc); return; }
    long kc = KN(divide)(k, 256, 1), mc = KN(divide)(m, KMC, MR), nc = KN(divide)(n, KNC, 6);
    if (m <= 8 * MR) {
        /* At most eight panels of A (an A block that stays in L2): each six columns of B are
         * read in place by every panel, from L1 after the first, instead of being packed
         * (measured faster on every shape tried, e.g. the MLP's 64×784×100 weight gradient
         * 91→113 GFLOP/s single-threaded on Zen 4; the sums, and so the bits, are alike). */
        long mp = (m + MR - 1) / MR * MR;
        KT* packedA = (KT*)knet_gemm_buffer((size_t)mp * kc * sizeof(KT));
        long bk = tb ? ldb : 1, bj = tb ? 1 : ldb;
        for (long pc = 0; pc < k; pc += kc) {
            long kb = k - pc < kc ? k - pc : kc;
            KN(pack_a)(a, lda, ta, 0, pc, m, kb, packedA);
            for (long jr = 0; jr < n; jr += 6) {
                long cols = n - jr < 6 ? n - jr : 6;
                for (long ir = 0; ir < m; ir += MR) {
                    long rows = m - ir < MR ? m - ir : MR;
                    (rows > KW ? KN(tile_full_strided) : KN(tile_narrow_strided))(kb, packedA + ir * kb, AT(b, ldb, tb, pc, jr), bk, bj,
                                                                                 c + ir + jr * ldc, ldc, rows, cols, alpha, pc == 0 ? beta : 1);
                }
            }
        }
        return;
    }
    KT* packedA = (KT*)knet_gemm_buffer((size_t)(mc + nc) * kc * sizeof(KT));
    KT* packedB = packedA + mc * kc;
    for (long jc = 0; jc < n; jc += nc) {
        long nb = n - jc < nc ? n - jc : nc;
        for (long pc = 0; pc < k; pc += kc) {
            long kb = k - pc < kc ? k - pc : kc;
            KN(pack_b)(b, ldb, tb, pc, jc, kb, nb, packedB);
            KT betaBlock = pc == 0 ? beta : 1;
            for (long ic = 0; ic < m; ic += mc) {
                long mb = m - ic < mc ? m - ic : mc;
                KN(pack_a)(a, lda, ta, ic, pc, mb, kb, packedA);
                for (long jr = 0; jr < nb; jr += 6)
                    for (long ir = 0; ir < mb; ir += MR) {
                        long rows = mb - ir < MR ? mb - ir : MR, cols = nb - jr < 6 ? nb - jr : 6;
                        (rows > KW ? KN(tile_full) : KN(tile_narrow))(kb, packedA + ir * kb, packedB + jr * kb,
                                                                      c + (ic + ir) + (jc + jr) * ldc, ldc, rows, cols, alpha, betaBlock);
                    }
            }
        }
    }
}

/* C = alpha·op(A)·op(B) + beta·C, column-major, single-threaded: small or thin products
 * (`knet_gemm_is_direct`) directly, others packed. With beta 0, C is not read; with k 0 or alpha 0, A and B are not read. */
KATTR void KN(gemm)(int ta, int tb, long m, long n, long k, KT alpha, const KT* a, long lda,
                    const KT* b, long ldb, KT beta, KT* c, long ldc) {
    if (m <= 0 || n <= 0) return;
    if (k == 0 || alpha == 0) { KN(scale)(m, n, beta, c, ldc); return; }
    if (knet_gemm_is_direct(m, n, k))
        KN(direct)(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else
        KN(blocked)(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

#undef KAXPY_SUM
#undef MR
#undef AT
