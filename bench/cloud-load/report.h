/* report.h - the one JSON line cloud-load prints, and the samples of the
 * server and of the workers that the parent takes for it. */
#ifndef CLOUD_LOAD_REPORT_H
#define CLOUD_LOAD_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "load.h"

/* A JSON object built field by field in a fixed buffer; fields that do not
 * fit are dropped (the buffer is far larger than any line here). */
struct jline {
    char buf[8192];
    size_t len;
};

void jl_begin(struct jline *j);
void jl_int(struct jline *j, const char *key, long long v);
/* A number with the given decimals; NaN and infinities become null. */
void jl_num(struct jline *j, const char *key, double v, int decimals);
void jl_str(struct jline *j, const char *key, const char *v);
/* v is JSON already (an array, say). */
void jl_raw(struct jline *j, const char *key, const char *v);
/* Closes the object; returns the NUL-terminated line, without newline. */
const char *jl_end(struct jline *j);

/* One look at the server and the workers. -1 where unreadable. */
struct sample {
    int64_t t_ns;
    long server_rss_kb;
    int64_t server_cpu_us;
    int64_t gen_cpu_us;       /* summed over the workers */
    int64_t host_busy_us;     /* the whole machine */
};

struct report {
    const struct load_opts *o;
    const struct board *b;
    const struct result *res; /* merged over the workers */
    /* before: ahead of fork; ready: all set up; w0, w1: the measured
     * window (for idle and fanout, go and the end); end: all done. */
    struct sample before, ready, w0, w1, end;
};

/* server_cpu_pct, gen_cpu_pct and other_cpu_pct (the rest of the machine)
 * in percent of one core between samples a and b, and, when per > 0,
 * server_cpu_us_per_<unit> and gen_cpu_us_per_<unit>. Fields whose samples
 * were unreadable are left out. */
void report_cpu(struct jline *j, const struct sample *a, const struct sample *b, double per,
                const char *unit);

/* p50, p95, p99 and max of h, in milliseconds, named <prefix>_p50_ms ... */
void report_latency(struct jline *j, const char *prefix, const struct hist *h);

/* The setup's figures (connected, registered, failed, setup_s and its
 * rates, connect latency) and the server's RSS before and at ready, with
 * server_bytes_per_conn. */
void report_setup(const struct report *r, struct jline *j);

#endif
