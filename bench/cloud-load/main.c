/* main.c - cloud-load: a load generator for a running porthole-cloud over
 * real sockets. The parent forks the worker processes (each one event loop
 * on libwebsockets, many connections), starts and times them through a
 * board in shared memory, reads the server's memory and CPU from /proc
 * around the measured window, and prints one JSON line on stdout.
 * Progress goes to stderr. See bench/README.md. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "load.h"
#include "procstat.h"
#include "report.h"
#include "conn.h"
#include "scenario.h"

/* Extra time the parent allows a worker beyond the worker's own limits
 * before it stops waiting (a worker reports at its limits; this catches
 * one that is stuck). */
#define GRACE_S 10.0
/* Time the workers have to close their connections and exit. */
#define EXIT_LIMIT_S 20.0

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

const struct scenario *scenario_get(enum scenario_id id)
{
    static const struct scenario *const all[SC_COUNT] = {
        [SC_IDLE] = &scenario_idle,
        [SC_SESSION] = &scenario_session,
        [SC_RELAY] = &scenario_relay,
        [SC_FANOUT] = &scenario_fanout,
    };
    return all[id];
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cloud-load SCENARIO [options]\n"
            "Loads a running porthole-cloud over WebSockets; prints one JSON line.\n"
            "Scenarios:\n");
    for (int i = 0; i < SC_COUNT; i++)
        fprintf(out, "  %-8s %s\n", scenario_get(i)->name, scenario_get(i)->summary);
    fprintf(out,
            "Options (defaults in brackets):\n"
            "  --host ADDR          server address [127.0.0.1]\n"
            "  --port N             server port [3001]\n"
            "  --server-pid PID     read the server's RSS and CPU from /proc [not read];\n"
            "                       again for more processes (workers, redis-server): summed\n"
            "  --robot-port N       robots connect to this port (another instance) [--port]\n"
            "  --procs N            worker processes, at most %d [1]\n"
            "  --source ADDR        source address of worker 0; worker i uses ADDR+i\n"
            "                       in the last octet [the kernel picks]\n"
            "  --clients N          clients over all workers [per scenario]\n"
            "  --robots N           robots over all workers [per scenario]\n"
            "  --warmup S           seconds of load before the window opens [0.5]\n"
            "  --duration S         seconds of the measured window [5]\n"
            "  --timeout S          limit on connecting and registering [60]\n"
            "  --window N           relay: messages in flight per session and direction [8]\n"
            "  --ice N              session: ICE candidates each way [10]\n"
            "  --rounds N           fanout: robots registered one after another, at most %d [5]\n"
            "  --hold S             idle: keep the connections S seconds after setup [0]\n"
            "  --connect-window N   connections being set up at once per worker [256]\n"
            "  --loop poll|uv|auto  workers' event loop: lws's poll() or libuv (epoll);\n"
            "                       auto: libuv above %d connections per worker [auto]\n"
            "  --quiet              no progress on stderr\n"
            "  --sio                peers speak Socket.IO at /socket.io/ (WebSocket), not /ws\n"
            "At most %d connections per worker process (the open-file limit).\n",
            LOAD_PROCS_MAX, LOAD_ROUNDS_MAX, LOAD_POLL_MAX_CONNS, LOAD_CONNS_PER_PROC_MAX);
}

static int parse_scenario(const char *name, enum scenario_id *id)
{
    static const char *const aliases[SC_COUNT] = {"s1", "s2", "s3", "s4"};
    for (int i = 0; i < SC_COUNT; i++)
        if (strcmp(name, scenario_get(i)->name) == 0 || strcmp(name, aliases[i]) == 0) {
            *id = i;
            return 0;
        }
    return -1;
}

