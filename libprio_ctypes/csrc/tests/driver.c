/* C test driver for sanitizer and valgrind runs.
 * With no argument: a self-test (encode/load/verify/aggregate round trips in both modes, then
 * every reader over deterministic mutations). With a case file: one case per line,
 *   <kind> <n_data> <server_idx> <mode> <batch_hex> <key_hex> <payload_hex>
 * and one output line per case: "<status> <output_hex>". Kind "ring" loads with key_hex a keyring
 * (several keys back to back) and outputs the index of the key that opened the packet (one byte)
 * before the verify1 packet. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prio.h"

#define R_FIXED "\x15\xcd\x5b\x07\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"

static uint8_t *unhex(const char *s, size_t *len) {
    size_t n = strlen(s) / 2;
    uint8_t *out = malloc(n + 1);
    for (size_t i = 0; i < n; i++) sscanf(s + 2 * i, "%2hhx", &out[i]);
    *len = n;
    return out;
}

static void print_hex(int32_t status, const uint8_t *b, size_t n) {
    printf("%d ", status);
    for (size_t i = 0; status == 0 && i < n; i++) printf("%02x", b[i]);
    printf("\n");
}

/* runs one reader over `in`; returns the status, output in out/out_len */
static int32_t run_case(const char *kind, int32_t n, int32_t idx, int32_t mode, const uint8_t *batch, size_t blen,
                        const uint8_t *key, size_t klen, const uint8_t *in, size_t len, uint8_t *out,
                        uint64_t *out_len) {
    uint64_t offs[2] = {0, len};
    *out_len = 0;
    if (!strcmp(kind, "decrypt")) return prio_decrypt(key, in, len, out, out_len);
    if (!strcmp(kind, "packet"))
        return prio_client_packet_canonical(n, batch, (uint32_t)blen, idx, in, len, out, out_len);
    if (!strcmp(kind, "load") || !strcmp(kind, "ring")) {
        int ring = kind[0] == 'r';
        int32_t status, opened = PRIO_NO_KEY;
        uint32_t v1len = 0;
        uint8_t record[PRIO_RECORD_BYTES];
        int32_t rc = prio_load_partition(n, batch, (uint32_t)blen, mode, idx, key, ring ? (uint32_t)(klen / 32) : 1,
                                         in, offs, 1, (const uint8_t *)R_FIXED, &status, out + ring, &v1len, record,
                                         NULL, NULL, &opened);
        out[0] = ring ? (uint8_t)opened : out[0];
        *out_len = v1len + (uint64_t)ring;
        return rc ? rc : status;
    }
    if (!strcmp(kind, "verify1")) {
        uint8_t record[PRIO_RECORD_BYTES] = {0};
        uint32_t l = 0;
        int32_t rc = prio_verify2_write(record, in, len, in, len, out, &l);
        *out_len = l;
        return rc;
    }
    if (!strcmp(kind, "verify2")) {
        int32_t valid = 0;
        int32_t rc = prio_is_valid(in, len, in, len, &valid);
        out[0] = (uint8_t)valid;
        *out_len = 1;
        return rc;
    }
    if (!strcmp(kind, "v1read") || !strcmp(kind, "v2read")) { /* canonical bytes of what was read */
        uint8_t v[32];
        uint32_t l = 0;
        int v1 = kind[1] == '1';
        int32_t rc = v1 ? prio_verify1_read(in, len, v) : prio_verify2_read(in, len, v);
        if (!rc) rc = v1 ? prio_verify1_encode(v, out, &l) : prio_verify2_encode(v, out, &l);
        *out_len = l;
        return rc;
    }
    if (!strcmp(kind, "total")) {
        int32_t sidx = 0;
        int32_t rc = prio_total_share_read(n, in, len, &sidx, out + 1);
        out[0] = (uint8_t)sidx;
        *out_len = 1 + 16 * (uint64_t)n;
        return rc;
    }
    if (!strcmp(kind, "state")) {
        uint64_t bad = 0;
        return prio_sum_states(n, in, offs, 1, out, out_len, &bad);
    }
    return PRIO_INVALID_ARGUMENT;
}

static uint64_t lcg = 88172645463325252ull;
static uint32_t next_rand(void) {
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(lcg >> 33);
}

/* The loaded sums of one report on both servers are shares of its values: they add up to them,
 * and the difference of their sum and B's is A's. Nonzero when not. */
static int check_loaded_sums(int32_t n, const uint8_t *values, const uint8_t *sum_a, uint64_t lsa,
                             const uint8_t *sum_b, uint64_t lsb) {
    uint64_t cap = prio_state_max_size(n), lt = 0, ld = 0, bad = 0;
    uint8_t *both = malloc(lsa + lsb + 1), *total = malloc(cap), *diff = malloc(cap);
    uint8_t *acc = malloc(16 * (size_t)n + 16);
    uint64_t offs[3] = {0, lsa, lsa + lsb};
    memcpy(both, sum_a, lsa);
    memcpy(both + lsa, sum_b, lsb);
    int rc = prio_sum_states(n, both, offs, 2, total, &lt, &bad) || prio_state_read(n, total, lt, acc) ||
             prio_state_difference(n, total, lt, sum_b, lsb, diff, &ld) || ld != lsa ||
             memcmp(diff, sum_a, lsa);
    for (int32_t i = 0; !rc && i < n; i++) {
        static const uint8_t zero[15] = {0};
        rc = acc[16 * i] != values[i] || memcmp(acc + 16 * i + 1, zero, 15);
    }
    free(both);
    free(total);
    free(diff);
    free(acc);
    return rc;
}

