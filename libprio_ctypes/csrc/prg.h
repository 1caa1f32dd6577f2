/* The deterministic PRG: AES-128-CTR as one continuous stream, keyed per mode R/H (spec §4). */
#ifndef PRIO_PRG_H
#define PRIO_PRG_H

#include <openssl/evp.h>

#include "field.h"

#define PRG_BUFFER 4096

typedef struct {
    EVP_CIPHER_CTX *ctx;
    uint8_t buf[PRG_BUFFER];
    size_t pos, len;
} prg;

/* key derivation of §4.2: mode R = the seed, mode H = SHA-256(seed || batch_id)[0:16] */
int prg_derive_key(const uint8_t seed[16], const uint8_t *batch_id, size_t batch_id_len, int mode,
                   uint8_t key[16]);
/* a stream positioned at byte `offset`; returns a prio_status */
int prg_init(prg *g, const uint8_t key[16], uint64_t offset);
void prg_free(prg *g);
int prg_read(prg *g, uint8_t *out, size_t len);
/* libprio's sampler (§4.3): k+1 bytes per attempt, the first byte overwritten */
int prg_sample_below(prg *g, fe bound, fe *out, uint64_t *consumed);
/* r = (n_data + 2) + sample_below(p - n_data - 2)  (§4.4) */
int prg_eval_point(prg *g, int32_t n_data, fe *r, uint64_t *consumed);
/* n_data then n_h samples below p (§4.5) */
int prg_expand(prg *g, fe *data, size_t n_data, fe *h, size_t n_h);

#endif