/* Parses a number within [lo, hi]; returns -1 (after a message) otherwise. */
static int parse_num(const char *flag, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "cloud-load: --%s: '%s' is not a number in [%g, %g]\n", flag, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* Returns 0, 1 after --help, or 2 on a usage error. */
static int parse_args(int argc, char **argv, struct load_opts *o)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'h'},     {"port", required_argument, NULL, 'p'},
        {"server-pid", required_argument, NULL, 'P'},
        {"robot-port", required_argument, NULL, 'Q'}, {"procs", required_argument, NULL, 'n'},
        {"source", required_argument, NULL, 's'},   {"clients", required_argument, NULL, 'c'},
        {"robots", required_argument, NULL, 'r'},   {"warmup", required_argument, NULL, 'W'},
        {"duration", required_argument, NULL, 'd'}, {"timeout", required_argument, NULL, 't'},
        {"window", required_argument, NULL, 'w'},   {"ice", required_argument, NULL, 'i'},
        {"rounds", required_argument, NULL, 'R'},   {"connect-window", required_argument, NULL, 'C'},
        {"quiet", no_argument, NULL, 'q'},          {"help", no_argument, NULL, 'H'},
        {"loop", required_argument, NULL, 'L'},     {"hold", required_argument, NULL, 'O'},
        {"sio", no_argument, NULL, 'S'},
        {NULL, 0, NULL, 0},
    };
    *o = (struct load_opts){.host = "127.0.0.1", .port = 3001, .procs = 1, .source = "",
                            .clients = -1, .robots = -1, .warmup_s = 0.5, .duration_s = 5,
                            .timeout_s = 60, .window = 8, .ice = 10, .rounds = 5,
                            .connect_window = 256};
    int ch, li;
    double v;
    while ((ch = getopt_long(argc, argv, "", longopts, &li)) != -1) {
        const char *name = ch == '?' ? "" : longopts[li].name;
        int rc = 0;
        switch (ch) {
        case 'h': o->host = optarg; break;
        case 's': o->source = optarg; break;
        case 'q': o->quiet = true; break;
        case 'S': o->sio = true; conn_set_sio(true); break;
        case 'H': usage(stdout); return 1;
        case 'L':
            if (strcmp(optarg, "poll") == 0)
                o->loop = LOOP_POLL;
            else if (strcmp(optarg, "uv") == 0)
                o->loop = LOOP_UV;
            else if (strcmp(optarg, "auto") == 0)
                o->loop = LOOP_AUTO;
            else {
                fprintf(stderr, "cloud-load: --loop: poll, uv or auto\n");
                rc = -1;
            }
            break;
        case 'p': rc = parse_num(name, optarg, 1, 65535, &v); o->port = (int)v; break;
        case 'P':
            rc = parse_num(name, optarg, 1, 1e9, &v);
            if (rc == 0 && !o->server_pid)
                o->server_pid = (pid_t)v;
            else if (rc == 0 && o->nserver_pids < LOAD_SERVER_PIDS_MAX)
                o->server_pids[o->nserver_pids++] = (pid_t)v;
            break;
        case 'Q': rc = parse_num(name, optarg, 1, 65535, &v); o->robot_port = (int)v; break;
        case 'n': rc = parse_num(name, optarg, 1, LOAD_PROCS_MAX, &v); o->procs = (int)v; break;
        case 'c': rc = parse_num(name, optarg, 0, 1e7, &v); o->clients = (long)v; break;
        case 'r': rc = parse_num(name, optarg, 0, 1e6, &v); o->robots = (long)v; break;
        case 'W': rc = parse_num(name, optarg, 0, 60, &o->warmup_s); break;
        case 'd': rc = parse_num(name, optarg, 0.1, 3600, &o->duration_s); break;
        case 't': rc = parse_num(name, optarg, 1, 3600, &o->timeout_s); break;
        case 'w': rc = parse_num(name, optarg, 1, 1e6, &v); o->window = (int)v; break;
        case 'i': rc = parse_num(name, optarg, 0, 1000, &v); o->ice = (int)v; break;
        case 'R': rc = parse_num(name, optarg, 1, LOAD_ROUNDS_MAX, &v); o->rounds = (int)v; break;
        case 'O': rc = parse_num(name, optarg, 0, 3600, &o->hold_s); break;
        case 'C': rc = parse_num(name, optarg, 1, 100000, &v); o->connect_window = (int)v; break;
        default: usage(stderr); return 2;
        }
        if (rc)
            return 2;
    }
    if (optind != argc - 1 || parse_scenario(argv[optind], &o->scenario) != 0) {
        usage(stderr);
        return 2;
    }
    const struct scenario *sc = scenario_get(o->scenario);
    if (o->clients < 0)
        o->clients = sc->default_clients;
    if (o->robots < 0)
        o->robots = sc->default_robots;
    return 0;
}

/* Connections of worker 0, the largest share. */
static long first_worker_conns(const struct load_opts *o)
{
    const struct scenario *sc = scenario_get(o->scenario);
    long robots = sc->robots_for ? sc->robots_for(o, 0) : worker_share(o->robots, o->procs, 0);
    return robots + worker_share(o->clients, o->procs, 0);
}

