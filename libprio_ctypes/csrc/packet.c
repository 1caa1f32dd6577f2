/* Readers take exactly the objects they need and ignore trailing bytes, as libprio does. */
#include "packet.h"

#include <string.h>

#include "ntt.h"
#include "prio.h"

int packet_client_read(const uint8_t *in, size_t len, size_t n_data, const uint8_t *batch_id,
                       size_t batch_id_len, int server_idx, client_packet *out) {
    mp_reader r = {in, len, 0};
    const uint8_t *s;
    size_t n;
    int rc = mp_read_str(&r, &s, &n, PRIO_MALFORMED);
    if (rc) return rc;
    if (n != batch_id_len || (n && memcmp(s, batch_id, n) != 0)) return PRIO_BATCH_ID_MISMATCH;
    fe *shares[6] = {&out->a, &out->b, &out->c, &out->f0, &out->g0, &out->h0};
    for (int i = 0; i < 6; i++)
        if ((rc = mp_read_fe(&r, shares[i]))) return rc;
    int idx;
    if ((rc = mp_read_server_index(&r, &idx))) return rc;
    if (idx != server_idx) return PRIO_WRONG_SERVER_INDEX;
    if (server_idx == PRIO_SERVER_A) {
        if ((rc = mp_read_fe_array(&r, out->data, n_data))) return rc;
        return mp_read_fe_array(&r, out->h, ntt_h_points(n_data));
    }
    if ((rc = mp_read_str(&r, &s, &n, PRIO_MALFORMED))) return rc;
    if (n != 16) return PRIO_WRONG_LENGTH;
    memcpy(out->seed, s, 16);
    return PRIO_OK;
}

size_t packet_client_max_size(size_t n_data, size_t batch_id_len, int server_idx) {
    size_t head = mp_str_header_size(batch_id_len) + batch_id_len + 6 * (1 + FE_MAX_BE) + 1;
    if (server_idx != PRIO_SERVER_A) return head + 17;
    size_t n_h = ntt_h_points(n_data);
    return head + mp_array_header_size(n_data) + n_data * (1 + FE_MAX_BE) + mp_array_header_size(n_h) +
           n_h * (1 + FE_MAX_BE);
}

size_t packet_client_write(uint8_t *out, size_t n_data, const uint8_t *batch_id, size_t batch_id_len,
                           int server_idx, const client_packet *pk) {
    mp_writer w = {out, 0};
    mp_write_str(&w, batch_id, batch_id_len);
    const fe shares[6] = {pk->a, pk->b, pk->c, pk->f0, pk->g0, pk->h0};
    for (int i = 0; i < 6; i++) mp_write_fe(&w, shares[i]);
    mp_write_uint(&w, (uint8_t)server_idx);
    if (server_idx == PRIO_SERVER_A) {
        size_t n_h = ntt_h_points(n_data);
        mp_write_array_header(&w, n_data);
        for (size_t i = 0; i < n_data; i++) mp_write_fe(&w, pk->data[i]);
        mp_write_array_header(&w, n_h);
        for (size_t i = 0; i < n_h; i++) mp_write_fe(&w, pk->h[i]);
    } else {
        mp_write_str(&w, pk->seed, 16);
    }
    return w.pos;
}

int packet_fe_list_read(const uint8_t *in, size_t len, fe *out, size_t n) {
    mp_reader r = {in, len, 0};
    for (size_t i = 0; i < n; i++) {
        int rc = mp_read_fe(&r, &out[i]);
        if (rc) return rc;
    }
    return PRIO_OK;
}

int packet_state_read(const uint8_t *in, size_t len, fe *out, size_t n_data) {
    mp_reader r = {in, len, 0};
    return mp_read_fe_array(&r, out, n_data);
}

size_t packet_state_write(uint8_t *out, const fe *acc, size_t n_data) {
    mp_writer w = {out, 0};
    mp_write_array_header(&w, n_data);
    for (size_t i = 0; i < n_data; i++) mp_write_fe(&w, acc[i]);
    return w.pos;
}

int packet_total_share_read(const uint8_t *in, size_t len, fe *out, size_t n_data, int *server_idx) {
    mp_reader r = {in, len, 0};
    int rc = mp_read_server_index(&r, server_idx);
    if (rc) return rc;
    return mp_read_fe_array(&r, out, n_data);
}

size_t packet_total_share_write(uint8_t *out, int server_idx, const fe *acc, size_t n_data) {
    out[0] = (uint8_t)server_idx;
    return 1 + packet_state_write(out + 1, acc, n_data);
}
