/* Small public entry points: status strings, sizes, keys, PRG access, test hooks. */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "packet.h"
#include "prg.h"
#include "prio.h"

static const char *const MESSAGES[] = {
    "ok",
    "decryption failed",
    "batch id mismatch",
    "wrong server index",
    "bad field element",
    "wrong length",
    "truncated input",
    "malformed input",
    "value out of range",
    "invalid proof",
    "sum overflows 64 bits",
    "configuration mismatch",
    "invalid argument",
    "cryptographic library failure",
    "out of memory",
    "peer packet missing",
};

const char *prio_strerror(int32_t status) {
    if (status < 0 || (size_t)status >= sizeof MESSAGES / sizeof *MESSAGES) return "unknown status";
    return MESSAGES[status];
}

uint64_t prio_h_points(int32_t n_data) {
    uint64_t n = 1;
    while (n < (uint64_t)(n_data < 0 ? 0 : n_data) + 1) n <<= 1;
    return n;
}

uint64_t prio_packet_a_max_size(int32_t n_data, uint32_t batch_id_len) {
    return packet_client_max_size((size_t)(n_data < 0 ? 0 : n_data), batch_id_len, PRIO_SERVER_A) +
           PRIO_ENVELOPE_OVERHEAD;
}

uint64_t prio_packet_b_max_size(uint32_t batch_id_len) {
    return packet_client_max_size(0, batch_id_len, PRIO_SERVER_B) + PRIO_ENVELOPE_OVERHEAD;
}

uint64_t prio_state_max_size(int32_t n_data) {
    size_t n = (size_t)(n_data < 0 ? 0 : n_data);
    return 1 + mp_array_header_size(n) + n * (1 + FE_MAX_BE);
}

int32_t prio_keygen(uint8_t priv[32], uint8_t pub[32]) {
    if (RAND_bytes(priv, 32) != 1) return PRIO_CRYPTO_FAILURE;
    return prio_public_from_private(priv, pub);
}

int32_t prio_public_from_private(const uint8_t priv[32], uint8_t pub[32]) {
    EVP_PKEY *k = NULL;
    size_t len = 32;
    int rc = envelope_private_key(priv, &k);
    if (!rc && EVP_PKEY_get_raw_public_key(k, pub, &len) <= 0) rc = PRIO_CRYPTO_FAILURE;
    EVP_PKEY_free(k);
    return rc;
}

int32_t prio_random_bytes(uint8_t *out, uint64_t len) {
    return len > 1u << 30 ? PRIO_INVALID_ARGUMENT : RAND_bytes(out, (int)len) == 1 ? PRIO_OK : PRIO_CRYPTO_FAILURE;
}

int32_t prio_encrypt(const uint8_t pub[32], const uint8_t *msg, uint64_t len, uint8_t *out) {
    return envelope_encrypt(pub, msg, (size_t)len, out);
}

int32_t prio_decrypt(const uint8_t priv[32], const uint8_t *blob, uint64_t len, uint8_t *out, uint64_t *out_len) {
    EVP_PKEY *k = NULL;
    size_t n = 0;
    int rc = envelope_private_key(priv, &k);
    if (!rc) rc = envelope_decrypt(k, blob, (size_t)len, out, &n);
    EVP_PKEY_free(k);
    if (!rc) *out_len = n;
    return rc;
}

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
    size_t n = (size_t)n_data, n_h = (size_t)prio_h_points(n_data);
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

int32_t prio_client_packet_canonical(int32_t n_data, const uint8_t *batch_id, uint32_t batch_id_len,
                                     int32_t server_idx, const uint8_t *in, uint64_t len, uint8_t *out,
                                     uint64_t *out_len) {
    if (n_data < 0 || n_data > PRIO_MAX_DATA_FIELDS || (server_idx != 0 && server_idx != 1))
        return PRIO_INVALID_ARGUMENT;
    size_t n = (size_t)n_data, n_h = (size_t)prio_h_points(n_data);
    client_packet pk;
    pk.data = malloc((n + 1) * sizeof(fe));
    pk.h = malloc(n_h * sizeof(fe));
    int rc = pk.data && pk.h ? PRIO_OK : PRIO_NO_MEMORY;
    if (!rc) rc = packet_client_read(in, (size_t)len, n, batch_id, batch_id_len, server_idx, &pk);
    if (!rc) *out_len = packet_client_write(out, n, batch_id, batch_id_len, server_idx, &pk);
    free(pk.data);
    free(pk.h);
    return rc;
}

enum { TEST_ADD = 0, TEST_SUB = 1, TEST_MUL = 2, TEST_INV = 3, TEST_DOT = 4 };

int32_t prio_test_field(int32_t op, const uint8_t a[16], const uint8_t b[16], uint8_t out[16]) {
    fe x = fe_from_le16(a), y = fe_from_le16(b), r;
    if (x >= FE_P || y >= FE_P) return PRIO_INVALID_ARGUMENT;
    fe_acc acc;
    switch (op) {
    case TEST_ADD: r = fe_add(x, y); break;
    case TEST_SUB: r = fe_sub(x, y); break;
    case TEST_MUL: r = fe_mul(x, y); break;
    case TEST_INV: r = fe_inv(x); break;
    case TEST_DOT: /* 2^20 copies of x*y through the lazy accumulator */
        fe_acc_init(&acc);
        for (int i = 0; i < (1 << 20); i++) fe_acc_mac(&acc, x, y);
        r = fe_acc_value(&acc);
        break;
    default: return PRIO_INVALID_ARGUMENT;
    }
    fe_to_le16(r, out);
    return PRIO_OK;
}
