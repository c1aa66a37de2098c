/* hist.h - a latency histogram of fixed size and no allocation: log-linear
 * buckets, 64 per power of two (1.6% relative precision), from 1 ns up to
 * 2^41 ns (about 36 minutes; larger values land in the last bucket).
 *
 * Fixed size so that a worker can fill one in shared memory and the parent
 * can merge several by adding their buckets. Not thread-safe: one writer. */
#ifndef CLOUD_LOAD_HIST_H
#define CLOUD_LOAD_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 6
#define HIST_SUB (1 << HIST_SUB_BITS)
#define HIST_OCTAVES 36
#define HIST_BUCKETS (HIST_SUB * HIST_OCTAVES)

struct hist {
    uint64_t count;
    uint64_t max;
    uint64_t bucket[HIST_BUCKETS];
};

/* Records one value (nanoseconds, by this program's convention). */
void hist_add(struct hist *h, uint64_t v);

/* Adds every sample of from into into. */
void hist_merge(struct hist *into, const struct hist *from);

/* The value below which a fraction q (0..1) of the samples lie: the middle
 * of the bucket holding that rank, never above the largest sample seen.
 * Returns 0 for an empty histogram. */
uint64_t hist_quantile(const struct hist *h, double q);

#endif
