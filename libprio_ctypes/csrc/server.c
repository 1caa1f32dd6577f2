/* The libprio object model, one packet at a time (spec §9): set_data draws r from the
 * server's PRG stream; verify1/verify2/isValid; accumulator, state, total share, final. */
#include <stdlib.h>
#include <string.h>

#include "packet.h"
#include "prg.h"
#include "prio.h"
#include "verifier.h"

static int valid_n(int32_t n_data) { return n_data >= 0 && n_data <= PRIO_MAX_DATA_FIELDS; }

int32_t prio_verifier_set_data(int32_t n_data, const uint8_t *batch_id, uint32_t batch_id_len,
                               int32_t prg_mode, int32_t server_idx, const uint8_t *keys, uint32_t key_count,
                               const uint8_t prg_key[16], uint64_t *prg_offset, const uint8_t *r_override,
                               const uint8_t *blob, uint64_t len, uint8_t record[PRIO_RECORD_BYTES],
                               uint8_t *data_shares) {
    report_loader l;
    int rc = loader_init(&l, n_data, batch_id, batch_id_len, prg_mode, server_idx, keys, key_count);
    if (rc) return rc;
    rc = loader_load(&l, blob, (size_t)len);
    fe r = 0;
    if (!rc && r_override) {
        r = fe_from_le16(r_override);
        if (r >= FE_P) rc = PRIO_INVALID_ARGUMENT;
    } else if (!rc) {
        prg g;
        uint64_t used = 0;
        rc = prg_init(&g, prg_key, *prg_offset);
        if (!rc) {
            rc = prg_eval_point(&g, n_data, &r, &used);
            prg_free(&g);
        }
        if (!rc) *prg_offset += used;
    }
    eval_weights w;
    if (!rc && !(rc = weights_init(&w, l.n_data, r))) {
        snip_record rec;
        snip_evaluate(&w, &l.packet, server_idx, &rec);
        weights_free(&w);
        record_write(PRIO_OK, &rec, record);
        for (size_t i = 0; i < l.n_data; i++) fe_to_le16(l.packet.data[i], data_shares + 16 * i);
    }
    loader_free(&l);
    return rc;
}

int32_t prio_verify1_write(const uint8_t record[PRIO_RECORD_BYTES], uint8_t *out, uint32_t *out_len) {
    snip_record rec;
    int rc = record_read(record, &rec);
    if (!rc) *out_len = (uint32_t)verify1_write(&rec, out);
    return rc;
}

int32_t prio_verify2_write(const uint8_t record[PRIO_RECORD_BYTES], const uint8_t *v1_a, uint64_t len_a,
                           const uint8_t *v1_b, uint64_t len_b, uint8_t *out, uint32_t *out_len) {
    snip_record rec;
    fe v;
    int rc = record_read(record, &rec);
    if (rc || (rc = verify2_compute(&rec, v1_a, (size_t)len_a, v1_b, (size_t)len_b, &v))) return rc;
    mp_writer w = {out, 0};
    mp_write_fe(&w, v);
    *out_len = (uint32_t)w.pos;
    return PRIO_OK;
}

int32_t prio_is_valid(const uint8_t *v2_a, uint64_t len_a, const uint8_t *v2_b, uint64_t len_b, int32_t *valid) {
    fe a, b;
    int rc = packet_fe_list_read(v2_a, (size_t)len_a, &a, 1);
    if (rc || (rc = packet_fe_list_read(v2_b, (size_t)len_b, &b, 1))) return rc;
    *valid = fe_add(a, b) == 0;
    return PRIO_OK;
}

/* n field elements as read by libprio (any str width, trailing bytes ignored) into LE form */
static int verify_read(const uint8_t *in, uint64_t len, uint8_t *out, size_t n) {
    fe v[2];
    int rc = packet_fe_list_read(in, (size_t)len, v, n);
    for (size_t i = 0; !rc && i < n; i++) fe_to_le16(v[i], out + 16 * i);
    return rc;
}

int32_t prio_verify1_read(const uint8_t *in, uint64_t len, uint8_t out[32]) { return verify_read(in, len, out, 2); }

int32_t prio_verify2_read(const uint8_t *in, uint64_t len, uint8_t out[16]) { return verify_read(in, len, out, 1); }

static int verify_encode(const uint8_t *values, size_t n, uint8_t *out, uint32_t *out_len) {
    mp_writer w = {out, 0};
    for (size_t i = 0; i < n; i++)
        if (fe_from_le16(values + 16 * i) >= FE_P) return PRIO_INVALID_ARGUMENT;
    for (size_t i = 0; i < n; i++) mp_write_fe(&w, fe_from_le16(values + 16 * i));
    *out_len = (uint32_t)w.pos;
    return PRIO_OK;
}

int32_t prio_verify1_encode(const uint8_t values[32], uint8_t *out, uint32_t *out_len) {
    return verify_encode(values, 2, out, out_len);
}

int32_t prio_verify2_encode(const uint8_t value[16], uint8_t *out, uint32_t *out_len) {
    return verify_encode(value, 1, out, out_len);
}

static int read_le_vector(const uint8_t *in, size_t n, fe *out) {
    for (size_t i = 0; i < n; i++) {
        out[i] = fe_from_le16(in + 16 * i);
        if (out[i] >= FE_P) return PRIO_INVALID_ARGUMENT;
    }
    return PRIO_OK;
}

