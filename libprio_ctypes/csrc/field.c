/* GF(p) operations that are not worth inlining: inversion, byte conversions, roots. */
#include "field.h"

#include <string.h>

#define GENERATOR ((((fe)0x2597c14f48ULL) << 48) | (fe)0xd5b65ed8dccaULL)
#define LOG_ROOTS 19

fe fe_acc_value(const fe_acc *s) {
    const fe two64 = ((fe)1) << 64;
    fe two128 = fe_mul(two64, two64);
    fe high = fe_add(fe_reduce(s->top), fe_reduce((fe)s->low_carry));
    return fe_add(fe_add(fe_reduce(s->low), fe_mul(fe_reduce(s->mid), two64)), fe_mul(high, two128));
}

fe fe_pow(fe a, fe e) {
    fe r = 1;
    while (e) {
        if (e & 1) r = fe_mul(r, a);
        a = fe_mul(a, a);
        e >>= 1;
    }
    return r;
}

fe fe_inv(fe a) { return fe_pow(a, FE_P - 2); }

void fe_batch_inv(fe *out, const fe *in, size_t n, fe *scratch) {
    fe prod = 1;
    for (size_t i = 0; i < n; i++) {
        scratch[i] = prod;
        if (in[i]) prod = fe_mul(prod, in[i]);
    }
    fe inv = fe_inv(prod);
    for (size_t i = n; i-- > 0;) {
        fe x = in[i];
        if (!x) {
            out[i] = 0;
            continue;
        }
        out[i] = fe_mul(inv, scratch[i]);
        inv = fe_mul(inv, x);
    }
}

static inline uint64_t load_le64(const uint8_t *b) {
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--) x = (x << 8) | b[i];
    return x;
}

static inline void store_le64(uint64_t x, uint8_t *b) {
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(x >> (8 * i));
}

fe fe_from_le16(const uint8_t b[16]) { return ((fe)load_le64(b + 8) << 64) | load_le64(b); }

void fe_to_le16(fe x, uint8_t b[16]) {
    store_le64((uint64_t)x, b);
    store_le64((uint64_t)(x >> 64), b + 8);
}

int fe_from_be(const uint8_t *b, size_t len, fe *out) {
    while (len && *b == 0) {
        b++;
        len--;
    }
    if (len > FE_MAX_BE) return -1;
    fe x = 0;
    if (len > 8) {
        uint64_t low = 0;
        for (size_t i = len - 8; i < len; i++) low = (low << 8) | b[i];
        for (size_t i = 0; i < len - 8; i++) x = (x << 8) | b[i];
        x = (x << 64) | low;
    } else {
        for (size_t i = 0; i < len; i++) x = (x << 8) | b[i];
    }
    if (x >= FE_P) return -1;
    *out = x;
    return 0;
}

size_t fe_to_be(fe x, uint8_t out[FE_MAX_BE]) {
    size_t len = 1;
    while (len < FE_MAX_BE && (x >> (8 * len))) len++;
    for (size_t i = 0; i < len; i++) out[len - 1 - i] = (uint8_t)(x >> (8 * i));
    return len;
}

fe fe_root_of_unity(uint64_t m) {
    int log_m = 0;
    while (((uint64_t)1 << log_m) < m) log_m++;
    return fe_pow(GENERATOR, (fe)1 << (LOG_ROOTS - log_m));
}
