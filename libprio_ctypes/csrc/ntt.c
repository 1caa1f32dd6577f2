/* Iterative radix-2 NTT; the client's only O(N log N) step (spec §6, §15). */
#include "ntt.h"

size_t ntt_h_points(size_t n_data) {
    size_t n = 1;
    while (n < n_data + 1) n <<= 1;
    return n;
}

static void bit_reverse(fe *a, size_t n) {
    for (size_t i = 1, j = 0; i < n; i++) {
        size_t bit = n >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) {
            fe t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
}

void ntt(fe *a, size_t n, int inverse, fe *tw) {
    if (n < 2) return;
    fe w = fe_root_of_unity(n);
    if (inverse) w = fe_inv(w);
    tw[0] = 1;
    for (size_t i = 1; i < n / 2; i++) tw[i] = fe_mul(tw[i - 1], w);
    bit_reverse(a, n);
    for (size_t len = 2; len <= n; len <<= 1) {
        size_t half = len / 2, step = n / len;
        for (size_t i = 0; i < n; i += len) {
            for (size_t j = 0; j < half; j++) {
                fe u = a[i + j], v = fe_mul(a[i + j + half], tw[j * step]);
                a[i + j] = fe_add(u, v);
                a[i + j + half] = fe_sub(u, v);
            }
        }
    }
    if (inverse) {
        fe n_inv = fe_inv((fe)n);
        for (size_t i = 0; i < n; i++) a[i] = fe_mul(a[i], n_inv);
    }
}

void ntt_odd_points(fe *y, size_t n, fe *tw) {
    ntt(y, n, 1, tw);
    /* P(w_2n^(2j+1)) = sum_k (c_k w_2n^k) w_n^(jk): twist, then one forward transform */
    fe w2 = fe_root_of_unity(2 * n), t = 1;
    for (size_t k = 0; k < n; k++) {
        y[k] = fe_mul(y[k], t);
        t = fe_mul(t, w2);
    }
    ntt(y, n, 0, tw);
}
