/* Number-theoretic transforms over the 2^k-th roots of unity of GF(p) (spec §5). */
#ifndef PRIO_NTT_H
#define PRIO_NTT_H

#include "field.h"

/* N, the SNIP's number of h points (spec §6): the smallest power of two above n_data */
size_t ntt_h_points(size_t n_data);

/* In place: a[i] <- sum_j a[j] * w^(i*j), w the primitive n-th root (n a power of two).
 * inverse != 0 uses w^-1 and scales by 1/n. tw: scratch of n/2 elements. */
void ntt(fe *a, size_t n, int inverse, fe *tw);

/* Values at the odd powers of w_2n of the polynomial interpolating y over the n-th roots:
 * out[j] = P(w_2n^(2j+1)). y is overwritten. tw: scratch of n/2 elements. */
void ntt_odd_points(fe *y, size_t n, fe *tw);

#endif
