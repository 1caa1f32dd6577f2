/* The PRG exports (spec §4): key, stream, sampler, evaluation point, seed expansion, roots of unity. */
#include <stdlib.h>

#include "ntt.h"
#include "prg.h"
#include "prio.h"

int32_t prio_prg_key(const uint8_t seed[16], const uint8_t *batch_id, uint32_t batch_id_len, int32_t prg_mode,
                     uint8_t key[16]) {
    return prg_derive_key(seed, batch_id, batch_id_len, prg_mode, key);
}

int32_t prio_prg_stream(const uint8_t key[16], uint64_t offset, uint8_t *out, uint64_t len) {
    prg g;
    int rc = prg_init(&g, key, offset);
    if (rc) return rc;
    rc = prg_read(&g, out, (size_t)len);
    prg_free(&g);
    return rc;
}

int32_t prio_prg_sample_below(const uint8_t key[16], uint64_t *offset, const uint8_t bound[16], uint8_t out[16]) {
    prg g;
    fe v;
    uint64_t used = 0;
    int rc = prg_init(&g, key, *offset);
    if (rc) return rc;
    rc = prg_sample_below(&g, fe_from_le16(bound), &v, &used);
    prg_free(&g);
    if (!rc) {
        fe_to_le16(v, out);
        *offset += used;
    }
    return rc;
}

int32_t prio_eval_point(const uint8_t key[16], uint64_t *offset, int32_t n_data, uint8_t r[16]) {
    prg g;
    fe v;
    uint64_t used = 0;
    int rc = prg_init(&g, key, *offset);
    if (rc) return rc;
    rc = prg_eval_point(&g, n_data, &v, &used);
    prg_free(&g);
    if (!rc) {
        fe_to_le16(v, r);
        *offset += used;
    }
    return rc;
}

int32_t prio_expand_seed(const uint8_t seed[16], const uint8_t *batch_id, uint32_t batch_id_len, int32_t prg_mode,
                         int32_t n_data, uint8_t *data_shares, uint8_t *h_shares) {
    if (n_data < 0 || n_data > PRIO_MAX_DATA_FIELDS) return PRIO_INVALID_ARGUMENT;
    size_t n = (size_t)n_data, n_h = ntt_h_points(n);
    fe *v = malloc((n + n_h) * sizeof(fe));
    uint8_t key[16];
    prg g;
    if (!v) return PRIO_NO_MEMORY;
    int rc = prg_derive_key(seed, batch_id, batch_id_len, prg_mode, key);
    if (!rc && !(rc = prg_init(&g, key, 0))) {
        rc = prg_expand(&g, v, n, v + n, n_h);
        prg_free(&g);
    }
    for (size_t i = 0; !rc && i < n; i++) fe_to_le16(v[i], data_shares + 16 * i);
    for (size_t i = 0; !rc && i < n_h; i++) fe_to_le16(v[n + i], h_shares + 16 * i);
    free(v);
    return rc;
}

int32_t prio_root_of_unity(uint64_t m, uint8_t out[16]) {
    if (m == 0 || m > (1u << 19) || (m & (m - 1))) return PRIO_INVALID_ARGUMENT;
    fe_to_le16(fe_root_of_unity(m), out);
    return PRIO_OK;
}
