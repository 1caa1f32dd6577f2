/* Arithmetic in GF(p), p = 2^87 + 2^19 + 1, on unsigned __int128 (spec §2, §15). */
#ifndef PRIO_FIELD_H
#define PRIO_FIELD_H

#include <stddef.h>
#include <stdint.h>

typedef unsigned __int128 fe;

#define FE_P ((((fe)1) << 87) + (((fe)1) << 19) + 1)
#define FE_MASK87 ((((fe)1) << 87) - 1)
#define FE_C 524289u /* 2^19 + 1: 2^87 = -FE_C (mod p) */
#define FE_MAX_BE 11 /* bytes of p - 1 */

/* lo < 2^88, hi < 2^90: returns (lo + hi * 2^87) mod p */
static inline fe fe_reduce_wide(fe lo, fe hi) {
    fe hc = hi * FE_C;
    fe t = lo + (hc >> 87) * FE_C + FE_P - (hc & FE_MASK87);
    fe u = (t & FE_MASK87) + FE_P - (fe)((uint64_t)(t >> 87) * FE_C);
    return u >= FE_P ? u - FE_P : u;
}

static inline fe fe_reduce(fe x) { return fe_reduce_wide(x & FE_MASK87, x >> 87); }

static inline fe fe_add(fe a, fe b) {
    fe s = a + b;
    return s >= FE_P ? s - FE_P : s;
}

static inline fe fe_sub(fe a, fe b) { return a >= b ? a - b : a + FE_P - b; }

static inline fe fe_neg(fe a) { return a ? FE_P - a : 0; }

static inline fe fe_mul(fe a, fe b) {
    uint64_t a0 = (uint64_t)a, a1 = (uint64_t)(a >> 64), b0 = (uint64_t)b, b1 = (uint64_t)(b >> 64);
    fe m = (fe)a0 * b0;
    fe mid = (fe)a0 * b1 + (fe)a1 * b0;
    uint64_t top = a1 * b1;
    fe lo = (m & FE_MASK87) + ((mid & ((1u << 23) - 1)) << 64);
    fe hi = (m >> 87) + (mid >> 23) + ((fe)top << 41);
    return fe_reduce_wide(lo, hi);
}

/* Lazy dot-product accumulator: the 176-bit products are summed unreduced
 * (up to 2^20 terms) and reduced once. */
typedef struct {
    fe low;
    uint64_t low_carry;
    fe mid;
    fe top;
} fe_acc;

static inline void fe_acc_init(fe_acc *s) {
    s->low = 0;
    s->low_carry = 0;
    s->mid = 0;
    s->top = 0;
}

static inline void fe_acc_mac(fe_acc *s, fe a, fe b) {
    uint64_t a0 = (uint64_t)a, a1 = (uint64_t)(a >> 64), b0 = (uint64_t)b, b1 = (uint64_t)(b >> 64);
    fe m = (fe)a0 * b0;
    s->low += m;
    s->low_carry += s->low < m;
    s->mid += (fe)a0 * b1 + (fe)a1 * b0;
    s->top += a1 * b1;
}

fe fe_acc_value(const fe_acc *s);
fe fe_pow(fe a, fe e);
fe fe_inv(fe a);
/* out[i] = 1/in[i]; zeros map to zero; in and out may alias; scratch has n elements. */
void fe_batch_inv(fe *out, const fe *in, size_t n, fe *scratch);

fe fe_from_le16(const uint8_t b[16]);
void fe_to_le16(fe x, uint8_t b[16]);
/* big-endian magnitude of any length (leading zeros allowed); 0 = ok, -1 = value >= p */
int fe_from_be(const uint8_t *b, size_t len, fe *out);
/* minimal big-endian, zero as one 00 byte; returns the length (1..11) */
size_t fe_to_be(fe x, uint8_t out[FE_MAX_BE]);
/* primitive m-th root of unity, m a power of two <= 2^19 */
fe fe_root_of_unity(uint64_t m);

#endif
