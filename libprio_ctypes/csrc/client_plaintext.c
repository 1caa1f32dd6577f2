/* The stand-alone reader of client packet plaintexts (spec §7.3): parse, and write back canonically. */
#include <stdlib.h>

#include "ntt.h"
#include "packet.h"
#include "prio.h"

int32_t prio_client_packet_canonical(int32_t n_data, const uint8_t *batch_id, uint32_t batch_id_len,
                                     int32_t server_idx, const uint8_t *in, uint64_t len, uint8_t *out,
                                     uint64_t *out_len) {
    if (n_data < 0 || n_data > PRIO_MAX_DATA_FIELDS || (server_idx != 0 && server_idx != 1))
        return PRIO_INVALID_ARGUMENT;
    size_t n = (size_t)n_data, n_h = ntt_h_points(n);
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
