/* Codecs of every libprio packet: client packets A/B (§7), verify1/verify2 (§10.1-2),
 * total share (§10.3), server state (§10.4), with the acceptance rules of §3.4 and §7.3. */
#ifndef PRIO_PACKET_H
#define PRIO_PACKET_H

#include "field.h"
#include "msgpack.h"

typedef struct {
    fe a, b, c, f0, g0, h0;
    fe *data;        /* n_data: server A's shares (packet A) */
    fe *h;           /* N h-point shares (packet A) */
    uint8_t seed[16]; /* packet B */
} client_packet;

/* `data` and `h` must point to n_data and N elements for server A */
int packet_client_read(const uint8_t *in, size_t len, size_t n_data, const uint8_t *batch_id,
                       size_t batch_id_len, int server_idx, client_packet *out);
size_t packet_client_max_size(size_t n_data, size_t batch_id_len, int server_idx);
size_t packet_client_write(uint8_t *out, size_t n_data, const uint8_t *batch_id, size_t batch_id_len,
                           int server_idx, const client_packet *pk);

int packet_fe_list_read(const uint8_t *in, size_t len, fe *out, size_t n); /* n bare elements */
int packet_state_read(const uint8_t *in, size_t len, fe *out, size_t n_data);
size_t packet_state_write(uint8_t *out, const fe *acc, size_t n_data);
int packet_total_share_read(const uint8_t *in, size_t len, fe *out, size_t n_data, int *server_idx);
size_t packet_total_share_write(uint8_t *out, int server_idx, const fe *acc, size_t n_data);

#endif
