/* The client-packet envelope: X25519, SHA-256 KDF, AES-128-GCM (spec §8). */
#ifndef PRIO_ENVELOPE_H
#define PRIO_ENVELOPE_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#define ENVELOPE_MAX_PLAINTEXT 268435455u /* INT_MAX >> 3; plaintexts must be shorter */

/* a private key prepared once for many decryptions (a partition) */
int envelope_private_key(const uint8_t priv[32], EVP_PKEY **key);
int envelope_encrypt(const uint8_t pub[32], const uint8_t *msg, size_t len, uint8_t *out);
/* out must hold len - 60 bytes */
int envelope_decrypt(EVP_PKEY *key, const uint8_t *blob, size_t len, uint8_t *out, size_t *out_len);
/* A keyring's decryption: libprio v1 blobs name no key, so the GCM tag decides. Tries keys[order[0]],
 * keys[order[1]], ... (order: count distinct indexes); *opened: the position in order of the key that
 * opened the blob. Each key tried costs an X25519. */
int envelope_decrypt_ring(EVP_PKEY *const *keys, const uint8_t *order, uint32_t count, const uint8_t *blob,
                          size_t len, uint8_t *out, size_t *out_len, uint32_t *opened);

#endif
