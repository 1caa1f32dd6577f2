/* Report loading and the O(N) evaluation of fR, gR, hR. */
#include "verifier.h"

#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "ntt.h"
#include "prg.h"
#include "prio.h"

/* r a 2N-th root: every weight is 0 except the one of that node */
static int node_index(fe r, size_t n2, const fe *powers) {
    for (size_t k = 0; k < n2; k++)
        if (powers[k] == r) return (int)k;
    return -1;
}

int weights_init(eval_weights *w, size_t n_data, fe r) {
    size_t n_h = ntt_h_points(n_data), n2 = 2 * n_h;
    w->n_data = n_data;
    w->n_h = n_h;
    w->w_n = calloc(n_h, sizeof(fe));
    w->w_h = calloc(n_h + 1, sizeof(fe));
    fe *powers = malloc(n2 * sizeof(fe)), *inv = malloc(n2 * sizeof(fe)), *scratch = malloc(n2 * sizeof(fe));
    int rc = PRIO_NO_MEMORY;
    if (!w->w_n || !w->w_h || !powers || !inv || !scratch) goto done;
    fe root = fe_root_of_unity(n2);
    powers[0] = 1;
    for (size_t k = 1; k < n2; k++) powers[k] = fe_mul(powers[k - 1], root);
    fe r_n = fe_pow(r, n_h), r_2n = fe_mul(r_n, r_n);
    int node = r_2n == 1 ? node_index(r, n2, powers) : -1;
    for (size_t k = 0; k < n2; k++) inv[k] = fe_sub(r, powers[k]);
    fe_batch_inv(inv, inv, n2, scratch);
    if (node >= 0 && node % 2 == 0) {
        w->w_n[node / 2] = 1;
    } else {
        fe scale = fe_mul(fe_sub(r_n, 1), fe_inv(n_h));
        for (size_t i = 0; i < n_h; i++) w->w_n[i] = fe_mul(scale, fe_mul(powers[2 * i], inv[2 * i]));
    }
    if (node >= 0) {
        if (node == 0) w->w_h[0] = 1;
        else if (node % 2) w->w_h[node / 2 + 1] = 1;
    } else {
        fe scale = fe_mul(fe_sub(r_2n, 1), fe_inv(n2));
        w->w_h[0] = fe_mul(scale, inv[0]);
        for (size_t j = 0; j < n_h; j++) w->w_h[j + 1] = fe_mul(scale, fe_mul(powers[2 * j + 1], inv[2 * j + 1]));
    }
    w->w_data = 0;
    for (size_t i = 1; i <= n_data; i++) w->w_data = fe_add(w->w_data, w->w_n[i]);
    rc = PRIO_OK;
done:
    free(powers);
    free(inv);
    free(scratch);
    if (rc) weights_free(w);
    return rc;
}

void weights_free(eval_weights *w) {
    free(w->w_n);
    free(w->w_h);
    w->w_n = w->w_h = NULL;
}

int loader_init(report_loader *l, int32_t n_data, const uint8_t *batch_id, size_t batch_id_len, int prg_mode,
                int server_idx, const uint8_t *keys, uint32_t key_count) {
    memset(l, 0, sizeof *l);
    l->opened = PRIO_NO_KEY;
    if (n_data < 0 || n_data > PRIO_MAX_DATA_FIELDS || (server_idx != 0 && server_idx != 1) ||
        (prg_mode != PRIO_PRG_RAW && prg_mode != PRIO_PRG_HASH) || key_count < 1 || key_count > PRIO_MAX_KEYS)
        return PRIO_INVALID_ARGUMENT;
    l->n_data = (size_t)n_data;
    l->n_h = ntt_h_points(l->n_data);
    l->batch_id = batch_id;
    l->batch_id_len = batch_id_len;
    l->prg_mode = prg_mode;
    l->server_idx = server_idx;
    l->packet.data = malloc((l->n_data + 1) * sizeof(fe));
    l->packet.h = malloc(l->n_h * sizeof(fe));
    if (!l->packet.data || !l->packet.h) {
        loader_free(l);
        return PRIO_NO_MEMORY;
    }
    int rc = PRIO_OK;
    for (uint32_t k = 0; !rc && k < key_count; k++) {
        l->order[k] = (uint8_t)k;
        if (!(rc = envelope_private_key(keys + 32 * (size_t)k, &l->keys[k]))) l->key_count = k + 1;
    }
    if (rc) loader_free(l);
    return rc;
}

void loader_free(report_loader *l) {
    for (uint32_t k = 0; k < l->key_count; k++) EVP_PKEY_free(l->keys[k]);
    free(l->plain);
    free(l->packet.data);
    free(l->packet.h);
    memset(l, 0, sizeof *l);
}