int32_t prio_vector_add(uint8_t *acc, const uint8_t *shares, int32_t n) {
    if (!valid_n(n)) return PRIO_INVALID_ARGUMENT;
    for (int32_t i = 0; i < n; i++) {
        fe x = fe_from_le16(acc + 16 * i), y = fe_from_le16(shares + 16 * i);
        if (x >= FE_P || y >= FE_P) return PRIO_INVALID_ARGUMENT;
    }
    for (int32_t i = 0; i < n; i++)
        fe_to_le16(fe_add(fe_from_le16(acc + 16 * i), fe_from_le16(shares + 16 * i)), acc + 16 * i);
    return PRIO_OK;
}

/* runs `write` over a decoded LE vector */
static int with_vector(const uint8_t *acc, size_t n, fe **out) {
    *out = malloc((n + 1) * sizeof(fe));
    if (!*out) return PRIO_NO_MEMORY;
    int rc = read_le_vector(acc, n, *out);
    if (rc) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

int32_t prio_state_write(const uint8_t *acc, int32_t n_data, uint8_t *out, uint64_t *out_len) {
    fe *v;
    if (!valid_n(n_data)) return PRIO_INVALID_ARGUMENT;
    int rc = with_vector(acc, (size_t)n_data, &v);
    if (rc) return rc;
    *out_len = packet_state_write(out, v, (size_t)n_data);
    free(v);
    return PRIO_OK;
}

int32_t prio_state_read(int32_t n_data, const uint8_t *in, uint64_t len, uint8_t *acc) {
    if (!valid_n(n_data)) return PRIO_INVALID_ARGUMENT;
    fe *v = malloc(((size_t)n_data + 1) * sizeof(fe));
    if (!v) return PRIO_NO_MEMORY;
    int rc = packet_state_read(in, (size_t)len, v, (size_t)n_data);
    for (int32_t i = 0; !rc && i < n_data; i++) fe_to_le16(v[i], acc + 16 * i);
    free(v);
    return rc;
}

int32_t prio_total_share_write(int32_t server_idx, const uint8_t *acc, int32_t n_data, uint8_t *out,
                               uint64_t *out_len) {
    fe *v;
    if (!valid_n(n_data) || (server_idx != 0 && server_idx != 1)) return PRIO_INVALID_ARGUMENT;
    int rc = with_vector(acc, (size_t)n_data, &v);
    if (rc) return rc;
    *out_len = packet_total_share_write(out, server_idx, v, (size_t)n_data);
    free(v);
    return PRIO_OK;
}

int32_t prio_total_share_write_uint(int32_t server_idx, const uint8_t *acc, int32_t n_data, int32_t precision,
                                    uint8_t *out, uint64_t *out_len) {
    if (precision < 1 || precision > 42 || !valid_n(n_data) || n_data % precision) return PRIO_INVALID_ARGUMENT;
    if (server_idx != 0 && server_idx != 1) return PRIO_INVALID_ARGUMENT;
    fe *v;
    int rc = with_vector(acc, (size_t)n_data, &v);
    if (rc) return rc;
    size_t n_uints = (size_t)(n_data / precision);
    for (size_t k = 0; k < n_uints; k++) {
        fe t = 0; /* most significant bit first (§9.11) */
        for (int32_t b = 0; b < precision; b++) t = fe_add(fe_add(t, t), v[k * (size_t)precision + (size_t)b]);
        v[k] = t;
    }
    *out_len = packet_total_share_write(out, server_idx, v, n_uints);
    free(v);
    return PRIO_OK;
}

int32_t prio_total_share_read(int32_t n_data, const uint8_t *in, uint64_t len, int32_t *server_idx, uint8_t *acc) {
    if (!valid_n(n_data)) return PRIO_INVALID_ARGUMENT;
    fe *v = malloc(((size_t)n_data + 1) * sizeof(fe));
    if (!v) return PRIO_NO_MEMORY;
    int idx = 0;
    int rc = packet_total_share_read(in, (size_t)len, v, (size_t)n_data, &idx);
    for (int32_t i = 0; !rc && i < n_data; i++) fe_to_le16(v[i], acc + 16 * i);
    if (!rc) *server_idx = idx;
    free(v);
    return rc;
}

int32_t prio_final(int32_t n_data, const uint8_t *t_a, uint64_t len_a, const uint8_t *t_b, uint64_t len_b,
                   uint64_t *out) {
    if (!valid_n(n_data)) return PRIO_INVALID_ARGUMENT;
    size_t n = (size_t)n_data;
    fe *va = malloc((n + 1) * sizeof(fe)), *vb = malloc((n + 1) * sizeof(fe));
    int ia = -1, ib = -1, rc = PRIO_NO_MEMORY;
    if (va && vb) {
        rc = packet_total_share_read(t_a, (size_t)len_a, va, n, &ia);
        if (!rc) rc = packet_total_share_read(t_b, (size_t)len_b, vb, n, &ib);
        if (!rc && (ia != 0 || ib != 1)) rc = PRIO_WRONG_SERVER_INDEX;
    }
    for (size_t i = 0; !rc && i < n; i++) {
        fe s = fe_add(va[i], vb[i]);
        if (s >> 64) rc = PRIO_SUM_OVERFLOW;
        else out[i] = (uint64_t)s;
    }
    free(va);
    free(vb);
    return rc;
}
