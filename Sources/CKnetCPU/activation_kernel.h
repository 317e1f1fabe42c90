/* One instance of Knet's Float activation and LSTM cell kernels, included by
 * activations.c once per instruction set. Before including, define KN(x) (the instance's
 * name for x) and KATTR (the function attribute selecting the instruction set, may be
 * empty). The scalar functions are KnetMath's `ActivationMath` operation for operation
 * (contraction is off), so every instance and the Swift definitions give the same bits;
 * the loops over them vectorise in the instance's instruction set. */

/* eˣ: a branch-free Cephes-style polynomial (max error ~1 ulp, denormals included). */
KATTR static inline float KN(expf)(float v) {
    float x = v < -104 ? -104 : (v > 89 ? 89 : v);               /* keeps n in range; NaN passes */
    float t = x * 1.44269504088896341f + 12582912.0f;            /* round(x·log2 e) in the low bits */
    int32_t n = (int32_t)(knet_float_bits(t) - 0x4B400000u);
    float k = t - 12582912.0f;
    float r = x - k * 0.693359375f - k * -2.12194440e-4f;        /* x − n·ln 2 in two parts */
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1;
    int32_t n1 = n >> 1, n2 = n - n1;                             /* 2ⁿ as two factors: no overflow */
    float y = p * knet_bits_float((uint32_t)(n1 + 127) << 23) * knet_bits_float((uint32_t)(n2 + 127) << 23);
    return v > 88.72283905206835f ? (1.0f / 0.0f) : (v < -103.972077f ? 0 : y);
}

/* The logistic sigmoid, stable for large |x|. */
KATTR static inline float KN(sigmf)(float x) {
    float e = KN(expf)(-fabsf(x));
    return x >= 0 ? 1 / (1 + e) : e / (1 + e);
}

/* tanh: Cephes' odd polynomial below |x| = 0.625, 1 − 2/(e²ˣ + 1) above. */
KATTR static inline float KN(tanhf)(float v) {
    float a = fabsf(v), z = v * v;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    float small = p * z * v + v;
    float large = 1 - 2 / (KN(expf)(2 * a) + 1);
    return a < 0.625f ? small : (v < 0 ? -large : large);
}

/* y[i] = f(x[i]); x and y are the same array or disjoint, so the loops vectorise in place
 * too (without the pragma, x == y failed the vectoriser's overlap check and ran scalar). */
#define KMAP(f) _Pragma("clang loop vectorize(assume_safety)") for (long i = 0; i < n; i++) y[i] = f(x[i])
KATTR void KN(exp)(const float* x, float* y, long n) { KMAP(KN(expf)); }
KATTR void KN(sigm)(const float* x, float* y, long n) { KMAP(KN(sigmf)); }
KATTR void KN(tanh)(const float* x, float* y, long n) { KMAP(KN(tanhf)); }
#undef KMAP

/* One column of the LSTM cell forward (KnetMath's LSTMCellKernels.forward). */
KATTR void KN(lstm_forward)(float* a, const float* cell, float* newHidden, float* newCell, float* tanhCell, long h) {
    for (long k = 0; k < 2 * h; k++) a[k] = KN(sigmf)(a[k]);
    for (long k = 2 * h; k < 3 * h; k++) a[k] = KN(tanhf)(a[k]);
    for (long k = 3 * h; k < 4 * h; k++) a[k] = KN(sigmf)(a[k]);
    for (long k = 0; k < h; k++) newCell[k] = a[h + k] * cell[k] + a[k] * a[2 * h + k];
    for (long k = 0; k < h; k++) tanhCell[k] = KN(tanhf)(newCell[k]);
    for (long k = 0; k < h; k++) newHidden[k] = a[3 * h + k] * tanhCell[k];
}

/* Its backward pass on one column (LSTMCellKernels.backward). */
KATTR void KN(lstm_backward)(float* a, const float* tanhCell, const float* cell, const float* dOutput, float* dState, long h) {
    for (long k = 0; k < h; k++) {
        float si = a[k], sf = a[h + k], cand = a[2 * h + k], so = a[3 * h + k], th = tanhCell[k];
        float dh = dOutput[k] + dState[k];
        float dc = dState[h + k] + dh * so * (1 - th * th);
        a[k] = dc * cand * si * (1 - si);
        a[h + k] = dc * cell[k] * sf * (1 - sf);
        a[2 * h + k] = dc * si * (1 - cand * cand);
        a[3 * h + k] = dh * th * so * (1 - so);
        dState[h + k] = dc * sf;
    }
}
