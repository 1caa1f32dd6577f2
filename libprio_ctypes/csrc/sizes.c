/* The size exports: h points, and the buffers a caller allocates for packets and states. */
#include "msgpack.h"
#include "ntt.h"
#include "packet.h"
#include "prio.h"

uint64_t prio_h_points(int32_t n_data) {
    return ntt_h_points((size_t)(n_data < 0 ? 0 : n_data));
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
