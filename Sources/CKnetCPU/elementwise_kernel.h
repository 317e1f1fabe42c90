/* One instance of Knet's elementwise loops over contiguous runs, included by elementwise.c
 * once per element type and instruction set. Before including, define KT (float or
 * double), KN(x) (the instance's name for x) and KATTR (the function attribute selecting
 * the instruction set, may be empty). Each operation is the scalar formula of Knet's
 * BinaryOp/UnaryOp table (Ops/BinaryTable.swift, ElementwiseTable.swift) written in C;
 * contraction is off, so every instance gives the Swift formulas' bits (tests hold them
 * to it) and only the vector width differs. */

/* out[i] = op(a[i·sa], b[i·sb]) for i < n, sa and sb 0 or 1 (not both 0 unless n ≤ 1); one
 * loop per op and stride pair, so each vectorises; out may be a or b. Returns 0 for an op
 * without a loop here. */
#define KBIN(f) do { \
        if (sa && sb) { _Pragma("clang loop vectorize(assume_safety)") for (long i = 0; i < n; i++) { KT x = a[i], y = b[i]; out[i] = (f); } } \
        else if (sa)  { KT y = b[0]; _Pragma("clang loop vectorize(assume_safety)") for (long i = 0; i < n; i++) { KT x = a[i]; out[i] = (f); } } \
        else          { KT x = a[0]; _Pragma("clang loop vectorize(assume_safety)") for (long i = 0; i < n; i++) { KT y = b[i]; out[i] = (f); } } \
    } while (0)

KATTR int KN(binary)(int op, const KT* a, long sa, const KT* b, long sb, KT* out, long n) {
    switch (op) {
    case KNET_ADD: KBIN(x + y); return 1;
    case KNET_SUB: KBIN(x - y); return 1;
    case KNET_MUL: KBIN(x * y); return 1;
    case KNET_DIV: KBIN(x / y); return 1;
    case KNET_MAX: KBIN((x != x || y != y) ? (KT)NAN : (y >= x ? y : x)); return 1;
    case KNET_MIN: KBIN((x != x || y != y) ? (KT)NAN : (y < x ? y : x)); return 1;
    case KNET_RELUBACK: KBIN(y > 0 ? x : 0); return 1;
    case KNET_SIGMBACK: KBIN(x * y * (1 - y)); return 1;
    case KNET_TANHBACK: KBIN(x * (1 - y * y)); return 1;
    default: return 0;
    }
}
#undef KBIN

/* y[i] = op(x[i]) for i < n; x and y the same array or disjoint. Returns 0 for an op
 * without a loop here. */
#define KUN(f) do { _Pragma("clang loop vectorize(assume_safety)") for (long i = 0; i < n; i++) { KT v = x[i]; y[i] = (f); } } while (0)
KATTR int KN(unary)(int op, const KT* x, KT* y, long n) {
    switch (op) {
    case KNET_RELU: KUN(v > 0 ? v : 0); return 1;
    case KNET_ABS: KUN(fabs(v)); return 1;
    case KNET_ABS2: KUN(v * v); return 1;
    case KNET_NEG: KUN(-v); return 1;
    default: return 0;
    }
}
#undef KUN
