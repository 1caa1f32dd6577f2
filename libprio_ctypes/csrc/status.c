/* The export naming each prio_status: the text the Python errors and the CLI show. */
#include "prio.h"

static const char *const MESSAGES[] = {
    "ok",
    "decryption failed",
    "batch id mismatch",
    "wrong server index",
    "bad field element",
    "wrong length",
    "truncated input",
    "malformed input",
    "value out of range",
    "invalid proof",
    "sum overflows 64 bits",
    "configuration mismatch",
    "invalid argument",
    "cryptographic library failure",
    "out of memory",
    "peer packet missing",
};

const char *prio_strerror(int32_t status) {
    if (status < 0 || (size_t)status >= sizeof MESSAGES / sizeof *MESSAGES) return "unknown status";
    return MESSAGES[status];
}
