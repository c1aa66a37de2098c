/* worker.h - one cloud-load worker process: its lws context and event
 * loop, its share of the connections, and its phases:
 *
 *   connect  open and register the connections, connect_window at a time
 *   prepare  scenario setup on them (the relay scenario opens sessions)
 *   ready    wait for the parent's go
 *   run      the scenario's measured phase
 *   done     wait for the parent's release (it reads the server meanwhile)
 *
 * Each phase is bounded in time; a worker that gives up records why in its
 * result and moves on, so that the parent always gets figures. Everything
 * runs on the worker's one thread, inside lws_service(). */
#ifndef CLOUD_LOAD_WORKER_H
#define CLOUD_LOAD_WORKER_H

#include <libwebsockets.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "load.h"

struct scenario;

enum worker_phase { PH_CONNECT, PH_PREPARE, PH_READY, PH_RUN, PH_DONE, PH_EXIT };

struct worker {
    const struct load_opts *o;
    const struct scenario *sc;
    struct board *b;
    struct result *res;            /* this worker's slot in the board */
    int index;                     /* 0 .. procs-1 */
    struct conn_loop *loop;
    struct lws_context *ctx;       /* the loop's */
    lws_sorted_usec_list_t tick;
    enum worker_phase phase;
    bool quit;
    struct conn *conns;            /* robots first, then clients */
    unsigned char *settled;        /* per connection: setup over */
    size_t nrobots, nclients, nconns;
    size_t next, pending, nsettled; /* connects started, in progress, over */
    bool pumping;
    uint64_t clients_ok;           /* clients registered */
    int64_t deadline_ns;           /* of the current phase */
    int64_t progress_ns;           /* next progress line */
    char source[INET_ADDRSTRLEN];  /* "" : the kernel picks */
    bool source_checked;
    void *scen;                    /* the scenario's state */
};

static inline struct conn *worker_robot(struct worker *w, size_t i) { return &w->conns[i]; }
static inline struct conn *worker_client(struct worker *w, size_t i)
{
    return &w->conns[w->nrobots + i];
}

/* Runs worker index of the scenario o->scenario until the parent releases
 * it (or it gives up). Returns the process exit status. */
int worker_main(const struct load_opts *o, struct board *b, int index);

/* For scenarios: the setup of the prepare phase is over. */
void worker_prepared(struct worker *w);

/* For scenarios: the measured phase is over; the result is complete. */
void worker_finished(struct worker *w);

/* libuv (epoll) when a worker holds many connections: with lws's poll()
 * loop every wakeup would scan them all. */
bool worker_uses_libuv(const struct load_opts *o, size_t nconns);

/* Connections of this worker's share of total (robots or clients). */
long worker_share(long total, int procs, int index);

#endif
