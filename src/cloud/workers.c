/* workers.c - the master of --workers N (workers.h): forks the workers,
 * starts the private redis-server when no store is configured, restarts
 * workers that die, replaces them one at a time on SIGHUP, stops them on
 * SIGTERM. */
#include "cloud/workers.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"

enum { READY_WAIT_MS = 15000, STOP_WAIT_MS = 10000, MAX_WORKERS = 256 };

static volatile sig_atomic_t got_term, got_hup;

struct worker {
    pid_t pid;
    bool stopping;           /* told to stop: its exit is expected */
};

struct master {
    const struct cloud_config *cfg;
    int (*serve)(struct cloud_config *cfg, void (*ready)(void *), void *ready_arg);
    struct worker w[MAX_WORKERS];
    long n;
    pid_t redis;
    char dir[64];
    char store[128];
    const char *base_id;
};

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        got_hup = 1;
    else
        got_term = 1;
}

long workers_count(const struct cloud_config *cfg)
{
    if (cfg->workers > 0)
        return cfg->workers;
    if (strcmp(cfg->store, "memory") == 0)
        return 1;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus > 0 ? (cpus > MAX_WORKERS ? MAX_WORKERS : cpus) : 1;
}

/* ---- the private store ---- */

static bool unix_connects(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* Starts redis-server on a Unix socket in a fresh 0700 directory. Returns
 * 0, or -1 after logging. */
static int private_store_start(struct master *m)
{
    snprintf(m->dir, sizeof m->dir, "/tmp/porthole-cloud-XXXXXX");
    if (!mkdtemp(m->dir)) {
        log_error("--workers: cannot make a directory for the private store: %s",
                  strerror(errno));
        *m->dir = '\0';
        return -1;
    }
    char sock[100];
    snprintf(sock, sizeof sock, "%s/redis.sock", m->dir);
    m->redis = fork();
    if (m->redis == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, STDOUT_FILENO);
        execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", sock,
               "--unixsocketperm", "700", "--save", "", "--appendonly", "no", "--dir", m->dir,
               (char *)NULL);
        fprintf(stderr, "porthole-cloud: cannot run redis-server: %s\n", strerror(errno));
        _exit(127);
    }
    int64_t until = clock_mono_ms() + 5000;
    while (m->redis > 0 && clock_mono_ms() < until && !unix_connects(sock))
        usleep(20 * 1000);
    if (m->redis < 0 || !unix_connects(sock)) {
        log_error("--workers without --store needs redis-server (Debian's redis-server "
                  "package) for the workers to share robots and clients; it did not start");
        return -1;
    }
    snprintf(m->store, sizeof m->store, "unix://%s", sock);
    log_info("workers share a private redis-server on %s", sock);
    return 0;
}

static void private_store_stop(struct master *m)
{
    if (m->redis > 0) {
        kill(m->redis, SIGTERM);
        waitpid(m->redis, NULL, 0);
        m->redis = 0;
    }
    if (*m->dir) {
        char sock[100];
        snprintf(sock, sizeof sock, "%s/redis.sock", m->dir);
        unlink(sock);
        rmdir(m->dir);
    }
}

/* ---- workers ---- */

static void ready_write(void *arg)
{
    int *fd = arg;
    if (*fd >= 0) {
        ssize_t n = write(*fd, "r", 1);
        (void)n;
        close(*fd);
        *fd = -1;
    }
}

/* The child's side: never returns. */
static void worker_main(struct master *m, int ready_fd)
{
    /* A master that dies leaves no worker behind, as a host that dies. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    struct cloud_config cfg = *m->cfg;
    /* Unique per process, replacements included: two workers never share
     * an instance's channel. Without a base the cluster's default
     * (<hostname>-<pid>-<random>) is unique already. */
    char id[128];
    snprintf(id, sizeof id, "%s-%d", m->base_id, (int)getpid());
    if (*m->base_id)
        cfg.instance_id = id;
    cfg.workers = 1;
    cfg.listen_share = true;
    if (*m->store)
        cfg.store = m->store;
    int fd = ready_fd;
    int rc = m->serve(&cfg, ready_write, &fd);
    _exit(rc);
}

