/* load.c - the clock, window and error helpers shared by cloud-load's
 * parent and workers (load.h). */
#include "load.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

int64_t load_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t load_window_start(const struct board *b, const struct load_opts *o)
{
    return b->go_ns + (int64_t)(o->warmup_s * 1e9);
}

int64_t load_window_end(const struct board *b, const struct load_opts *o)
{
    return load_window_start(b, o) + (int64_t)(o->duration_s * 1e9);
}

void load_set_error(struct result *res, const char *fmt, ...)
{
    if (res->error[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->error, sizeof(res->error), fmt, ap);
    va_end(ap);
}