static int self_test(void) {
    static const char *kinds[] = {"decrypt", "packet", "load", "ring", "verify1", "verify2", "v1read", "v2read",
                                  "total", "state"};
    uint8_t priv_a[32], pub_a[32], priv_b[32], pub_b[32], ring[64];
    if (prio_keygen(priv_a, pub_a) || prio_keygen(priv_b, pub_b)) return 1;
    memcpy(ring, priv_a, 32); /* mutations go through a ring of two as well: A's key, then B's */
    memcpy(ring + 32, priv_b, 32);
    const int32_t sizes[] = {0, 1, 3, 7, 8, 21, 100};
    for (int m = 0; m < 2; m++) {
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            int32_t n = sizes[s];
            const uint8_t batch[] = "driver-batch";
            uint64_t cap_a = prio_packet_a_max_size(n, 12), cap_b = prio_packet_b_max_size(12);
            uint8_t *a = malloc(cap_a), *b = malloc(cap_b), *values = calloc((size_t)n + 1, 1);
            uint8_t *out = malloc(cap_a + 16 * (size_t)n + 64);
            uint64_t la = 0, lb = 0, ol;
            for (int32_t i = 0; i < n; i++) values[i] = (uint8_t)(next_rand() & 1);
            if (prio_encode(n, batch, 12, m, pub_a, pub_b, values, 0, a, &la, b, &lb)) return 1;
            uint8_t v1a[24], v1b[24], ra[PRIO_RECORD_BYTES], rb[PRIO_RECORD_BYTES], v2a[12], v2b[12];
            uint32_t l1a = 0, l1b = 0, l2a = 0, l2b = 0;
            int32_t sa = -1, sb = -1, valid = 0;
            uint64_t offa[2] = {0, la}, offb[2] = {0, lb};
            uint64_t cap_s = prio_state_max_size(n), lsa = 0, lsb = 0;
            uint8_t *sum_a = malloc(cap_s), *sum_b = malloc(cap_s);
            prio_load_partition(n, batch, 12, m, 0, priv_a, 1, a, offa, 1, (const uint8_t *)R_FIXED, &sa, v1a, &l1a,
                                ra, sum_a, &lsa, NULL);
            prio_load_partition(n, batch, 12, m, 1, priv_b, 1, b, offb, 1, (const uint8_t *)R_FIXED, &sb, v1b, &l1b,
                                rb, sum_b, &lsb, NULL);
            if (!sa && !sb && check_loaded_sums(n, values, sum_a, lsa, sum_b, lsb)) {
                fprintf(stderr, "loaded sums wrong: mode %d n_data %d\n", m, n);
                return 1;
            }
            free(sum_a);
            free(sum_b);
            if (sa || sb || prio_verify2_write(ra, v1a, l1a, v1b, l1b, v2a, &l2a) ||
                prio_verify2_write(rb, v1a, l1a, v1b, l1b, v2b, &l2b) || prio_is_valid(v2a, l2a, v2b, l2b, &valid) ||
                !valid) {
                fprintf(stderr, "round trip failed: mode %d n_data %d\n", m, n);
                return 1;
            }
            for (int t = 0; t < 300; t++) { /* mutations of the packet through every reader */
                uint64_t len = (next_rand() % 3 == 0) ? next_rand() % (la + 1) : la;
                uint8_t *mut = malloc(len + 1);
                memcpy(mut, a, len);
                for (int k = 0; len && k < 1 + (int)(next_rand() % 4); k++) mut[next_rand() % len] ^= (uint8_t)(1u << (next_rand() % 8));
                for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
                    run_case(kinds[k], n, (int32_t)(next_rand() & 1), m, batch, 12, ring, sizeof ring, mut, len, out,
                             &ol);
                free(mut);
            }
            free(a);
            free(b);
            free(values);
            free(out);
        }
    }
    printf("self-test ok\n");
    return 0;
}

/* A partition whose packets are under the keys of a ring of 3 (and one under none): loaded with the ring
 * in two orders, each report names the key that opened it, the verify1 packets and the loaded sum do
 * not depend on the order, and aggregate_partition opens the same reports. Nonzero when not. */