/* Forks a worker and waits until it listens. Returns its pid, or -1. */
static pid_t worker_start(struct master *m)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        worker_main(m, p[1]);
    }
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return -1;
    }
    struct pollfd pfd = {.fd = p[0], .events = POLLIN};
    char c = 0;
    int64_t until = clock_mono_ms() + READY_WAIT_MS;
    int rc;
    do {
        rc = poll(&pfd, 1, (int)(until - clock_mono_ms()));
    } while (rc < 0 && errno == EINTR && clock_mono_ms() < until);
    bool ready = rc == 1 && read(p[0], &c, 1) == 1;
    close(p[0]);
    if (!ready) {
        log_error("worker %d did not start listening", (int)pid);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return pid;
}

/* SIGTERM, then up to STOP_WAIT_MS, then SIGKILL. Returns its exit
 * status (-1 when killed). */
static int worker_stop(struct worker *w)
{
    w->stopping = true;
    kill(w->pid, SIGTERM);
    int64_t until = clock_mono_ms() + STOP_WAIT_MS;
    int st;
    pid_t r;
    while ((r = waitpid(w->pid, &st, WNOHANG)) == 0 && clock_mono_ms() < until)
        usleep(20 * 1000);
    if (r != w->pid) {
        kill(w->pid, SIGKILL);
        waitpid(w->pid, NULL, 0);
        w->pid = 0;
        return -1;
    }
    w->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* SIGHUP: a new worker first, then the old one goes; one at a time. */
static void replace_all(struct master *m)
{
    log_info("SIGHUP: replacing %ld workers one at a time", m->n);
    for (long i = 0; i < m->n && !got_term; i++) {
        pid_t fresh = worker_start(m);
        if (fresh < 0) {
            log_error("SIGHUP: a new worker did not start; keeping the old ones");
            return;
        }
        pid_t old = m->w[i].pid;
        if (old > 0)
            worker_stop(&m->w[i]);
        m->w[i] = (struct worker){.pid = fresh};
        log_info("worker %d replaced by %d", (int)old, (int)fresh);
    }
}

/* Reaps exited children; workers that died unexpectedly start again. */
static void reap(struct master *m)
{
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        if (pid == m->redis) {
            log_error("the private redis-server exited; the workers serve their own peers "
                      "only");
            m->redis = 0;
            continue;
        }
        for (long i = 0; i < m->n; i++) {
            if (m->w[i].pid != pid || m->w[i].stopping)
                continue;
            log_warn("worker %d exited (%s %d); starting another", (int)pid,
                     WIFEXITED(st) ? "status" : "signal",
                     WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
            sleep(1);
            m->w[i].pid = worker_start(m);
        }
    }
}

int workers_run(const struct cloud_config *cfg, long n,
                int (*serve)(struct cloud_config *cfg, void (*ready)(void *), void *ready_arg))
{
    static struct master m;
    memset(&m, 0, sizeof m);
    m.cfg = cfg;
    m.serve = serve;
    m.n = n > MAX_WORKERS ? MAX_WORKERS : n;
    m.base_id = cfg->instance_id;
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (strcmp(cfg->store, "memory") == 0 && private_store_start(&m) != 0) {
        private_store_stop(&m);
        return 1;
    }
    log_info("starting %ld workers on port %ld (SO_REUSEPORT)", m.n, cfg->port);
    int rc = 0;
    for (long i = 0; i < m.n; i++)
        if ((m.w[i].pid = worker_start(&m)) < 0) {
            got_term = 1;
            rc = 1;
            break;
        }
    while (!got_term) {
        if (got_hup) {
            got_hup = 0;
            replace_all(&m);
        }
        reap(&m);
        usleep(200 * 1000);
    }
    for (long i = 0; i < m.n; i++)
        if (m.w[i].pid > 0 && worker_stop(&m.w[i]) != 0)
            rc = 1;
    private_store_stop(&m);
    log_info("stopped");
    return rc;
}
