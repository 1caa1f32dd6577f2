/* Public C API of libprio_ctypes: a libprio v1 wire-compatible Prio core.
 *
 * Conventions of the ABI (it is called through ctypes):
 * - field elements cross the boundary as 16-byte little-endian integers < p;
 * - every function returns a prio_status (0 = OK); outputs go to caller buffers;
 * - a partition of packets is one concatenated buffer plus count+1 uint64 offsets. */
#ifndef PRIO_H
#define PRIO_H

#include <stddef.h>
#include <stdint.h>

#define PRIO_API __attribute__((visibility("default")))

typedef enum {
    PRIO_OK = 0,
    PRIO_DECRYPT_FAILED = 1,
    PRIO_BATCH_ID_MISMATCH = 2,
    PRIO_WRONG_SERVER_INDEX = 3,
    PRIO_BAD_FIELD_ELEMENT = 4,
    PRIO_WRONG_LENGTH = 5,
    PRIO_TRUNCATED = 6,
    PRIO_MALFORMED = 7,
    PRIO_VALUE_OUT_OF_RANGE = 8,
    PRIO_INVALID_PROOF = 9,
    PRIO_SUM_OVERFLOW = 10,
    PRIO_CONFIG_MISMATCH = 11,
    PRIO_INVALID_ARGUMENT = 12,
    PRIO_CRYPTO_FAILURE = 13,
    PRIO_NO_MEMORY = 14,
    PRIO_MISSING_PEER_PACKET = 15,
} prio_status;

enum { PRIO_PRG_RAW = 0, PRIO_PRG_HASH = 1 };
enum { PRIO_SERVER_A = 0, PRIO_SERVER_B = 1 };

#define PRIO_MAX_DATA_FIELDS 262143
#define PRIO_FE_BYTES 16            /* a field element across the ABI */
#define PRIO_RECORD_BYTES 112       /* per-report verifier state: status + d,e,a,b,c,hR */
#define PRIO_VERIFY1_MAX 24
#define PRIO_VERIFY2_MAX 12
#define PRIO_ENVELOPE_OVERHEAD 60
/* A keyring: 1 to PRIO_MAX_KEYS X25519 private keys of 32 bytes back to back, the current one first.
 * libprio v1 packets name no key: a report no key opens costs one X25519 per key of the ring. */
#define PRIO_MAX_KEYS 16
#define PRIO_NO_KEY (-1) /* no key of the ring opened the report */

PRIO_API const char *prio_strerror(int32_t status);

/* sizes */
PRIO_API uint64_t prio_h_points(int32_t n_data);
PRIO_API uint64_t prio_packet_a_max_size(int32_t n_data, uint32_t batch_id_len);
PRIO_API uint64_t prio_packet_b_max_size(uint32_t batch_id_len);
PRIO_API uint64_t prio_state_max_size(int32_t n_data);

/* keys and envelope (spec §8) */
PRIO_API int32_t prio_keygen(uint8_t priv[32], uint8_t pub[32]);
PRIO_API int32_t prio_public_from_private(const uint8_t priv[32], uint8_t pub[32]);
PRIO_API int32_t prio_random_bytes(uint8_t *out, uint64_t len);
PRIO_API int32_t prio_encrypt(const uint8_t pub[32], const uint8_t *msg, uint64_t len, uint8_t *out);
PRIO_API int32_t prio_decrypt(const uint8_t priv[32], const uint8_t *blob, uint64_t len,
                              uint8_t *out, uint64_t *out_len);

/* PRG (spec §4) */
PRIO_API int32_t prio_prg_key(const uint8_t seed[16], const uint8_t *batch_id, uint32_t batch_id_len,
                              int32_t prg_mode, uint8_t key[16]);
PRIO_API int32_t prio_prg_stream(const uint8_t key[16], uint64_t offset, uint8_t *out, uint64_t len);
PRIO_API int32_t prio_prg_sample_below(const uint8_t key[16], uint64_t *offset, const uint8_t bound[16],
                                       uint8_t out[16]);
PRIO_API int32_t prio_eval_point(const uint8_t key[16], uint64_t *offset, int32_t n_data, uint8_t r[16]);
PRIO_API int32_t prio_expand_seed(const uint8_t seed[16], const uint8_t *batch_id, uint32_t batch_id_len,
                                  int32_t prg_mode, int32_t n_data, uint8_t *data_shares, uint8_t *h_shares);
PRIO_API int32_t prio_root_of_unity(uint64_t m, uint8_t out[16]);

/* client (spec §6, §7) */
PRIO_API int32_t prio_encode(int32_t n_data, const uint8_t *batch_id, uint32_t batch_id_len, int32_t prg_mode,
                             const uint8_t pub_a[32], const uint8_t pub_b[32], const uint8_t *values,
                             int32_t allow_non_binary, uint8_t *out_a, uint64_t *len_a,
                             uint8_t *out_b, uint64_t *len_b);

/* client packet plaintexts (spec §7.3): parse, and write back canonically */
PRIO_API int32_t prio_client_packet_canonical(int32_t n_data, const uint8_t *batch_id, uint32_t batch_id_len,
                                              int32_t server_idx, const uint8_t *in, uint64_t len,
                                              uint8_t *out, uint64_t *out_len);

