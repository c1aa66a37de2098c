/* clock.c - monotonic and wall-clock milliseconds, and ISO-8601 formatting. */
#include "common/clock.h"

#include <stdio.h>
#include <time.h>

/* Returns ms on clk. clock_gettime cannot fail for these clock ids on Linux,
 * so an error (which would mean a broken libc) reads as 0. */
static int64_t clock_read_ms(clockid_t clk)
{
    struct timespec ts;
    if (clock_gettime(clk, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_ms(void)
{
    return clock_read_ms(CLOCK_MONOTONIC);
}

int64_t clock_wall_ms(void)
{
    return clock_read_ms(CLOCK_REALTIME);
}

/* Floors towards minus infinity, so times before 1970 still get a
 * millisecond field in 0..999. Writes "" when outlen is too small for the
 * year (out is always NUL-terminated when outlen > 0). */
void clock_iso8601(int64_t wall_ms, char *out, size_t outlen)
{
    if (out == NULL || outlen == 0)
        return;
    int64_t secs = wall_ms / 1000;
    int64_t ms = wall_ms % 1000;
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL) {
        out[0] = '\0';
        return;
    }
    int n = snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, (int)ms);
    if (n < 0 || (size_t)n >= outlen)
        out[0] = '\0';
}
