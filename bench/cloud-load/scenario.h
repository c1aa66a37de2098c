/* scenario.h - what a load scenario plugs into the worker and the parent:
 * a small ops struct per scenario, one file each (scen_*.c).
 *
 * Worker hooks run on the worker's thread inside lws_service(); each may
 * be NULL. The report hook runs in the parent, after every worker ended. */
#ifndef CLOUD_LOAD_SCENARIO_H
#define CLOUD_LOAD_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "load.h"
#include "report.h"
#include "worker.h"

struct scenario {
    const char *name;
    const char *summary;            /* one line for --help */
    long default_clients, default_robots;
    bool robots_register;           /* robots register during setup */
    /* Robots worker index opens; NULL: its share of --robots. */
    long (*robots_for)(const struct load_opts *o, int index);
    /* How long the measured phase may take before it is cut short. */
    double (*run_limit_s)(const struct load_opts *o);

    /* Allocates w->scen once the connections exist. 0, or -1. */
    int (*create)(struct worker *w);
    /* Every connection is registered (or failed): set up, then call
     * worker_prepared(). NULL: nothing to set up. */
    void (*prepare)(struct worker *w);
    /* The parent said go: start the measured phase. */
    void (*start)(struct worker *w);
    /* Every millisecond or so of the measured phase. */
    void (*tick)(struct worker *w, int64_t now);
    /* A message of the given type arrived on c (after registration replies
     * and errors were counted by the worker). */
    void (*message)(struct worker *w, struct conn *c, const char *type, const char *m,
                    size_t len, int64_t now);
    /* c's queue is empty and its socket writeable: see conn_handler. */
    bool (*writeable)(struct worker *w, struct conn *c);
    void (*destroy)(struct worker *w);

    /* Parent: the scenario's fields of the JSON line. */
    void (*report)(const struct report *r, struct jline *j);
};

extern const struct scenario scenario_idle, scenario_session, scenario_relay, scenario_fanout;

/* The scenario of an id. */
const struct scenario *scenario_get(enum scenario_id id);

#endif
