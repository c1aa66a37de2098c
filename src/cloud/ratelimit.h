/* ratelimit.h - a connection's message budget: a token bucket of `rate`
 * messages per second with bursts of twice that, and a count of the
 * messages dropped in the current one-second window, so that the caller
 * can report the first drop of a window and give up on a sender that keeps
 * going.
 *
 * Time comes in as arguments (monotonic ms), never read here. Plain data
 * in the caller's struct: nothing is allocated, nothing can fail. Not
 * thread-safe; one owner. */
#ifndef PORTHOLE_CLOUD_RATELIMIT_H
#define PORTHOLE_CLOUD_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit {
    unsigned rate;          /* messages per second; 0: no limit */
    double tokens;          /* refill at rate per second up to 2 * rate */
    int64_t refilled_ms;
    int64_t window_ms;      /* start of the current one-second window */
    unsigned dropped;       /* messages dropped in that window */
    bool reported;          /* RATELIMIT_DROP_FIRST was given in that window */
};

enum ratelimit_verdict {
    RATELIMIT_PASS,        /* within the budget (or no limit): take the message */
    RATELIMIT_DROP_FIRST,  /* over the budget, the first such in this window: drop, report */
    RATELIMIT_DROP,        /* over the budget, already reported in this window: drop */
    RATELIMIT_CLOSE,       /* more than `rate` drops in this window: give up on the sender */
};

/* Starts with a full bucket (a burst of 2 * rate) at now_ms. */
void ratelimit_init(struct ratelimit *rl, unsigned rate, int64_t now_ms);

/* Spends one message at now_ms and says what to do with it. On
 * RATELIMIT_CLOSE, rl->dropped - 1 messages were dropped in this window
 * before this one. */
enum ratelimit_verdict ratelimit_take(struct ratelimit *rl, int64_t now_ms);

#endif
