/* The key and envelope exports (spec §8): X25519 key pairs, random bytes, encrypt and decrypt. */
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "envelope.h"
#include "prio.h"

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