static int keyring_test(void) {
    enum { KEYS = 3, REPORTS = 9, N = 5 };
    static const int under[REPORTS] = {2, 2, 0, 1, 1, 2, 0, -1, 0}; /* -1: a key outside the ring */
    const uint8_t batch[] = "driver-batch";
    uint8_t privs[KEYS + 1][32], pubs[KEYS + 1][32], rings[2][32 * KEYS], values[N] = {1, 0, 1, 1, 0};
    uint8_t *blobs = malloc(REPORTS * prio_packet_a_max_size(N, 12)), b[512];
    uint64_t offs[REPORTS + 1] = {0}, lb, cap_s = prio_state_max_size(N), sum_len[2], agg_len = 0;
    uint8_t *sums[2] = {malloc(cap_s), malloc(cap_s)}, *agg = malloc(cap_s), mask[REPORTS];
    int rc = 0;
    for (int k = 0; k <= KEYS && !rc; k++) rc = prio_keygen(privs[k], pubs[k]);
    for (int k = 0; k < KEYS; k++) { /* ring 0: 0,1,2; ring 1: 2,0,1 */
        memcpy(rings[0] + 32 * k, privs[k], 32);
        memcpy(rings[1] + 32 * k, privs[(k + 2) % KEYS], 32);
    }
    for (int i = 0; i < REPORTS && !rc; i++) {
        uint64_t la = 0;
        rc = prio_encode(N, batch, 12, 0, pubs[under[i] < 0 ? KEYS : under[i]], pubs[0], values, 0, blobs + offs[i],
                         &la, b, &lb);
        offs[i + 1] = offs[i] + la;
    }
    int32_t status[2][REPORTS], opened[2][REPORTS], agg_status[REPORTS];
    uint8_t v1[2][REPORTS * PRIO_VERIFY1_MAX], records[REPORTS * PRIO_RECORD_BYTES];
    uint32_t v1len[2][REPORTS];
    for (int o = 0; o < 2 && !rc; o++)
        rc = prio_load_partition(N, batch, 12, 0, 0, rings[o], KEYS, blobs, offs, REPORTS, (const uint8_t *)R_FIXED,
                                 status[o], v1[o], v1len[o], records, sums[o], &sum_len[o], opened[o]);
    for (int i = 0; i < REPORTS && !rc; i++) {
        int want = under[i] < 0 ? PRIO_DECRYPT_FAILED : PRIO_OK;
        int key1 = under[i] < 0 ? PRIO_NO_KEY : (under[i] + 1) % KEYS; /* its place in ring 1 */
        rc = status[0][i] != want || status[1][i] != want || opened[0][i] != (under[i] < 0 ? PRIO_NO_KEY : under[i]) ||
             opened[1][i] != key1 || v1len[0][i] != v1len[1][i] ||
             memcmp(v1[0] + PRIO_VERIFY1_MAX * i, v1[1] + PRIO_VERIFY1_MAX * i, v1len[0][i]);
        mask[i] = under[i] >= 0;
    }
    rc = rc || sum_len[0] != sum_len[1] || memcmp(sums[0], sums[1], sum_len[0]) ||
         prio_aggregate_partition(N, batch, 12, 0, 0, rings[1], KEYS, blobs, offs, REPORTS, mask, agg_status, agg,
                                  &agg_len) ||
         agg_len != sum_len[0] || memcmp(agg, sums[0], agg_len) ||
         prio_load_partition(N, batch, 12, 0, 0, rings[0], 0, blobs, offs, REPORTS, (const uint8_t *)R_FIXED,
                             status[0], v1[0], v1len[0], records, NULL, NULL, NULL) != PRIO_INVALID_ARGUMENT ||
         prio_load_partition(N, batch, 12, 0, 0, rings[0], PRIO_MAX_KEYS + 1, blobs, offs, REPORTS,
                             (const uint8_t *)R_FIXED, status[0], v1[0], v1len[0], records, NULL, NULL,
                             NULL) != PRIO_INVALID_ARGUMENT;
    for (int i = 0; i < REPORTS && !rc; i++) rc = agg_status[i] != PRIO_OK;
    free(blobs);
    free(sums[0]);
    free(sums[1]);
    free(agg);
    if (rc) fprintf(stderr, "keyring load failed\n");
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) return keyring_test() || self_test();
    FILE *f = fopen(argv[1], "r");
    if (!f) return 2;
    static char line[1 << 22];
    char kind[32], bhex[1024], khex[64 * PRIO_MAX_KEYS + 1], *phex = malloc(sizeof line);
    int32_t n, idx, mode;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%31s %d %d %d %1023s %1024s %s", kind, &n, &idx, &mode, bhex, khex, phex) != 7) continue;
        size_t blen, klen, plen;
        uint8_t *batch = unhex(bhex[0] == '-' ? "" : bhex, &blen), *key = unhex(khex, &klen);
        uint8_t *in = unhex(phex[0] == '-' ? "" : phex, &plen);
        size_t cap = plen + 16 * (size_t)(n < 0 ? 0 : n) + 64;
        uint8_t *out = malloc(cap);
        uint64_t ol = 0;
        int32_t status = run_case(kind, n, idx, mode, batch, blen, key, klen, in, plen, out, &ol);
        print_hex(status, out, (size_t)ol);
        free(batch);
        free(key);
        free(in);
        free(out);
    }
    free(phex);
    fclose(f);
    return 0;
}
