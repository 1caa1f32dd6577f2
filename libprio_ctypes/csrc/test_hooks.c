/* Test-only exports (field arithmetic), compiled in by -DPRIO_TEST_HOOKS: never in the shipped library. */
#include "prio.h"

#ifdef PRIO_TEST_HOOKS
#include "field.h"

enum { TEST_ADD = 0, TEST_SUB = 1, TEST_MUL = 2, TEST_INV = 3, TEST_DOT = 4 };

int32_t prio_test_field(int32_t op, const uint8_t a[16], const uint8_t b[16], uint8_t out[16]) {
    fe x = fe_from_le16(a), y = fe_from_le16(b), r;
    if (x >= FE_P || y >= FE_P) return PRIO_INVALID_ARGUMENT;
    fe_acc acc;
    switch (op) {
    case TEST_ADD: r = fe_add(x, y); break;
    case TEST_SUB: r = fe_sub(x, y); break;
    case TEST_MUL: r = fe_mul(x, y); break;
    case TEST_INV: r = fe_inv(x); break;
    case TEST_DOT: /* 2^20 copies of x*y through the lazy accumulator */
        fe_acc_init(&acc);
        for (int i = 0; i < (1 << 20); i++) fe_acc_mac(&acc, x, y);
        r = fe_acc_value(&acc);
        break;
    default: return PRIO_INVALID_ARGUMENT;
    }
    fe_to_le16(r, out);
    return PRIO_OK;
}
#endif