/* Checks what one worker would open against the per-process limit. */
static int check_limits(const struct load_opts *o)
{
    const struct scenario *sc = scenario_get(o->scenario);
    long conns = first_worker_conns(o);
    if (conns > LOAD_CONNS_PER_PROC_MAX) {
        fprintf(stderr, "cloud-load: %ld connections in one process: more than %d; use more "
                        "--procs (and --source)\n", conns, LOAD_CONNS_PER_PROC_MAX);
        return -1;
    }
    if ((o->scenario == SC_SESSION || o->scenario == SC_RELAY) &&
        worker_share(o->robots, o->procs, o->procs - 1) < 1) {
        fprintf(stderr, "cloud-load: %s needs at least one robot per worker\n", sc->name);
        return -1;
    }
    return 0;
}

/* ---- the parent ---- */

struct parent {
    const struct load_opts *o;
    struct board *b;
    pid_t pids[LOAD_PROCS_MAX];
    bool exited[LOAD_PROCS_MAX];
    char error[200];
};

static void parent_error(struct parent *p, const char *msg)
{
    if (!p->error[0])
        snprintf(p->error, sizeof(p->error), "%s", msg);
}

static struct sample take_sample(const struct parent *p)
{
    struct sample s = {.t_ns = load_now_ns(),
                       .server_rss_kb = procstat_rss_kb(p->o->server_pid),
                       .server_cpu_us = procstat_cpu_us(p->o->server_pid),
                       .gen_cpu_us = 0,
                       .host_busy_us = procstat_host_busy_us()};
    for (int i = 0; i < p->o->nserver_pids; i++) {
        long rss = procstat_rss_kb(p->o->server_pids[i]);
        int64_t cpu = procstat_cpu_us(p->o->server_pids[i]);
        if (rss > 0 && s.server_rss_kb >= 0)
            s.server_rss_kb += rss;
        if (cpu > 0 && s.server_cpu_us >= 0)
            s.server_cpu_us += cpu;
    }
    for (int i = 0; i < p->o->procs; i++) {
        if (!p->pids[i])
            continue; /* not forked yet: no CPU used */
        int64_t us = p->exited[i] ? -1 : procstat_cpu_us(p->pids[i]);
        if (us < 0) {
            s.gen_cpu_us = -1;
            break;
        }
        s.gen_cpu_us += us;
    }
    return s;
}

/* Notes workers that exited; they will report nothing more. */
static void reap(struct parent *p)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        for (int i = 0; i < p->o->procs; i++)
            if (p->pids[i] == pid && !p->exited[i]) {
                p->exited[i] = true;
                if (atomic_load(&p->b->wstate[i]) != WSTATE_DONE ||
                    !atomic_load(&p->b->release)) {
                    char m[96];
                    snprintf(m, sizeof(m), "worker %d exited early (status %d)", i, status);
                    parent_error(p, m);
                }
            }
}

static bool all_reached(struct parent *p, int wstate)
{
    for (int i = 0; i < p->o->procs; i++)
        if (!p->exited[i] && atomic_load(&p->b->wstate[i]) < wstate)
            return false;
    return true;
}

/* Waits until every live worker reached wstate (wstate < 0: only until
 * the deadline). Returns true when reached, false at the deadline or on
 * an interruption. */
static bool wait_for(struct parent *p, int wstate, int64_t deadline_ns)
{
    const struct timespec ms = {0, 1000000};
    for (;;) {
        reap(p);
        if (wstate >= 0 && all_reached(p, wstate))
            return true;
        if (interrupted) {
            parent_error(p, "interrupted");
            return false;
        }
        if (load_now_ns() >= deadline_ns)
            return wstate < 0;
        nanosleep(&ms, NULL);
    }
}

/* Releases the workers and waits for them to exit, killing the stuck. */
static void release_all(struct parent *p)
{
    atomic_store(&p->b->release, 1);
    int64_t deadline = load_now_ns() + (int64_t)(EXIT_LIMIT_S * 1e9);
    const struct timespec ms = {0, 5000000};
    for (;;) {
        reap(p);
        bool all = true;
        for (int i = 0; i < p->o->procs; i++)
            all = all && p->exited[i];
        if (all)
            return;
        if (load_now_ns() >= deadline)
            break;
        nanosleep(&ms, NULL);
    }
    for (int i = 0; i < p->o->procs; i++)
        if (!p->exited[i]) {
            kill(p->pids[i], SIGKILL);
            waitpid(p->pids[i], NULL, 0);
            p->exited[i] = true;
            parent_error(p, "a worker did not exit and was killed");
        }
}

static int spawn(struct parent *p)
{
    for (int i = 0; i < p->o->procs; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            parent_error(p, "fork failed");
            return -1;
        }
        if (pid == 0) {
            /* A worker never outlives the parent that reads its figures. */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            signal(SIGINT, SIG_IGN); /* the parent handles ^C and releases */
            _exit(worker_main(p->o, p->b, i));
        }
        p->pids[i] = pid;
    }
    return 0;
}

