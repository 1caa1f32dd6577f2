/* The batch API: a partition of reports at one fixed r, so the Lagrange weights are computed
 * once and each report costs its decryption, (B) expansion and two dot products. */
#include <stdlib.h>
#include <string.h>

#include "packet.h"
#include "prio.h"
#include "verifier.h"

static int valid_offsets(const uint64_t *offsets, uint64_t count) {
    for (uint64_t i = 0; i < count; i++)
        if (offsets[i + 1] < offsets[i]) return 0;
    return 1;
}

int32_t prio_load_partition(int32_t n_data, const uint8_t *batch_id, uint32_t batch_id_len, int32_t prg_mode,
                            int32_t server_idx, const uint8_t *keys, uint32_t key_count, const uint8_t *packets,
                            const uint64_t *offsets, uint64_t count, const uint8_t r_le[16], int32_t *status,
                            uint8_t *verify1, uint32_t *verify1_len, uint8_t *records,
                            uint8_t *loaded_sum, uint64_t *loaded_sum_len, int32_t *key_index) {
    fe r = fe_from_le16(r_le);
    if (r >= FE_P || !valid_offsets(offsets, count) || (loaded_sum && !loaded_sum_len))
        return PRIO_INVALID_ARGUMENT;
    report_loader l;
    eval_weights w;
    int rc = loader_init(&l, n_data, batch_id, batch_id_len, prg_mode, server_idx, keys, key_count);
    if (rc) return rc;
    /* The sum of the loaded reports' data shares: the aggregator's partition total once the
     * (usually few) loaded-but-invalid reports are subtracted, so it need not decrypt again. */
    fe *acc = loaded_sum ? calloc(l.n_data + 1, sizeof(fe)) : NULL;
    if ((loaded_sum && !acc) || (rc = weights_init(&w, l.n_data, r))) {
        free(acc);
        loader_free(&l);
        return rc ? rc : PRIO_NO_MEMORY;
    }
    for (uint64_t i = 0; i < count; i++) {
        snip_record rec;
        int s = loader_load(&l, packets + offsets[i], (size_t)(offsets[i + 1] - offsets[i]));
        if (s == PRIO_NO_MEMORY || s == PRIO_CRYPTO_FAILURE) {
            rc = s;
            break;
        }
        if (!s) snip_evaluate(&w, &l.packet, server_idx, &rec);
        for (size_t j = 0; !s && acc && j < l.n_data; j++) acc[j] = fe_add(acc[j], l.packet.data[j]);
        status[i] = s;
        if (key_index) key_index[i] = l.opened;
        record_write(s, &rec, records + PRIO_RECORD_BYTES * i);
        verify1_len[i] = s ? 0 : (uint32_t)verify1_write(&rec, verify1 + PRIO_VERIFY1_MAX * i);
    }
    if (acc && !rc) *loaded_sum_len = packet_state_write(loaded_sum, acc, l.n_data);
    free(acc);
    weights_free(&w);
    loader_free(&l);
    return rc;
}

int32_t prio_verify2_partition(const uint8_t *records, uint64_t count, const uint8_t *peer,
                               const uint64_t *peer_offsets, const uint8_t *peer_present, int32_t *status,
                               uint8_t *verify2, uint32_t *verify2_len) {
    if (!valid_offsets(peer_offsets, count)) return PRIO_INVALID_ARGUMENT;
    for (uint64_t i = 0; i < count; i++) {
        snip_record rec;
        uint8_t own[PRIO_VERIFY1_MAX];
        fe v;
        verify2_len[i] = 0;
        int s = record_read(records + PRIO_RECORD_BYTES * i, &rec);
        if (!s && !peer_present[i]) s = PRIO_MISSING_PEER_PACKET;
        if (!s) {
            size_t own_len = verify1_write(&rec, own);
            s = verify2_compute(&rec, own, own_len, peer + peer_offsets[i],
                                (size_t)(peer_offsets[i + 1] - peer_offsets[i]), &v);
        }
        if (!s) {
            mp_writer wr = {verify2 + PRIO_VERIFY2_MAX * i, 0};
            mp_write_fe(&wr, v);
            verify2_len[i] = (uint32_t)wr.pos;
        }
        status[i] = s;
    }
    return PRIO_OK;
}

