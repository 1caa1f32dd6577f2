/* The msgpack subset of libprio's wire format: total readers, minimal-header writers (spec §3). */
#ifndef PRIO_MSGPACK_H
#define PRIO_MSGPACK_H

#include <stddef.h>
#include <stdint.h>

#include "field.h"

typedef struct {
    const uint8_t *p;
    size_t len, pos;
} mp_reader;

typedef struct {
    uint8_t *p;
    size_t pos;
} mp_writer;

/* Readers return a prio_status: OK, TRUNCATED, or `wrong_type` when the next object
 * is of another type. */
int mp_read_str(mp_reader *r, const uint8_t **s, size_t *n, int wrong_type);
int mp_read_array(mp_reader *r, uint64_t *n);
/* any msgpack integer; negative values set *negative */
int mp_read_int(mp_reader *r, int *negative, uint64_t *v);
/* a field element (§3.1, §3.4): str, non-empty, value < p */
int mp_read_fe(mp_reader *r, fe *x);
/* an array of exactly n field elements */
int mp_read_fe_array(mp_reader *r, fe *out, size_t n);
/* a server index: an integer equal to 0 or 1 (spec §14.12: no truncation to int) */
int mp_read_server_index(mp_reader *r, int *idx);

void mp_write_str(mp_writer *w, const uint8_t *s, size_t n);
void mp_write_array_header(mp_writer *w, size_t n);
void mp_write_fe(mp_writer *w, fe x);
void mp_write_uint(mp_writer *w, uint8_t small);

static inline size_t mp_str_header_size(size_t n) { return n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5; }
static inline size_t mp_array_header_size(size_t n) { return n < 16 ? 1 : n < 65536 ? 3 : 5; }

#endif