/* libprio object model (spec §9): one packet at a time, r drawn from the server's PRG stream */
PRIO_API int32_t prio_verifier_set_data(int32_t n_data, const uint8_t *batch_id, uint32_t batch_id_len,
                                        int32_t prg_mode, int32_t server_idx, const uint8_t *keys,
                                        uint32_t key_count,
                                        const uint8_t prg_key[16], uint64_t *prg_offset,
                                        const uint8_t *r_override, const uint8_t *blob, uint64_t len,
                                        uint8_t record[PRIO_RECORD_BYTES], uint8_t *data_shares);
PRIO_API int32_t prio_verify1_write(const uint8_t record[PRIO_RECORD_BYTES], uint8_t *out, uint32_t *out_len);
PRIO_API int32_t prio_verify2_write(const uint8_t record[PRIO_RECORD_BYTES], const uint8_t *v1_a, uint64_t len_a,
                                    const uint8_t *v1_b, uint64_t len_b, uint8_t *out, uint32_t *out_len);
PRIO_API int32_t prio_is_valid(const uint8_t *v2_a, uint64_t len_a, const uint8_t *v2_b, uint64_t len_b,
                               int32_t *valid);
PRIO_API int32_t prio_vector_add(uint8_t *acc, const uint8_t *shares, int32_t n);
PRIO_API int32_t prio_state_write(const uint8_t *acc, int32_t n_data, uint8_t *out, uint64_t *out_len);
PRIO_API int32_t prio_state_read(int32_t n_data, const uint8_t *in, uint64_t len, uint8_t *acc);
PRIO_API int32_t prio_total_share_write(int32_t server_idx, const uint8_t *acc, int32_t n_data,
                                        uint8_t *out, uint64_t *out_len);
PRIO_API int32_t prio_total_share_write_uint(int32_t server_idx, const uint8_t *acc, int32_t n_data,
                                             int32_t precision, uint8_t *out, uint64_t *out_len);
PRIO_API int32_t prio_total_share_read(int32_t n_data, const uint8_t *in, uint64_t len,
                                       int32_t *server_idx, uint8_t *acc);
PRIO_API int32_t prio_final(int32_t n_data, const uint8_t *t_a, uint64_t len_a, const uint8_t *t_b,
                            uint64_t len_b, uint64_t *out);

/* stand-alone readers of the verify packets (spec §10.1-10.2): the field elements as 16-byte LE, or
 * the reason the bytes are not such a packet; the writers give the canonical bytes back */
PRIO_API int32_t prio_verify1_read(const uint8_t *in, uint64_t len, uint8_t out[32]);
PRIO_API int32_t prio_verify2_read(const uint8_t *in, uint64_t len, uint8_t out[16]);
PRIO_API int32_t prio_verify1_encode(const uint8_t values[32], uint8_t *out, uint32_t *out_len);
PRIO_API int32_t prio_verify2_encode(const uint8_t value[16], uint8_t *out, uint32_t *out_len);

/* batch API: one fixed r per partition, O(N) per report. A report is tried first with the key that
 * opened the one before it (then the others, most recently used first), so a partition under any one key
 * of the ring costs one X25519 per report.
 * key_index (NULL: not wanted): per report the key that opened it, or PRIO_NO_KEY. */
PRIO_API int32_t prio_load_partition(int32_t n_data, const uint8_t *batch_id, uint32_t batch_id_len,
                                     int32_t prg_mode, int32_t server_idx, const uint8_t *keys,
                                     uint32_t key_count, const uint8_t *packets, const uint64_t *offsets,
                                     uint64_t count, const uint8_t r[16], int32_t *status,
                                     uint8_t *verify1, uint32_t *verify1_len, uint8_t *records,
                                     uint8_t *loaded_sum, uint64_t *loaded_sum_len, int32_t *key_index);
PRIO_API int32_t prio_verify2_partition(const uint8_t *records, uint64_t count, const uint8_t *peer,
                                        const uint64_t *peer_offsets, const uint8_t *peer_present,
                                        int32_t *status, uint8_t *verify2, uint32_t *verify2_len);
PRIO_API int32_t prio_valid_mask(const uint8_t *own, const uint64_t *own_offsets, const uint8_t *peer,
                                 const uint64_t *peer_offsets, uint64_t count, uint8_t *mask);
PRIO_API int32_t prio_aggregate_partition(int32_t n_data, const uint8_t *batch_id, uint32_t batch_id_len,
                                          int32_t prg_mode, int32_t server_idx, const uint8_t *keys,
                                          uint32_t key_count, const uint8_t *packets, const uint64_t *offsets, uint64_t count,
                                          const uint8_t *mask, int32_t *status, uint8_t *state,
                                          uint64_t *state_len);
PRIO_API int32_t prio_sum_states(int32_t n_data, const uint8_t *states, const uint64_t *offsets,
                                 uint64_t count, uint8_t *out, uint64_t *out_len, uint64_t *bad_index);
/* a - b, element-wise in the field: a state without some of the reports it sums */
PRIO_API int32_t prio_state_difference(int32_t n_data, const uint8_t *a, uint64_t a_len,
                                       const uint8_t *b, uint64_t b_len, uint8_t *out,
                                       uint64_t *out_len);

#ifdef PRIO_TEST_HOOKS
/* test hooks, only in the test builds (csrc/Makefile): field arithmetic on 16-byte LE operands */
PRIO_API int32_t prio_test_field(int32_t op, const uint8_t a[16], const uint8_t b[16], uint8_t out[16]);
#endif

#endif
