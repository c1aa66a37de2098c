/* backoff.c - reconnect delays: exponential backoff with full jitter. */
#include "robot/backoff.h"

#include <math.h>

/* Any odd constant will do; this one is from SplitMix64. */
#define BACKOFF_DEFAULT_SEED 0x9E3779B97F4A7C15ULL

/* Past this many doublings every ceiling is the cap anyway; stopping the
 * count there keeps it from ever wrapping around to the initial delay. */
#define BACKOFF_ATTEMPT_LIMIT 1024u

void backoff_init(struct backoff *b, double initial_s, double max_s, uint64_t seed)
{
    b->initial_s = initial_s;
    b->max_s = max_s;
    b->attempt = 0;
    b->rng = seed != 0 ? seed : BACKOFF_DEFAULT_SEED;
}

double backoff_ceiling(const struct backoff *b)
{
    double c = ldexp(b->initial_s, (int)b->attempt); /* +inf past the double range */
    return c < b->max_s ? c : b->max_s;
}

/* xorshift64* (Vigna): 64 bits of state, never 0, good enough for jitter. */
static uint64_t backoff_rand(struct backoff *b)
{
    uint64_t x = b->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    b->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

double backoff_next(struct backoff *b)
{
    double ceiling = backoff_ceiling(b);
    /* The top 53 bits give a uniform double in [0, 1). */
    double u = (double)(backoff_rand(b) >> 11) * 0x1.0p-53;
    if (b->attempt < BACKOFF_ATTEMPT_LIMIT)
        b->attempt++;
    return u * ceiling;
}

void backoff_reset(struct backoff *b)
{
    b->attempt = 0;
}
