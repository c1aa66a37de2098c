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
    jl_int(j, "clients", r->o->clients);
    jl_int(j, "robots", r->o->robots);
    report_setup(r, j);
    /* The server's CPU per registration over the setup: what a loaded
     * machine does not inflate, where it does the rates. */
    report_cpu(j, &r->before, &r->ready, (double)r->res->registered, "registration");
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
