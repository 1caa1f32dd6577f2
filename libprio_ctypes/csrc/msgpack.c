/* Minimal msgpack reader/writer; every reader is total (any input gives a value or a status). */
#include "msgpack.h"

#include <string.h>

#include "prio.h"

static int take_be(mp_reader *r, size_t bytes, uint64_t *v) {
    if (r->len - r->pos < bytes) return PRIO_TRUNCATED;
    uint64_t x = 0;
    for (size_t i = 0; i < bytes; i++) x = (x << 8) | r->p[r->pos + i];
    r->pos += bytes;
    *v = x;
    return PRIO_OK;
}

int mp_read_str(mp_reader *r, const uint8_t **s, size_t *n, int wrong_type) {
    if (r->pos >= r->len) return PRIO_TRUNCATED;
    uint8_t t = r->p[r->pos];
    uint64_t len;
    int rc = PRIO_OK;
    if ((t & 0xe0) == 0xa0) {
        r->pos++;
        len = t & 0x1f;
    } else if (t >= 0xd9 && t <= 0xdb) {
        size_t start = r->pos++;
        rc = take_be(r, (size_t)1 << (t - 0xd9), &len);
        if (rc) {
            r->pos = start;
            return rc;
        }
    } else {
        return wrong_type;
    }
    if (r->len - r->pos < len) return PRIO_TRUNCATED;
    *s = r->p + r->pos;
    *n = (size_t)len;
    r->pos += (size_t)len;
    return PRIO_OK;
}

int mp_read_array(mp_reader *r, uint64_t *n) {
    if (r->pos >= r->len) return PRIO_TRUNCATED;
    uint8_t t = r->p[r->pos];
    if ((t & 0xf0) == 0x90) {
        r->pos++;
        *n = t & 0x0f;
        return PRIO_OK;
    }
    if (t != 0xdc && t != 0xdd) return PRIO_MALFORMED;
    r->pos++;
    return take_be(r, t == 0xdc ? 2 : 4, n);
}

int mp_read_int(mp_reader *r, int *negative, uint64_t *v) {
    if (r->pos >= r->len) return PRIO_TRUNCATED;
    uint8_t t = r->p[r->pos];
    *negative = 0;
    if (t <= 0x7f) {
        r->pos++;
        *v = t;
        return PRIO_OK;
    }
    if (t >= 0xe0) {
        r->pos++;
        *negative = 1;
        *v = (uint64_t)(int64_t)(int8_t)t;
        return PRIO_OK;
    }
    if (t >= 0xcc && t <= 0xcf) {
        r->pos++;
        return take_be(r, (size_t)1 << (t - 0xcc), v);
    }
    if (t >= 0xd0 && t <= 0xd3) {
        size_t bytes = (size_t)1 << (t - 0xd0);
        r->pos++;
        int rc = take_be(r, bytes, v);
        if (rc) return rc;
        *negative = (*v >> (8 * bytes - 1)) & 1;
        return PRIO_OK;
    }
    return PRIO_MALFORMED;
}

int mp_read_fe(mp_reader *r, fe *x) {
    const uint8_t *s;
    size_t n;
    int rc = mp_read_str(r, &s, &n, PRIO_BAD_FIELD_ELEMENT);
    if (rc) return rc;
    if (n == 0 || fe_from_be(s, n, x)) return PRIO_BAD_FIELD_ELEMENT;
    return PRIO_OK;
}

int mp_read_fe_array(mp_reader *r, fe *out, size_t n) {
    uint64_t count;
    int rc = mp_read_array(r, &count);
    if (rc) return rc;
    if (count != n) return PRIO_WRONG_LENGTH;
    for (size_t i = 0; i < n; i++) {
        rc = mp_read_fe(r, &out[i]);
        if (rc) return rc;
    }
    return PRIO_OK;
}

int mp_read_server_index(mp_reader *r, int *idx) {
    int negative;
    uint64_t v;
    int rc = mp_read_int(r, &negative, &v);
    if (rc) return rc;
    if (negative || v > 1) return PRIO_WRONG_SERVER_INDEX;
    *idx = (int)v;
    return PRIO_OK;
}

static void put_be(mp_writer *w, uint64_t v, size_t bytes) {
    for (size_t i = 0; i < bytes; i++) w->p[w->pos + i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    w->pos += bytes;
}

void mp_write_str(mp_writer *w, const uint8_t *s, size_t n) {
    if (n < 32) {
        w->p[w->pos++] = (uint8_t)(0xa0 | n);
    } else if (n < 256) {
        w->p[w->pos++] = 0xd9;
        put_be(w, n, 1);
    } else if (n < 65536) {
        w->p[w->pos++] = 0xda;
        put_be(w, n, 2);
    } else {
        w->p[w->pos++] = 0xdb;
        put_be(w, n, 4);
    }
    if (n) memcpy(w->p + w->pos, s, n);
    w->pos += n;
}

void mp_write_array_header(mp_writer *w, size_t n) {
    if (n < 16) {
        w->p[w->pos++] = (uint8_t)(0x90 | n);
    } else if (n < 65536) {
        w->p[w->pos++] = 0xdc;
        put_be(w, n, 2);
    } else {
        w->p[w->pos++] = 0xdd;
        put_be(w, n, 4);
    }
}

void mp_write_fe(mp_writer *w, fe x) {
    uint8_t be[FE_MAX_BE];
    size_t n = fe_to_be(x, be);
    w->p[w->pos++] = (uint8_t)(0xa0 | n);
    memcpy(w->p + w->pos, be, n);
    w->pos += n;
}

void mp_write_uint(mp_writer *w, uint8_t small) { w->p[w->pos++] = small; }
