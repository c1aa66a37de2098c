/* workers.h - several porthole-cloud worker processes on one port
 * (--workers N): a master that forks them, keeps them running and
 * replaces them one at a time on SIGHUP.
 *
 * Every worker is a whole porthole-cloud (server.h) listening on the same
 * address with SO_REUSEPORT, so the kernel spreads new connections over
 * them; each is its own instance of the cluster (cluster.h), named
 * "<instance-id>-<pid>". They share robots, clients and routing through
 * the --store when it is Redis; without one, the master starts a private
 * redis-server on a Unix socket in a directory only it can read (Redis is
 * the engine several processes share; a second, home-made one would be
 * more code to trust), and stops it when it exits.
 *
 * The master serves nothing and holds no connection: it forks before any
 * libwebsockets context exists. SIGTERM or SIGINT stop every worker
 * (each shuts down gracefully) and the master exits 0 when all did.
 * SIGHUP starts a new worker, waits until it listens, then stops one old
 * worker, and so on: the port never stops accepting. A worker that dies
 * is started again after a second. Workers die with the master
 * (PR_SET_PDEATHSIG). */
#ifndef PORTHOLE_CLOUD_WORKERS_H
#define PORTHOLE_CLOUD_WORKERS_H

#include "cloud/config.h"

/* How many workers cfg asks for: --workers, or when 0 the number of
 * online CPUs with a Redis store and 1 without (a single process keeps
 * `make run` and the default deployment free of any other program).
 * Can't fail. */
long workers_count(const struct cloud_config *cfg);

/* Runs the master for n >= 2 workers until SIGTERM or SIGINT. Each worker
 * runs serve(cfg) with cfg->listen_share set, its store and its instance
 * id; serve must call ready(ready_arg) once it listens and return the
 * process's exit status. Returns the master's exit status. */
int workers_run(const struct cloud_config *cfg, long n,
                int (*serve)(struct cloud_config *cfg, void (*ready)(void *), void *ready_arg));

#endif
