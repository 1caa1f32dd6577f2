/* Client encoding: shares, Beaver triple and SNIP h points, then both envelopes (spec §6, §7). */
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "ntt.h"
#include "packet.h"
#include "prg.h"
#include "prio.h"

static int random_fe(fe *out) {
    uint8_t b[16];
    do {
        if (RAND_bytes(b, 16) != 1) return PRIO_CRYPTO_FAILURE;
        b[11] = b[12] = b[13] = b[14] = b[15] = 0;
        *out = fe_from_le16(b);
    } while (*out >= FE_P);
    return PRIO_OK;
}

typedef struct {
    client_packet a, b;
    fe *f, *g, *tw;
} encoding;

static int build_shares(encoding *s, size_t n_data, size_t n_h, const uint8_t *values,
                        const uint8_t *batch_id, size_t batch_id_len, int prg_mode) {
    fe r[10];
    for (int i = 0; i < 10; i++)
        if (random_fe(&r[i])) return PRIO_CRYPTO_FAILURE;
    if (RAND_bytes(s->b.seed, 16) != 1) return PRIO_CRYPTO_FAILURE;
    /* Beaver triple: (a_A + a_B)(b_A + b_B) = c_A + c_B */
    s->a.a = r[0], s->a.b = r[1], s->b.a = r[2], s->b.b = r[3], s->b.c = r[4];
    s->a.c = fe_sub(fe_mul(fe_add(r[0], r[2]), fe_add(r[1], r[3])), r[4]);
    fe f0 = r[5], g0 = r[6];
    s->a.f0 = r[7], s->a.g0 = r[8], s->a.h0 = r[9];
    s->b.f0 = fe_sub(f0, r[7]), s->b.g0 = fe_sub(g0, r[8]), s->b.h0 = fe_sub(fe_mul(f0, g0), r[9]);

    uint8_t key[16];
    prg g;
    int rc = prg_derive_key(s->b.seed, batch_id, batch_id_len, prg_mode, key);
    if (rc || (rc = prg_init(&g, key, 0))) return rc;
    rc = prg_expand(&g, s->a.data, n_data, s->a.h, n_h); /* B's shares; A's follow */
    prg_free(&g);
    if (rc) return rc;

    memset(s->f, 0, n_h * sizeof(fe));
    memset(s->g, 0, n_h * sizeof(fe));
    s->f[0] = f0;
    s->g[0] = g0;
    for (size_t i = 0; i < n_data; i++) {
        fe x = values[i];
        s->f[i + 1] = x;
        s->g[i + 1] = fe_sub(x, 1);
        s->a.data[i] = fe_sub(x, s->a.data[i]);
    }
    ntt_odd_points(s->f, n_h, s->tw);
    ntt_odd_points(s->g, n_h, s->tw);
    for (size_t j = 0; j < n_h; j++) s->a.h[j] = fe_sub(fe_mul(s->f[j], s->g[j]), s->a.h[j]);
    return PRIO_OK;
}

int32_t prio_encode(int32_t n_data, const uint8_t *batch_id, uint32_t batch_id_len, int32_t prg_mode,
                    const uint8_t pub_a[32], const uint8_t pub_b[32], const uint8_t *values,
                    int32_t allow_non_binary, uint8_t *out_a, uint64_t *len_a, uint8_t *out_b, uint64_t *len_b) {
    if (n_data < 0 || n_data > PRIO_MAX_DATA_FIELDS || (prg_mode != PRIO_PRG_RAW && prg_mode != PRIO_PRG_HASH))
        return PRIO_INVALID_ARGUMENT;
    for (int32_t i = 0; i < n_data && !allow_non_binary; i++)
        if (values[i] > 1) return PRIO_VALUE_OUT_OF_RANGE;
    size_t n = (size_t)n_data, n_h = ntt_h_points(n);
    encoding s = {0};
    s.a.data = malloc((n + 1) * sizeof(fe));
    s.a.h = malloc(n_h * sizeof(fe));
    s.f = malloc(n_h * sizeof(fe));
    s.g = malloc(n_h * sizeof(fe));
    s.tw = malloc((n_h / 2 + 1) * sizeof(fe));
    size_t cap_a = packet_client_max_size(n, batch_id_len, PRIO_SERVER_A);
    size_t cap_b = packet_client_max_size(n, batch_id_len, PRIO_SERVER_B);
    size_t cap = cap_a > cap_b ? cap_a : cap_b; /* n_data 0: packet B is the longer one */
    uint8_t *plain = malloc(cap);
    int rc = PRIO_NO_MEMORY;
    if (s.a.data && s.a.h && s.f && s.g && s.tw && plain) {
        rc = build_shares(&s, n, n_h, values, batch_id, batch_id_len, prg_mode);
    }
    if (!rc) {
        size_t la = packet_client_write(plain, n, batch_id, batch_id_len, PRIO_SERVER_A, &s.a);
        rc = envelope_encrypt(pub_a, plain, la, out_a);
        *len_a = la + PRIO_ENVELOPE_OVERHEAD;
    }
    if (!rc) {
        size_t lb = packet_client_write(plain, n, batch_id, batch_id_len, PRIO_SERVER_B, &s.b);
        rc = envelope_encrypt(pub_b, plain, lb, out_b);
        *len_b = lb + PRIO_ENVELOPE_OVERHEAD;
    }
    if (plain) OPENSSL_cleanse(plain, cap);
    free(plain);
    free(s.a.data);
    free(s.a.h);
    free(s.f);
    free(s.g);
    free(s.tw);
    return rc;
}