static void merge(const struct parent *p, struct result *all)
{
    memset(all, 0, sizeof(*all));
    all->first_start_ns = INT64_MAX;
    for (int i = 0; i < p->o->procs; i++) {
        const struct result *r = &p->b->results[i];
        all->connected += r->connected;
        all->registered += r->registered;
        all->failed += r->failed;
        all->lost += r->lost;
        all->server_errors += r->server_errors;
        all->count += r->count;
        all->bytes += r->bytes;
        all->unfinished += r->unfinished;
        if (r->first_start_ns && r->first_start_ns < all->first_start_ns)
            all->first_start_ns = r->first_start_ns;
        if (r->last_settle_ns > all->last_settle_ns)
            all->last_settle_ns = r->last_settle_ns;
        if (r->half_settle_ns > all->half_settle_ns)
            all->half_settle_ns = r->half_settle_ns;
        hist_merge(&all->setup, &r->setup);
        hist_merge(&all->lat, &r->lat);
        if (!all->error[0] && r->error[0])
            snprintf(all->error, sizeof(all->error), "worker %d: %.180s", i, r->error);
    }
    if (all->first_start_ns == INT64_MAX)
        all->first_start_ns = 0;
}

/* Runs the phases; the samples go into rep. Returns after every worker
 * exited. */
static void run(struct parent *p, struct report *rep)
{
    const struct load_opts *o = p->o;
    const struct scenario *sc = scenario_get(o->scenario);
    rep->before = take_sample(p);
    if (spawn(p) != 0) {
        release_all(p);
        return;
    }
    int64_t limit = load_now_ns() + (int64_t)((o->timeout_s + GRACE_S) * 1e9);
    if (!wait_for(p, WSTATE_READY, limit))
        parent_error(p, "workers did not finish their setup in time");
    rep->ready = take_sample(p);
    if (!o->quiet)
        fprintf(stderr, "cloud-load %s: all workers ready; go\n", sc->name);
    p->b->go_ns = load_now_ns();
    atomic_store(&p->b->go, 1);

    bool timed = o->scenario == SC_SESSION || o->scenario == SC_RELAY;
    int64_t done_limit = p->b->go_ns + (int64_t)((sc->run_limit_s(o) + GRACE_S) * 1e9);
    if (timed) {
        /* The window is fixed in time: sample the server at its edges. */
        wait_for(p, -1, load_window_start(p->b, o));
        rep->w0 = take_sample(p);
        wait_for(p, -1, load_window_end(p->b, o));
        rep->w1 = take_sample(p);
    } else {
        rep->w0 = take_sample(p);
    }
    if (!wait_for(p, WSTATE_DONE, done_limit))
        parent_error(p, "workers did not finish the measured phase in time");
    rep->end = take_sample(p);
    if (!timed)
        rep->w1 = rep->end;
    release_all(p);
}

int main(int argc, char **argv)
{
    struct load_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : 2;
    if (check_limits(&o) != 0)
        return 2;
    struct board *b = mmap(NULL, sizeof(*b), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                           -1, 0);
    if (b == MAP_FAILED) {
        perror("cloud-load: mmap");
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    b->run_tag = (int)getpid();
    struct parent p = {.o = &o, .b = b};
    struct result all;
    struct report rep = {.o = &o, .b = b, .res = &all};
    run(&p, &rep);
    merge(&p, &all);

    const struct scenario *sc = scenario_get(o.scenario);
    struct jline j;
    jl_begin(&j);
    char name[32];
    snprintf(name, sizeof name, "%s%s", sc->name, o.sio ? "-sio" : "");
    jl_str(&j, "scenario", name);
    jl_int(&j, "procs", o.procs);
    if (*o.source)
        jl_str(&j, "source", o.source);
    jl_str(&j, "loop", worker_uses_libuv(&o, (size_t)first_worker_conns(&o)) ? "libuv" : "poll");
    sc->report(&rep, &j);
    jl_int(&j, "server_errors", (long long)all.server_errors);
    jl_int(&j, "lost", (long long)all.lost);
    const char *error = p.error[0] ? p.error : all.error;
    if (p.error[0] && all.error[0]) {
        static char both[420];
        snprintf(both, sizeof(both), "%s; %s", p.error, all.error);
        error = both;
    }
    if (*error)
        jl_str(&j, "error", error);
    printf("%s\n", jl_end(&j));
    fflush(stdout);
    munmap(b, sizeof(*b));
    return *error ? 1 : 0;
}
