/* testrng.h - a small deterministic random generator (xorshift64*) for the
 * tests that generate documents and mutate messages: the same sequence on
 * every run, so a failure can be replayed. Header only: unit tests link no
 * support library. */
#ifndef PORTHOLE_TESTS_TESTRNG_H
#define PORTHOLE_TESTS_TESTRNG_H

#include <stddef.h>
#include <stdint.h>

/* The next number of the sequence in *state (which must not be 0). */
static inline uint64_t testrng_next(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545f4914f6cdd1dULL;
}

/* A number in [0, n); 0 when n is 0. */
static inline size_t testrng_below(uint64_t *state, size_t n)
{
    return n ? (size_t)(testrng_next(state) % n) : 0;
}

#endif
