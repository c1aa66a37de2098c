/* load.h - what cloud-load's parent and its worker processes share: the
 * options, each worker's result, and the board in shared memory through
 * which the parent starts, times and releases the workers.
 *
 * The parent maps the board (MAP_SHARED) before forking. Each worker
 * writes only its own result and the counters named for it below; the
 * parent writes only go, go_ns and release. */
#ifndef CLOUD_LOAD_LOAD_H
#define CLOUD_LOAD_LOAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "hist.h"

#define LOAD_PROCS_MAX 128
#define LOAD_ROUNDS_MAX 64
/* Server processes whose RSS and CPU are summed (--server-pid). */
#define LOAD_SERVER_PIDS_MAX 256
/* Connections one worker may open: the open-file limit here is 20,000 per
 * process and cannot be raised; the rest is left for lws and stdio. */
#define LOAD_CONNS_PER_PROC_MAX 19500

enum scenario_id { SC_IDLE, SC_SESSION, SC_RELAY, SC_FANOUT, SC_COUNT };

/* The workers' event loop (see conn_loop_create); auto picks libuv above
 * LOAD_POLL_MAX_CONNS connections per worker. */
enum loop_kind { LOOP_AUTO, LOOP_POLL, LOOP_UV };
#define LOAD_POLL_MAX_CONNS 512

/* A worker's progress as the board shows it. */
enum { WSTATE_SETUP, WSTATE_READY, WSTATE_DONE };

struct load_opts {
    enum scenario_id scenario;
    const char *host;       /* porthole-cloud's address */
    int port;
    pid_t server_pid;       /* 0: server memory and CPU not measured */
    /* More server processes (--server-pid again: workers, redis-server):
     * their RSS and CPU are added to the server's. */
    pid_t server_pids[LOAD_SERVER_PIDS_MAX];
    int nserver_pids;
    int robot_port;         /* robots connect here; 0: port */
    int procs;              /* worker processes */
    const char *source;     /* first source address ("": the kernel picks) */
    long clients, robots;   /* totals over all workers */
    double warmup_s;        /* run before the measured window opens */
    double duration_s;      /* the measured window */
    double timeout_s;       /* limit on connecting and registering */
    int window;             /* relay: messages in flight per session and direction */
    int ice;                /* session: ICE candidates each way per session */
    int rounds;             /* fanout: robots registered one after another */
    double hold_s;          /* idle: seconds to hold the connections after setup */
    int connect_window;     /* connections being set up at once, per worker */
    enum loop_kind loop;
    bool quiet;             /* no progress lines on stderr */
    bool sio;               /* --sio: Socket.IO peers (conn_set_sio) */
};

/* One worker's figures. Setup covers connecting and registering; the
 * scenario's own figures (count, lat) cover the measured window only. */
struct result {
    char error[200];              /* first problem met, "" when none */
    uint64_t connected, registered, failed, lost;
    int64_t first_start_ns, last_settle_ns;
    int64_t half_settle_ns;       /* half of the connections set up */
    struct hist setup;            /* connect started -> registered */
    uint64_t server_errors;       /* "error" and "session-error" received */
    uint64_t count;               /* sessions, messages or deliveries */
    uint64_t bytes;               /* payload bytes of what count counts */
    uint64_t unfinished;          /* sessions or messages left at the end */
    struct hist lat;              /* the scenario's latency (ns) */
};

struct board {
    atomic_int wstate[LOAD_PROCS_MAX]; /* worker i: a WSTATE_* */
    atomic_int go;                /* parent: start the measured phase */
    atomic_int release;           /* parent: figures read, close and exit */
    int64_t go_ns;                /* CLOCK_MONOTONIC of go, set before go */
    int run_tag;                  /* the parent's pid: ends every id, so that
                                   * two cloud-loads can share a server */
    atomic_long clients_registered; /* workers: sum of registered clients */
    /* fanout: worker 0 sends robot-register for round r at round_t0[r];
     * every worker counts the robot-available deliveries of round r and
     * keeps the latest arrival time. */
    atomic_llong round_t0[LOAD_ROUNDS_MAX];
    atomic_llong round_last[LOAD_ROUNDS_MAX];
    atomic_long round_got[LOAD_ROUNDS_MAX];
    atomic_int rounds_done;
    struct result results[LOAD_PROCS_MAX];
};

/* CLOCK_MONOTONIC in nanoseconds: one clock for every process here. */
int64_t load_now_ns(void);

/* Start and end of the measured window, from go_ns and the options. */
int64_t load_window_start(const struct board *b, const struct load_opts *o);
int64_t load_window_end(const struct board *b, const struct load_opts *o);

/* Records msg as res's error unless one is recorded already. */
void load_set_error(struct result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
