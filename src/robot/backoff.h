/* backoff.h - reconnect delays: exponential backoff with full jitter.
 *
 * Attempt n (from 0) waits a uniformly random time in [0, min(max, initial * 2^n)]
 * ("full jitter", so that robots cut off together do not reconnect
 * together). The schedule never ends; backoff_reset() starts it over after
 * a connection succeeded. Pure: no clock, the random source is seeded. */
#ifndef PORTHOLE_ROBOT_BACKOFF_H
#define PORTHOLE_ROBOT_BACKOFF_H

#include <stdint.h>

struct backoff {
    double initial_s, max_s;
    unsigned attempt;
    uint64_t rng; /* xorshift64* state, never 0 */
};

/* initial_s > 0, max_s >= initial_s. seed 0 is replaced by a fixed constant. */
void backoff_init(struct backoff *b, double initial_s, double max_s, uint64_t seed);

/* The ceiling of the next delay: min(max, initial * 2^attempt). */
double backoff_ceiling(const struct backoff *b);

/* The next delay in seconds (in [0, ceiling]); advances the attempt. */
double backoff_next(struct backoff *b);

/* Starts the schedule over. */
void backoff_reset(struct backoff *b);

#endif