int32_t prio_valid_mask(const uint8_t *own, const uint64_t *own_offsets, const uint8_t *peer,
                        const uint64_t *peer_offsets, uint64_t count, uint8_t *mask) {
    if (!valid_offsets(own_offsets, count) || !valid_offsets(peer_offsets, count)) return PRIO_INVALID_ARGUMENT;
    for (uint64_t i = 0; i < count; i++) {
        fe a, b;
        mask[i] = !packet_fe_list_read(own + own_offsets[i], (size_t)(own_offsets[i + 1] - own_offsets[i]), &a, 1) &&
                  !packet_fe_list_read(peer + peer_offsets[i], (size_t)(peer_offsets[i + 1] - peer_offsets[i]),
                                       &b, 1) &&
                  fe_add(a, b) == 0;
    }
    return PRIO_OK;
}

int32_t prio_aggregate_partition(int32_t n_data, const uint8_t *batch_id, uint32_t batch_id_len,
                                 int32_t prg_mode, int32_t server_idx, const uint8_t *keys, uint32_t key_count,
                                 const uint8_t *packets, const uint64_t *offsets, uint64_t count,
                                 const uint8_t *mask, int32_t *status, uint8_t *state, uint64_t *state_len) {
    if (!valid_offsets(offsets, count)) return PRIO_INVALID_ARGUMENT;
    report_loader l;
    int rc = loader_init(&l, n_data, batch_id, batch_id_len, prg_mode, server_idx, keys, key_count);
    if (rc) return rc;
    fe *acc = calloc(l.n_data + 1, sizeof(fe));
    if (!acc) {
        loader_free(&l);
        return PRIO_NO_MEMORY;
    }
    for (uint64_t i = 0; i < count; i++) {
        status[i] = PRIO_OK;
        if (!mask[i]) continue;
        int s = loader_load(&l, packets + offsets[i], (size_t)(offsets[i + 1] - offsets[i]));
        status[i] = s;
        if (s) continue;
        for (size_t j = 0; j < l.n_data; j++) acc[j] = fe_add(acc[j], l.packet.data[j]);
    }
    *state_len = packet_state_write(state, acc, l.n_data);
    free(acc);
    loader_free(&l);
    return PRIO_OK;
}

int32_t prio_sum_states(int32_t n_data, const uint8_t *states, const uint64_t *offsets, uint64_t count,
                        uint8_t *out, uint64_t *out_len, uint64_t *bad_index) {
    if (n_data < 0 || n_data > PRIO_MAX_DATA_FIELDS || !valid_offsets(offsets, count)) return PRIO_INVALID_ARGUMENT;
    size_t n = (size_t)n_data;
    fe *acc = calloc(n + 1, sizeof(fe)), *v = malloc((n + 1) * sizeof(fe));
    int rc = acc && v ? PRIO_OK : PRIO_NO_MEMORY;
    for (uint64_t i = 0; !rc && i < count; i++) {
        rc = packet_state_read(states + offsets[i], (size_t)(offsets[i + 1] - offsets[i]), v, n);
        if (rc) *bad_index = i;
        for (size_t j = 0; !rc && j < n; j++) acc[j] = fe_add(acc[j], v[j]);
    }
    if (!rc) *out_len = packet_state_write(out, acc, n);
    free(acc);
    free(v);
    return rc;
}

int32_t prio_state_difference(int32_t n_data, const uint8_t *a, uint64_t a_len, const uint8_t *b,
                              uint64_t b_len, uint8_t *out, uint64_t *out_len) {
    if (n_data < 0 || n_data > PRIO_MAX_DATA_FIELDS) return PRIO_INVALID_ARGUMENT;
    size_t n = (size_t)n_data;
    fe *x = malloc((n + 1) * sizeof(fe)), *y = malloc((n + 1) * sizeof(fe));
    int rc = x && y ? PRIO_OK : PRIO_NO_MEMORY;
    if (!rc) rc = packet_state_read(a, (size_t)a_len, x, n);
    if (!rc) rc = packet_state_read(b, (size_t)b_len, y, n);
    for (size_t j = 0; !rc && j < n; j++) x[j] = fe_sub(x[j], y[j]);
    if (!rc) *out_len = packet_state_write(out, x, n);
    free(x);
    free(y);
    return rc;
}
