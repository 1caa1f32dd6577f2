/* Server side of the SNIP: loading a report (decrypt, parse, expand) and evaluating its
 * shares at r in O(N) with barycentric weights (spec §9.3-9.5, §15). */
#ifndef PRIO_VERIFIER_H
#define PRIO_VERIFIER_H

#include <openssl/evp.h>

#include "field.h"
#include "packet.h"
#include "prio.h"

/* Lagrange weights at one r: f(r) = sum F[i] w_n[i], h(r) = H[0] w_h[0] + sum_j H[2j+1] w_h[j+1] */
typedef struct {
    size_t n_data, n_h;
    fe *w_n;   /* n_h weights over the N-th roots */
    fe *w_h;   /* n_h + 1 weights over the 2N-th roots: index 0 and the odd ones */
    fe w_data; /* sum of w_n[1..n_data]: server A's g shift */
} eval_weights;

int weights_init(eval_weights *w, size_t n_data, fe r);
void weights_free(eval_weights *w);

typedef struct {
    size_t n_data, n_h;
    const uint8_t *batch_id;
    size_t batch_id_len;
    int prg_mode, server_idx;
    EVP_PKEY *keys[PRIO_MAX_KEYS]; /* the keyring, current first */
    uint32_t key_count;
    /* the order keys are tried in: most recently opening first (then the ring's order), so a
     * partition under one key costs one X25519 per report whatever the ring's size, and a mix of
     * two keys at most two */
    uint8_t order[PRIO_MAX_KEYS];
    int32_t opened; /* after a load: the key that opened the report, or PRIO_NO_KEY */
    uint8_t *plain;
    size_t plain_cap;
    client_packet packet; /* after a load: this server's shares (B: expanded) */
} report_loader;

/* keys: key_count X25519 private keys of 32 bytes, 1 to PRIO_MAX_KEYS */
int loader_init(report_loader *l, int32_t n_data, const uint8_t *batch_id, size_t batch_id_len, int prg_mode,
                int server_idx, const uint8_t *keys, uint32_t key_count);
int loader_load(report_loader *l, const uint8_t *blob, size_t len);
void loader_free(report_loader *l);

typedef struct {
    fe d, e, a, b, c, h_r;
} snip_record;

void snip_evaluate(const eval_weights *w, const client_packet *pk, int server_idx, snip_record *rec);
void record_write(int32_t status, const snip_record *rec, uint8_t out[112]);
/* returns the stored status, or MALFORMED for a corrupted record */
int record_read(const uint8_t in[112], snip_record *rec);
size_t verify1_write(const snip_record *rec, uint8_t out[24]);
/* out = D*E/2 + D*b + E*a + c - h(r), with D, E the sums of both verify1 packets */
int verify2_compute(const snip_record *rec, const uint8_t *v1_a, size_t len_a, const uint8_t *v1_b,
                    size_t len_b, fe *out);

#endif
