/* ECIES as libprio does it: ephemeral X25519, K = SHA-256(Z || 00000001)[0:16], GCM with AAD
 * "PrioPacket" || E || nonce. Blob = E || nonce || C || tag. */
#include "envelope.h"

#include <openssl/rand.h>
#include <string.h>

#include "prio.h"

#define AAD_LABEL "PrioPacket"

int envelope_private_key(const uint8_t priv[32], EVP_PKEY **key) {
    *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
    return *key ? PRIO_OK : PRIO_CRYPTO_FAILURE;
}

/* peer NULL: a point OpenSSL refused to import, which no key opens */
static int derive_key(EVP_PKEY *own, EVP_PKEY *peer, uint8_t key[16]) {
    EVP_PKEY_CTX *ctx = peer ? EVP_PKEY_CTX_new(own, NULL) : NULL;
    uint8_t z[32], digest[32];
    size_t zlen = sizeof z;
    int ok = ctx && EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) > 0 &&
             EVP_PKEY_derive(ctx, z, &zlen) > 0 && zlen == 32;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) return PRIO_DECRYPT_FAILED; /* includes the all-zero shared secret of low-order points */
    uint8_t zero_check = 0;
    for (int i = 0; i < 32; i++) zero_check |= z[i];
    if (!zero_check) return PRIO_DECRYPT_FAILED;
    static const uint8_t counter[4] = {0, 0, 0, 1};
    unsigned int dlen = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) && EVP_DigestUpdate(md, z, 32) &&
         EVP_DigestUpdate(md, counter, 4) && EVP_DigestFinal_ex(md, digest, &dlen);
    EVP_MD_CTX_free(md);
    if (!ok) return PRIO_CRYPTO_FAILURE;
    memcpy(key, digest, 16);
    return PRIO_OK;
}

static void build_aad(uint8_t aad[54], const uint8_t eph[32], const uint8_t nonce[12]) {
    memcpy(aad, AAD_LABEL, 10);
    memcpy(aad + 10, eph, 32);
    memcpy(aad + 42, nonce, 12);
}

int envelope_encrypt(const uint8_t pub[32], const uint8_t *msg, size_t len, uint8_t *out) {
    if (len >= ENVELOPE_MAX_PLAINTEXT) return PRIO_INVALID_ARGUMENT;
    EVP_PKEY *eph = NULL;
    EVP_PKEY_CTX *kctx = EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, NULL);
    size_t publen = 32;
    int ok = kctx && EVP_PKEY_keygen_init(kctx) > 0 && EVP_PKEY_keygen(kctx, &eph) > 0 &&
             EVP_PKEY_get_raw_public_key(eph, out, &publen) > 0 && RAND_bytes(out + 32, 12) == 1;
    EVP_PKEY_CTX_free(kctx);
    uint8_t key[16];
    EVP_PKEY *peer = ok ? EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pub, 32) : NULL;
    int rc = ok ? derive_key(eph, peer, key) : PRIO_CRYPTO_FAILURE;
    EVP_PKEY_free(peer);
    EVP_PKEY_free(eph);
    if (rc) return rc == PRIO_DECRYPT_FAILED ? PRIO_INVALID_ARGUMENT : rc; /* low-order recipient key */
    uint8_t aad[54];
    build_aad(aad, out, out + 32);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int outl = 0, finl = 0;
    ok = c && EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, key, out + 32) &&
         EVP_EncryptUpdate(c, NULL, &outl, aad, sizeof aad) &&
         (len == 0 || EVP_EncryptUpdate(c, out + 44, &outl, msg, (int)len)) &&
         EVP_EncryptFinal_ex(c, out + 44 + (len ? outl : 0), &finl) &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + 44 + len);
    EVP_CIPHER_CTX_free(c);
    return ok ? PRIO_OK : PRIO_CRYPTO_FAILURE;
}

/* One key's try: PRIO_DECRYPT_FAILED when its GCM tag does not accept the blob. */
static int open_with(EVP_PKEY *own, EVP_PKEY *peer, const uint8_t *blob, size_t len, uint8_t *out) {
    uint8_t key[16], aad[54], tag[16];
    int rc = derive_key(own, peer, key);
    if (rc) return rc;
    build_aad(aad, blob, blob + 32);
    size_t clen = len - 60;
    memcpy(tag, blob + len - 16, 16);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!c) return PRIO_NO_MEMORY;
    int outl = 0, finl = 0;
    int ok = EVP_DecryptInit_ex(c, EVP_aes_128_gcm(), NULL, key, blob + 32) &&
             EVP_DecryptUpdate(c, NULL, &outl, aad, sizeof aad) &&
             (clen == 0 || EVP_DecryptUpdate(c, out, &outl, blob + 44, (int)clen)) &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag);
    if (!ok) {
        EVP_CIPHER_CTX_free(c);
        return PRIO_CRYPTO_FAILURE;
    }
    ok = EVP_DecryptFinal_ex(c, out + (clen ? outl : 0), &finl) > 0;
    EVP_CIPHER_CTX_free(c);
    return ok ? PRIO_OK : PRIO_DECRYPT_FAILED;
}

int envelope_decrypt_ring(EVP_PKEY *const *keys, const uint8_t *order, uint32_t count, const uint8_t *blob,
                          size_t len, uint8_t *out, size_t *out_len, uint32_t *opened) {
    if (len < 60 || len - 60 >= ENVELOPE_MAX_PLAINTEXT) return PRIO_DECRYPT_FAILED;
    /* the ephemeral point is imported once for every key tried */
    EVP_PKEY *peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, blob, 32);
    int rc = PRIO_DECRYPT_FAILED;
    for (uint32_t t = 0; t < count && rc == PRIO_DECRYPT_FAILED; t++) {
        rc = open_with(keys[order[t]], peer, blob, len, out);
        if (!rc) *opened = t;
    }
    EVP_PKEY_free(peer);
    if (!rc) *out_len = len - 60;
    return rc;
}

int envelope_decrypt(EVP_PKEY *own, const uint8_t *blob, size_t len, uint8_t *out, size_t *out_len) {
    static const uint8_t only[1] = {0};
    uint32_t opened;
    return envelope_decrypt_ring(&own, only, 1, blob, len, out, out_len, &opened);
}
