/* ratelimit.c - a connection's message budget: token bucket and drop window (ratelimit.h). */
#include "cloud/ratelimit.h"

void ratelimit_init(struct ratelimit *rl, unsigned rate, int64_t now_ms)
{
    *rl = (struct ratelimit){
        .rate = rate,
        .tokens = 2.0 * rate,
        .refilled_ms = now_ms,
        .window_ms = now_ms,
    };
}

enum ratelimit_verdict ratelimit_take(struct ratelimit *rl, int64_t now_ms)
{
    unsigned rate = rl->rate;
    if (rate == 0)
        return RATELIMIT_PASS;
    double cap = 2.0 * rate;
    rl->tokens += (double)(now_ms - rl->refilled_ms) * rate / 1000.0;
    if (rl->tokens > cap)
        rl->tokens = cap;
    rl->refilled_ms = now_ms;
    if (now_ms - rl->window_ms >= 1000) {
        rl->window_ms = now_ms;
        rl->dropped = 0;
        rl->reported = false;
    }
    if (rl->tokens >= 1.0) {
        rl->tokens -= 1.0;
        return RATELIMIT_PASS;
    }
    if (++rl->dropped > rate)
        return RATELIMIT_CLOSE;
    if (rl->reported)
        return RATELIMIT_DROP;
    rl->reported = true;
    return RATELIMIT_DROP_FIRST;
}
