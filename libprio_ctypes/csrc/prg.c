/* AES-128-CTR keystream with libprio's key modes, sampler and evaluation-point range. */
#include "prg.h"

#include <string.h>

#include "prio.h"

static const uint8_t ZEROS[PRG_BUFFER];

int prg_derive_key(const uint8_t seed[16], const uint8_t *batch_id, size_t batch_id_len, int mode,
                   uint8_t key[16]) {
    if (mode == PRIO_PRG_RAW) {
        memcpy(key, seed, 16);
        return PRIO_OK;
    }
    if (mode != PRIO_PRG_HASH) return PRIO_INVALID_ARGUMENT;
    uint8_t digest[32];
    unsigned int dlen = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md) return PRIO_NO_MEMORY;
    int ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) && EVP_DigestUpdate(md, seed, 16) &&
             (batch_id_len == 0 || EVP_DigestUpdate(md, batch_id, batch_id_len)) &&
             EVP_DigestFinal_ex(md, digest, &dlen);
    EVP_MD_CTX_free(md);
    /* libprio ignores a failing hash (uninitialized key); we fail hard (spec §14.14) */
    if (!ok || dlen != 32) return PRIO_CRYPTO_FAILURE;
    memcpy(key, digest, 16);
    return PRIO_OK;
}

static int refill(prg *g) {
    int outl = 0;
    if (!EVP_EncryptUpdate(g->ctx, g->buf, &outl, ZEROS, PRG_BUFFER) || outl != PRG_BUFFER)
        return PRIO_CRYPTO_FAILURE;
    g->pos = 0;
    g->len = PRG_BUFFER;
    return PRIO_OK;
}

int prg_init(prg *g, const uint8_t key[16], uint64_t offset) {
    uint8_t iv[16] = {0};
    uint64_t block = offset / 16;
    for (int i = 0; i < 8; i++) iv[15 - i] = (uint8_t)(block >> (8 * i));
    g->pos = g->len = 0;
    g->ctx = EVP_CIPHER_CTX_new();
    if (!g->ctx) return PRIO_NO_MEMORY;
    if (!EVP_EncryptInit_ex(g->ctx, EVP_aes_128_ctr(), NULL, key, iv)) {
        prg_free(g);
        return PRIO_CRYPTO_FAILURE;
    }
    uint8_t skip[16];
    int rc = prg_read(g, skip, offset % 16);
    if (rc) prg_free(g);
    return rc;
}

void prg_free(prg *g) {
    EVP_CIPHER_CTX_free(g->ctx);
    g->ctx = NULL;
}

int prg_read(prg *g, uint8_t *out, size_t len) {
    while (len) {
        if (g->pos == g->len) {
            int rc = refill(g);
            if (rc) return rc;
        }
        size_t take = g->len - g->pos < len ? g->len - g->pos : len;
        memcpy(out, g->buf + g->pos, take);
        g->pos += take;
        out += take;
        len -= take;
    }
    return PRIO_OK;
}

int prg_sample_below(prg *g, fe bound, fe *out, uint64_t *consumed) {
    if (bound == 0) return PRIO_INVALID_ARGUMENT;
    fe t = bound - 1;
    size_t k = 1;
    while (k < 16 && (t >> (8 * k))) k++;
    uint8_t top = (uint8_t)(t >> (8 * (k - 1))), mask = 0;
    while ((top & mask) != top) mask = (uint8_t)((mask << 1) | 1);
    uint8_t c[17];
    for (;;) {
        int rc = prg_read(g, c, k + 1);
        if (rc) return rc;
        if (consumed) *consumed += k + 1;
        c[0] = c[k];
        if (mask) c[0] &= mask;
        fe v = 0;
        for (size_t i = 0; i < k; i++) v = (v << 8) | c[i];
        if (v < bound) {
            *out = v;
            return PRIO_OK;
        }
    }
}

int prg_eval_point(prg *g, int32_t n_data, fe *r, uint64_t *consumed) {
    if (n_data < 0 || n_data > PRIO_MAX_DATA_FIELDS) return PRIO_INVALID_ARGUMENT;
    fe low = (fe)n_data + 2, v;
    int rc = prg_sample_below(g, FE_P - low, &v, consumed);
    if (!rc) *r = low + v;
    return rc;
}

static inline uint64_t load_be64(const uint8_t *b) {
    uint64_t x = 0;
    for (int i = 0; i < 8; i++) x = (x << 8) | b[i];
    return x;
}

/* sample_below(p) (§4.3 with k = 11, mask 0xff): 12 bytes per attempt,
 * candidate = byte 11 || bytes 1..10 */
static inline fe candidate(const uint8_t c[12]) {
    uint64_t high = ((uint64_t)c[11] << 16) | ((uint64_t)c[1] << 8) | c[2];
    return ((fe)high << 64) | load_be64(c + 3);
}

static int sample_p(prg *g, fe *out) {
    for (;;) {
        fe v;
        if (g->len - g->pos >= 12) {
            v = candidate(g->buf + g->pos);
            g->pos += 12;
        } else {
            uint8_t c[12];
            int rc = prg_read(g, c, 12);
            if (rc) return rc;
            v = candidate(c);
        }
        if (v < FE_P) {
            *out = v;
            return PRIO_OK;
        }
    }
}

/* n samples below p, branch-free over the buffered stream (acceptance is a coin flip) */
static int fill(prg *g, fe *out, size_t n) {
    size_t k = 0;
    while (k < n) {
        while (k < n && g->len - g->pos >= 12) {
            fe v = candidate(g->buf + g->pos);
            g->pos += 12;
            out[k] = v;
            k += v < FE_P;
        }
        if (k < n) {
            int rc = sample_p(g, &out[k]);
            if (rc) return rc;
            k++;
        }
    }
    return PRIO_OK;
}

int prg_expand(prg *g, fe *data, size_t n_data, fe *h, size_t n_h) {
    int rc = fill(g, data, n_data);
    return rc ? rc : fill(g, h, n_h);
}
