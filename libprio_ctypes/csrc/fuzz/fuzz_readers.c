/* libFuzzer harnesses, one per reader, selected at build time with -DFUZZ_<TARGET>.
 * Every reader must give a value or a status on any input, with no UB; readers that accept
 * an input must re-serialize canonically and read their own output back to the same value
 * (client packets; the stand-alone verify1, verify2 and total-share readers). */
#include <stdlib.h>
#include <string.h>

#include "prio.h"

static const uint8_t BATCH[] = "fuzz";
/* X25519 private key of the corpus' "decrypt" seeds (the prio-processor fixture key A) */
static const uint8_t PRIV[32] = {0xbd, 0x6b, 0xb9, 0xbe, 0xb0, 0x89, 0xdb, 0xa6, 0xb6, 0xa7, 0x5b, 0x44, 0x55, 0xa6, 0x15, 0xd5,
                                 0x77, 0x69, 0x9f, 0x97, 0x3f, 0xad, 0x9e, 0x32, 0x7a, 0x33, 0xd9, 0x52, 0x8b, 0x5c, 0x7f, 0x64};

static void check_packet(const uint8_t *data, size_t size, int32_t idx) {
    if (size < 1) return;
    int32_t n = data[0] % 40;
    size_t cap = size + 64 + 12 * (size_t)(n + 64);
    uint8_t *out = malloc(cap), *again = malloc(cap);
    uint64_t len = 0, len2 = 0;
    if (prio_client_packet_canonical(n, BATCH, 4, idx, data + 1, size - 1, out, &len) == PRIO_OK) {
        if (prio_client_packet_canonical(n, BATCH, 4, idx, out, len, again, &len2) != PRIO_OK || len2 != len ||
            memcmp(out, again, len))
            abort();
    }
    free(out);
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
#if defined(FUZZ_CLIENT_PACKET_A)
    check_packet(data, size, 0);
#elif defined(FUZZ_CLIENT_PACKET_B)
    check_packet(data, size, 1);
#elif defined(FUZZ_VERIFY1)
    uint8_t record[PRIO_RECORD_BYTES] = {0}, out[PRIO_VERIFY2_MAX];
    uint32_t len = 0;
    static const uint8_t ok[] = {0xa1, 0x00, 0xa1, 0x00};
    prio_verify2_write(record, data, size, ok, sizeof ok, out, &len);
    prio_verify2_write(record, ok, sizeof ok, data, size, out, &len);
    uint8_t de[32], de2[32], canon[PRIO_VERIFY1_MAX];
    if (prio_verify1_read(data, size, de) == PRIO_OK) {
        if (prio_verify1_encode(de, canon, &len) || prio_verify1_read(canon, len, de2) || memcmp(de, de2, 32))
            abort();
    }
#elif defined(FUZZ_VERIFY2)
    int32_t valid;
    static const uint8_t zero[] = {0xa1, 0x00};
    prio_is_valid(data, size, zero, sizeof zero, &valid);
    uint64_t offs[2] = {0, size}, zoffs[2] = {0, sizeof zero};
    uint8_t mask;
    prio_valid_mask(data, offs, zero, zoffs, 1, &mask);
    uint8_t v[16], v2[16], canon[PRIO_VERIFY2_MAX];
    uint32_t len;
    if (prio_verify2_read(data, size, v) == PRIO_OK) {
        if (prio_verify2_encode(v, canon, &len) || prio_verify2_read(canon, len, v2) || memcmp(v, v2, 16)) abort();
    }
#elif defined(FUZZ_TOTAL_SHARE)
    if (size < 1) return 0;
    int32_t n = data[0] % 40, idx;
    uint8_t *acc = malloc(16 * (size_t)n + 1), *acc2 = malloc(16 * (size_t)n + 1);
    uint8_t *canon = malloc(prio_state_max_size(n));
    uint64_t out[40], len;
    int32_t idx2;
    if (prio_total_share_read(n, data + 1, size - 1, &idx, acc) == PRIO_OK) {
        if (prio_total_share_write(idx, acc, n, canon, &len) || prio_total_share_read(n, canon, len, &idx2, acc2) ||
            idx2 != idx || memcmp(acc, acc2, 16 * (size_t)n))
            abort();
    }
    prio_final(n, data + 1, size - 1, data + 1, size - 1, out);
    free(acc);
    free(acc2);
    free(canon);
#elif defined(FUZZ_SERVER_STATE)
    if (size < 1) return 0;
    int32_t n = data[0] % 40;
    uint8_t *acc = malloc(16 * (size_t)n + 1), *out = malloc(prio_state_max_size(n));
    uint64_t offs[3] = {1, 1 + (size - 1) / 2, size}, len, bad;
    if (prio_state_read(n, data + 1, size - 1, acc) == PRIO_OK) {
        if (prio_state_write(acc, n, out, &len) != PRIO_OK) abort();
    }
    prio_sum_states(n, data, offs, 2, out, &len, &bad);
    prio_state_difference(n, data + offs[0], offs[1] - offs[0], data + offs[1], offs[2] - offs[1], out, &len);
    free(acc);
    free(out);
#elif defined(FUZZ_DECRYPT)
    if (size < 1) return 0;
    int32_t n = data[0] % 40, status;
    uint8_t *out = malloc(size + 1), record[PRIO_RECORD_BYTES], v1[PRIO_VERIFY1_MAX];
    uint64_t len, offs[2] = {0, size - 1};
    uint32_t v1len;
    static const uint8_t r[16] = {7};
    prio_decrypt(PRIV, data, size, out, &len);
    uint8_t *sum = malloc(prio_state_max_size(n));
    uint64_t sum_len;
    /* a ring of two, the fixture key first or second: the seeds still open, under key 0 or 1 */
    uint8_t ring[64] = {0};
    int32_t opened;
    memcpy(ring + ((data[0] >> 2) & 1) * 32, PRIV, 32);
    ring[((data[0] >> 2) & 1) ? 0 : 32] = 9;
    prio_load_partition(n, BATCH, 4, data[0] & 1, (data[0] >> 1) & 1, ring, 2, data + 1, offs, 1, r, &status, v1,
                        &v1len, record, sum, &sum_len, &opened);
    if (status != PRIO_DECRYPT_FAILED && opened != ((data[0] >> 2) & 1)) abort();
    free(sum);
    free(out);
#else
#error "define one FUZZ_<TARGET>"
#endif
    return 0;
}
