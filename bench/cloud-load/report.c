/* report.c - the JSON line and its CPU and latency fields (report.h). */
#include "report.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void jl_append(struct jline *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void jl_append(struct jline *j, const char *fmt, ...)
{
    size_t room = sizeof(j->buf) - j->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(j->buf + j->len, room, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < room)
        j->len += (size_t)n;
    else
        j->buf[j->len] = '\0'; /* drop what did not fit */
}

static void jl_key(struct jline *j, const char *key)
{
    jl_append(j, "%s\"%s\":", j->len > 1 ? "," : "", key);
}

void jl_begin(struct jline *j)
{
    j->len = 0;
    jl_append(j, "{");
}

void jl_int(struct jline *j, const char *key, long long v)
{
    jl_key(j, key);
    jl_append(j, "%lld", v);
}

void jl_num(struct jline *j, const char *key, double v, int decimals)
{
    jl_key(j, key);
    if (isfinite(v))
        jl_append(j, "%.*f", decimals, v);
    else
        jl_append(j, "null");
}

void jl_str(struct jline *j, const char *key, const char *v)
{
    jl_key(j, key);
    char out[1024];
    size_t n = 0;
    out[n++] = '"';
    for (const unsigned char *p = (const unsigned char *)v; *p && n < sizeof(out) - 8; p++) {
        if (*p == '"' || *p == '\\') {
            out[n++] = '\\';
            out[n++] = (char)*p;
        } else if (*p < 0x20) {
            n += (size_t)snprintf(out + n, sizeof(out) - n, "\\u%04x", *p);
        } else {
            out[n++] = (char)*p;
        }
    }
    out[n++] = '"';
    out[n] = '\0';
    jl_append(j, "%s", out);
}

void jl_raw(struct jline *j, const char *key, const char *v)
{
    jl_key(j, key);
    jl_append(j, "%s", v);
}

const char *jl_end(struct jline *j)
{
    jl_append(j, "}");
    return j->buf;
}

static void cpu_fields(struct jline *j, const char *who, int64_t a_us, int64_t b_us,
                       double wall_s, double per, const char *unit)
{
    if (a_us < 0 || b_us < 0 || wall_s <= 0)
        return;
    double us = (double)(b_us - a_us);
    char key[64];
    snprintf(key, sizeof(key), "%s_cpu_pct", who);
    jl_num(j, key, 100.0 * us / 1e6 / wall_s, 0);
    if (per > 0) {
        snprintf(key, sizeof(key), "%s_cpu_us_per_%s", who, unit);
        jl_num(j, key, us / per, 2);
    }
}

void report_cpu(struct jline *j, const struct sample *a, const struct sample *b, double per,
                const char *unit)
{
    double wall_s = (double)(b->t_ns - a->t_ns) / 1e9;
    cpu_fields(j, "server", a->server_cpu_us, b->server_cpu_us, wall_s, per, unit);
    cpu_fields(j, "gen", a->gen_cpu_us, b->gen_cpu_us, wall_s, per, unit);
    if (a->host_busy_us >= 0 && b->host_busy_us >= 0 && a->server_cpu_us >= 0 &&
        b->server_cpu_us >= 0 && a->gen_cpu_us >= 0 && b->gen_cpu_us >= 0 && wall_s > 0) {
        double other = (double)((b->host_busy_us - a->host_busy_us) -
                                (b->server_cpu_us - a->server_cpu_us) -
                                (b->gen_cpu_us - a->gen_cpu_us));
        jl_num(j, "other_cpu_pct", other > 0 ? 100.0 * other / 1e6 / wall_s : 0, 0);
    }
}

void report_latency(struct jline *j, const char *prefix, const struct hist *h)
{
    static const struct {
        const char *name;
        double q;
    } qs[] = {{"p50", 0.50}, {"p95", 0.95}, {"p99", 0.99}};
    char key[80];
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        snprintf(key, sizeof(key), "%s_%s_ms", prefix, qs[i].name);
        jl_num(j, key, (double)hist_quantile(h, qs[i].q) / 1e6, 3);
    }
    snprintf(key, sizeof(key), "%s_max_ms", prefix);
    jl_num(j, key, (double)h->max / 1e6, 3);
}

void report_setup(const struct report *r, struct jline *j)
{
    const struct result *res = r->res;
    double setup_s = res->last_settle_ns > res->first_start_ns
                         ? (double)(res->last_settle_ns - res->first_start_ns) / 1e9
                         : NAN; /* nothing was set up */
    jl_int(j, "connected", (long long)res->connected);
    jl_int(j, "registered", (long long)res->registered);
    jl_int(j, "failed", (long long)res->failed);
    jl_num(j, "setup_s", setup_s, 2);
    jl_num(j, "registered_per_s", setup_s > 0 ? (double)res->registered / setup_s : NAN, 0);
    /* The rate over each half: a server whose cost per connection grows
     * with the connections it holds slows down in the second. */
    double half = (double)(res->registered + res->failed) / 2;
    double first_s = (double)(res->half_settle_ns - res->first_start_ns) / 1e9;
    double second_s = (double)(res->last_settle_ns - res->half_settle_ns) / 1e9;
    if (res->half_settle_ns && first_s > 0 && second_s > 0) {
        jl_num(j, "per_s_first_half", half / first_s, 0);
        jl_num(j, "per_s_second_half", half / second_s, 0);
    }
    report_latency(j, "connect", &res->setup);
    if (r->before.server_rss_kb >= 0 && r->ready.server_rss_kb >= 0) {
        jl_int(j, "server_rss_before_kb", r->before.server_rss_kb);
        jl_int(j, "server_rss_after_kb", r->ready.server_rss_kb);
        double per = res->registered
                         ? (double)(r->ready.server_rss_kb - r->before.server_rss_kb) * 1024.0 /
                               (double)res->registered
                         : NAN;
        jl_num(j, "server_bytes_per_conn", per, 0);
    }
}