static int expand(report_loader *l) {
    uint8_t key[16];
    prg g;
    int rc = prg_derive_key(l->packet.seed, l->batch_id, l->batch_id_len, l->prg_mode, key);
    if (rc || (rc = prg_init(&g, key, 0))) return rc;
    rc = prg_expand(&g, l->packet.data, l->n_data, l->packet.h, l->n_h);
    prg_free(&g);
    return rc;
}

int loader_load(report_loader *l, const uint8_t *blob, size_t len) {
    l->opened = PRIO_NO_KEY;
    if (len < 60 || len - 60 >= ENVELOPE_MAX_PLAINTEXT) return PRIO_DECRYPT_FAILED;
    size_t need = len - 60 + 1;
    if (need > l->plain_cap) {
        uint8_t *p = realloc(l->plain, need);
        if (!p) return PRIO_NO_MEMORY;
        l->plain = p;
        l->plain_cap = need;
    }
    size_t plain_len;
    uint32_t pos = 0;
    int rc = envelope_decrypt_ring(l->keys, l->order, l->key_count, blob, len, l->plain, &plain_len, &pos);
    if (rc) return rc;
    uint8_t key = l->order[pos];
    memmove(l->order + 1, l->order, pos); /* move to front */
    l->order[0] = key;
    l->opened = key;
    rc = packet_client_read(l->plain, plain_len, l->n_data, l->batch_id, l->batch_id_len, l->server_idx,
                            &l->packet);
    if (rc || l->server_idx == PRIO_SERVER_A) return rc;
    return expand(l);
}

void snip_evaluate(const eval_weights *w, const client_packet *pk, int server_idx, snip_record *rec) {
    fe_acc acc;
    fe_acc_init(&acc);
    for (size_t i = 0; i < w->n_data; i++) fe_acc_mac(&acc, pk->data[i], w->w_n[i + 1]);
    fe s = fe_acc_value(&acc);
    fe f_r = fe_add(fe_mul(pk->f0, w->w_n[0]), s);
    fe g_r = fe_add(fe_mul(pk->g0, w->w_n[0]), s);
    if (server_idx == PRIO_SERVER_A) g_r = fe_sub(g_r, w->w_data);
    fe_acc_init(&acc);
    fe_acc_mac(&acc, pk->h0, w->w_h[0]);
    for (size_t j = 0; j < w->n_h; j++) fe_acc_mac(&acc, pk->h[j], w->w_h[j + 1]);
    rec->h_r = fe_acc_value(&acc);
    rec->d = fe_sub(f_r, pk->a);
    rec->e = fe_sub(g_r, pk->b);
    rec->a = pk->a;
    rec->b = pk->b;
    rec->c = pk->c;
}

void record_write(int32_t status, const snip_record *rec, uint8_t out[112]) {
    memset(out, 0, 112);
    uint32_t s = (uint32_t)status;
    for (int i = 0; i < 4; i++) out[i] = (uint8_t)(s >> (8 * i));
    if (status) return;
    const fe v[6] = {rec->d, rec->e, rec->a, rec->b, rec->c, rec->h_r};
    for (int i = 0; i < 6; i++) fe_to_le16(v[i], out + 16 + 16 * i);
}

int record_read(const uint8_t in[112], snip_record *rec) {
    uint32_t s = 0;
    for (int i = 0; i < 4; i++) s |= (uint32_t)in[i] << (8 * i);
    if (s) return s <= PRIO_MISSING_PEER_PACKET ? (int)s : PRIO_MALFORMED;
    fe *v[6] = {&rec->d, &rec->e, &rec->a, &rec->b, &rec->c, &rec->h_r};
    for (int i = 0; i < 6; i++) {
        *v[i] = fe_from_le16(in + 16 + 16 * i);
        if (*v[i] >= FE_P) return PRIO_MALFORMED;
    }
    return PRIO_OK;
}

size_t verify1_write(const snip_record *rec, uint8_t out[24]) {
    mp_writer w = {out, 0};
    mp_write_fe(&w, rec->d);
    mp_write_fe(&w, rec->e);
    return w.pos;
}

int verify2_compute(const snip_record *rec, const uint8_t *v1_a, size_t len_a, const uint8_t *v1_b,
                    size_t len_b, fe *out) {
    fe pa[2], pb[2];
    int rc = packet_fe_list_read(v1_a, len_a, pa, 2);
    if (rc || (rc = packet_fe_list_read(v1_b, len_b, pb, 2))) return rc;
    fe d = fe_add(pa[0], pb[0]), e = fe_add(pa[1], pb[1]);
    const fe inv2 = (FE_P + 1) / 2;
    fe v = fe_mul(fe_mul(d, e), inv2);
    v = fe_add(v, fe_mul(d, rec->b));
    v = fe_add(v, fe_mul(e, rec->a));
    v = fe_add(v, rec->c);
    *out = fe_sub(v, rec->h_r);
    return PRIO_OK;
}
