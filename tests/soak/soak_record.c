/* soak_record.c - the soak's samples, counts, growth and log checks, summary and verdict. */
#include "soak_record.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RSS_MARGIN_KB (48 * 1024)
#define RSS_MARGIN_PCT 15
#define THREAD_MARGIN 4
#define FD_MARGIN 8
#define STALLED_MAX_PCT 5

void soak_record_fail(struct soak_record *r, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "soak: FAIL: %s\n", line);
    size_t used = strlen(r->failures);
    snprintf(r->failures + used, sizeof r->failures - used, "  - %s\n", line);
}

long soak_proc_status(pid_t pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    size_t klen = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, klen) == 0)
            v = strtol(line + klen, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

long soak_proc_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    long n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

void soak_record_sample(struct soak_record *r, pid_t pid, int t_s, int viewers, int sessions)
{
    if (r->nsamples == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 256;
        r->samples = realloc(r->samples, r->cap * sizeof *r->samples);
        if (!r->samples) {
            fprintf(stderr, "soak: out of memory\n");
            exit(2);
        }
    }
    struct soak_sample x = {
        .t_s = t_s,
        .rss_kb = soak_proc_status(pid, "VmRSS:"),
        .threads = soak_proc_status(pid, "Threads:"),
        .fds = soak_proc_fds(pid),
        .viewers = viewers,
        .sessions = sessions,
    };
    r->samples[r->nsamples++] = x;
    fprintf(stderr, "soak: %4ds  RSS %6.1f MB  threads %3ld  fds %3ld  viewers %d  robot "
            "sessions %d  opened %u  kills %u\n", x.t_s, (double)x.rss_kb / 1024.0, x.threads,
            x.fds, x.viewers, x.sessions, r->n.opened, r->n.cloud_kills);
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* Median RSS of samples [from, to), which is not empty. */
static long median_rss(const struct soak_record *r, size_t from, size_t to)
{
    size_t n = to - from;
    long *v = malloc(n * sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < n; i++)
        v[i] = r->samples[from + i].rss_kb;
    qsort(v, n, sizeof *v, cmp_long);
    long m = v[n / 2];
    free(v);
    return m;
}

static void check_rss_trend(struct soak_record *r, double minutes)
{
    int warm_s = (int)(minutes * 60 / 5);
    if (warm_s < 60)
        warm_s = 60;
    size_t from = 0;
    while (from < r->nsamples && r->samples[from].t_s < warm_s)
        from++;
    size_t n = r->nsamples - from, third = n / 3;
    if (third < 3) {
        fprintf(stderr, "soak: RSS trend: too few samples after the warm-up (%zu) to judge\n", n);
        return;
    }
    long first = median_rss(r, from, from + third);
    long last = median_rss(r, r->nsamples - third, r->nsamples);
    long margin = first * RSS_MARGIN_PCT / 100;
    if (margin < RSS_MARGIN_KB)
        margin = RSS_MARGIN_KB;
    fprintf(stderr, "soak: RSS trend: median %.1f MB (first third after %d s of warm-up) -> "
            "%.1f MB (last third); limit %.1f MB\n", (double)first / 1024, warm_s,
            (double)last / 1024, (double)(first + margin) / 1024);
    if (last > first + margin)
        soak_record_fail(r, "RSS grew: median %.1f MB -> %.1f MB (limit +%.1f MB)",
                         (double)first / 1024, (double)last / 1024, (double)margin / 1024);
}

void soak_record_check_growth(struct soak_record *r, const struct soak_outcome *o, int drain_s)
{
    check_rss_trend(r, o->minutes);
    if (o->robot_crashed)
        return; /* no idle floor to compare: the crash is the failure */
    if (!o->end.ok)
        soak_record_fail(r, "the robot still lists sessions %d s after the last viewer left",
                         drain_s);
    if (o->base.threads > 0 && o->end.threads > o->base.threads + THREAD_MARGIN)
        soak_record_fail(r, "idle threads grew: %ld -> %ld (limit +%d)", o->base.threads,
                         o->end.threads, THREAD_MARGIN);
    if (o->base.fds > 0 && o->end.fds > o->base.fds + FD_MARGIN)
        soak_record_fail(r, "idle open files grew: %ld -> %ld (limit +%d)", o->base.fds,
                         o->end.fds, FD_MARGIN);
}

/* Lines of path that contain needle. */
static unsigned count_in_file(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[4096];
    unsigned n = 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

/* What a log may not contain, and what is only reported. */
static const struct {
    const char *needle, *what;
    bool fatal;
} log_checks[] = {
    {.needle = "ERROR: AddressSanitizer", .what = "AddressSanitizer reports", .fatal = true},
    {.needle = "ERROR: LeakSanitizer", .what = "LeakSanitizer reports", .fatal = true},
    {.needle = "runtime error:", .what = "UBSan reports", .fatal = true},
    {.needle = ":ERROR:", .what = "GLib errors/assertions", .fatal = true},
    {.needle = "invalid_closure_notify", .what = "invalid_closure_notify", .fatal = true},
    {.needle = "-CRITICAL **", .what = "GLib criticals", .fatal = true},
    {.needle = "-WARNING **", .what = "GLib warnings", .fatal = false},
};

void soak_record_check_log(struct soak_record *r, const char *name, const char *path)
{
    char line[512] = "";
    size_t pos = 0;
    for (size_t i = 0; i < sizeof log_checks / sizeof log_checks[0] && pos < sizeof line; i++) {
        unsigned n = count_in_file(path, log_checks[i].needle);
        pos += (size_t)snprintf(line + pos, sizeof line - pos, "%s%s %u", i ? ", " : "",
                                log_checks[i].what, n);
        if (n && log_checks[i].fatal)
            soak_record_fail(r, "%s log: %u line(s) with '%s' (%s)", name, n,
                             log_checks[i].needle, path);
    }
    fprintf(stderr, "soak: %s log: %s\n", name, line);
}

void soak_record_check_sessions(struct soak_record *r)
{
    if (r->n.opened >= 20 && r->n.stalled * 100 > r->n.opened * STALLED_MAX_PCT)
        soak_record_fail(r, "%u of %u sessions never decoded a frame (limit %d %%)",
                         r->n.stalled, r->n.opened, STALLED_MAX_PCT);
}

static void print_samples(const struct soak_record *r)
{
    fprintf(stderr, "\n  time   RSS MB  threads  fds  viewers  robot sessions\n");
    size_t step = r->nsamples > 36 ? (r->nsamples + 35) / 36 : 1;
    long rmin = -1, rmax = -1, tmin = -1, tmax = -1;
    for (size_t i = 0; i < r->nsamples; i++) {
        const struct soak_sample *x = &r->samples[i];
        if (rmin < 0 || x->rss_kb < rmin)
            rmin = x->rss_kb;
        if (x->rss_kb > rmax)
            rmax = x->rss_kb;
        if (tmin < 0 || x->threads < tmin)
            tmin = x->threads;
        if (x->threads > tmax)
            tmax = x->threads;
        if (i % step == 0 || i + 1 == r->nsamples)
            fprintf(stderr, "  %2d:%02d  %6.1f  %7ld  %3ld  %7d  %14d\n", x->t_s / 60,
                    x->t_s % 60, (double)x->rss_kb / 1024, x->threads, x->fds, x->viewers,
                    x->sessions);
    }
    fprintf(stderr, "  (%zu samples every %d s; RSS %.1f..%.1f MB, threads %ld..%ld)\n\n",
            r->nsamples, SOAK_SAMPLE_S, (double)rmin / 1024, (double)rmax / 1024, tmin, tmax);
}

void soak_record_print(const struct soak_record *r, const struct soak_outcome *o)
{
    const struct soak_counts *t = &r->n;
    print_samples(r);
    fprintf(stderr,
            "soak summary (seed %llu, %.1f min, robot %s)\n"
            "  sessions: opened %u (REST %u), closed %u, decoded video %u, never decoded %u, "
            "closed by the robot %u, lost with the cloud %u\n"
            "  viewers: joined %u; left by close-session %u, by going away %u, by REST "
            "DELETE %u; switches %u (refused %u)\n"
            "  first frame: mean %lld ms, max %lld ms\n"
            "  REST calls %u: unanswered %u, unexpected status %u\n"
            "  cloud: killed %u times; robot registered again within %lld ms at worst\n"
            "  robot: crashes %u; exit status %d (%s); cloud exit status %d\n"
            "  idle (no session): threads %ld -> %ld, open files %ld -> %ld, RSS %.1f -> %.1f MB; "
            "the robot's last session ended %d s after the last viewer left\n",
            o->seed, o->minutes, o->robot_id, t->opened, t->opened_rest, t->closed, t->streamed,
            t->stalled, t->closed_by_robot, t->lost_to_cloud, t->joins, t->leave_polite,
            t->leave_abrupt, t->leave_rest_delete, t->switches, t->switch_refused,
            (long long)(t->streamed ? t->first_frame_ms_sum / t->streamed : 0),
            (long long)t->first_frame_ms_max, t->api_calls, t->api_unanswered, t->api_unexpected,
            t->cloud_kills, (long long)t->reregister_ms_max, o->robot_crashed ? 1u : 0u,
            o->robot_exit, o->robot_crashed ? "died during the soak" : "after SIGTERM",
            o->cloud_exit, o->base.threads, o->end.threads, o->base.fds,
            o->end.fds, (double)o->base.rss_kb / 1024, (double)o->end.rss_kb / 1024,
            o->end.drain_s);
}

int soak_record_verdict(struct soak_record *r)
{
    free(r->samples);
    r->samples = NULL;
    r->nsamples = r->cap = 0;
    if (r->failures[0]) {
        fprintf(stderr, "soak: FAILED:\n%s", r->failures);
        return 1;
    }
    fprintf(stderr, "soak: PASSED\n");
    return 0;
}
