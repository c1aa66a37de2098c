/* scen_idle.c - S1, idle connections: clients (and robots) connect and
 * register, then hold still while the parent reads the server's memory.
 * Figures: connect+register rate and latency, server RSS per connection. */
#include <math.h>

#include "scenario.h"

static double idle_run_limit(const struct load_opts *o)
{
    return o->hold_s + 1;
}

/* Nothing to measure after setup: the parent read the server at ready.
 * With --hold the connections stay a while (another cloud-load can then
 * measure the server while it holds them). */
static void idle_start(struct worker *w)
{
    if (w->o->hold_s <= 0)
        worker_finished(w);
}

static void idle_tick(struct worker *w, int64_t now)
{
    if (now >= w->b->go_ns + (int64_t)(w->o->hold_s * 1e9))
        worker_finished(w);
}

static void idle_report(const struct report *r, struct jline *j)
{
    const struct result *res = r->res;
    double setup_s = res->last_settle_ns > res->first_start_ns
                         ? (double)(res->last_settle_ns - res->first_start_ns) / 1e9
                         : NAN; /* nothing was set up */
    jl_int(j, "clients", r->o->clients);
    jl_int(j, "robots", r->o->robots);
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
    report_cpu(j, &r->before, &r->ready, 0, NULL);
}

const struct scenario scenario_idle = {
    .name = "idle",
    .summary = "S1: N clients (and R robots) connect and register; server RSS per connection",
    .default_clients = 1000,
    .default_robots = 0,
    .robots_register = true,
    .run_limit_s = idle_run_limit,
    .start = idle_start,
    .tick = idle_tick,
    .report = idle_report,
};
