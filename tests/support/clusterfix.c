/* clusterfix.c - Redis, several porthole-cloud instances and HAProxy for
 * the cluster tests (clusterfix.h). */
#include "clusterfix.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wsclient.h"

static const char *const REDIS = "/usr/bin/redis-server";
static const char *const HAPROXY = "/usr/sbin/haproxy";

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

bool clusterfix_available(bool haproxy)
{
    return access(REDIS, X_OK) == 0 && (!haproxy || access(HAPROXY, X_OK) == 0);
}

/* A child that dies with the test process; its stdout and stderr go to
 * log (appended). Returns the pid or -1. */
static pid_t spawn(const char *const *argv, const char *log)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        FILE *f = freopen(log, "a", stdout);
        if (f)
            dup2(fileno(stdout), STDERR_FILENO);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static bool wait_tcp(int port, int timeout_ms)
{
    long end = now_ms() + timeout_ms;
    while (now_ms() < end) {
        int fd = wsc_raw_connect(port, 200);
        if (fd >= 0) {
            close(fd);
            return true;
        }
        usleep(50 * 1000);
    }
    return false;
}

static void kill_reap(pid_t *pid)
{
    if (*pid > 0) {
        kill(*pid, SIGKILL);
        waitpid(*pid, NULL, 0);
    }
    *pid = 0;
}

static int ensure_dir(struct clusterfix *f)
{
    if (*f->dir)
        return 0;
    snprintf(f->dir, sizeof f->dir, "/tmp/clusterfix-XXXXXX");
    if (!mkdtemp(f->dir)) {
        fprintf(stderr, "clusterfix: mkdtemp: %s\n", strerror(errno));
        *f->dir = '\0';
        return -1;
    }
    return 0;
}

int clusterfix_redis_restart(struct clusterfix *f)
{
    char port[16], log[128];
    snprintf(port, sizeof port, "%d", f->redis_port);
    snprintf(log, sizeof log, "%s/redis.log", f->dir);
    const char *argv[] = {REDIS, "--port", port, "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--dir", f->dir, NULL};
    f->redis = spawn(argv, log);
    if (f->redis < 0 || !wait_tcp(f->redis_port, 5000)) {
        fprintf(stderr, "clusterfix: redis-server did not start on port %d (see %s)\n",
                f->redis_port, log);
        kill_reap(&f->redis);
        return -1;
    }
    return 0;
}

int clusterfix_redis_start(struct clusterfix *f)
{
    if (ensure_dir(f) != 0 || (f->redis_port = free_port()) < 0)
        return -1;
    snprintf(f->store, sizeof f->store, "redis://127.0.0.1:%d", f->redis_port);
    return clusterfix_redis_restart(f);
}

void clusterfix_redis_kill(struct clusterfix *f)
{
    kill_reap(&f->redis);
}

int clusterfix_cloud_start(struct clusterfix *f, int i, const char *const *extra)
{
    static const char *const names[CLUSTERFIX_INSTANCES] = {"A", "B", "C"};
    const char *args[32];
    size_t n = 0;
    args[n++] = "--store";
    args[n++] = f->store;
    args[n++] = "--instance-id";
    args[n++] = names[i];
    /* One process per instance (with a store the default is one worker
     * per CPU): the tests kill and count per process. */
    args[n++] = "--workers";
    args[n++] = "1";
    for (size_t k = 0; extra && extra[k] && n < 31; k++)
        args[n++] = extra[k];
    args[n] = NULL;
    return harness_start(&f->clouds[i], args);
}

int clusterfix_haproxy_start(struct clusterfix *f)
{
    if (ensure_dir(f) != 0 || (f->lb_port = free_port()) < 0)
        return -1;
    char cfg[128], log[128];
    snprintf(cfg, sizeof cfg, "%s/haproxy.cfg", f->dir);
    snprintf(log, sizeof log, "%s/haproxy.log", f->dir);
    FILE *out = fopen(cfg, "w");
    if (!out)
        return -1;
    /* The recipe of docs/DEPLOY.md, on loopback. */
    fprintf(out,
            "global\n  maxconn 4096\n"
            "defaults\n  mode http\n  timeout connect 2s\n  timeout client 60s\n"
            "  timeout server 60s\n  timeout tunnel 1h\n  option forwardfor\n"
            "frontend porthole\n  bind 127.0.0.1:%d\n  default_backend clouds\n"
            "backend clouds\n  balance roundrobin\n  option redispatch\n  retries 2\n"
            "  option httpchk GET /health\n  http-check expect status 200\n"
            "  default-server check inter 500ms fall 2 rise 2\n",
            f->lb_port);
    for (int i = 0; i < CLUSTERFIX_INSTANCES; i++)
        if (f->clouds[i].pid)
            fprintf(out, "  server cloud%d 127.0.0.1:%d\n", i, f->clouds[i].port);
    fclose(out);
    const char *argv[] = {HAPROXY, "-db", "-f", cfg, NULL};
    f->haproxy = spawn(argv, log);
    if (f->haproxy < 0 || !wait_tcp(f->lb_port, 5000)) {
        fprintf(stderr, "clusterfix: haproxy did not start (see %s)\n", log);
        kill_reap(&f->haproxy);
        return -1;
    }
    return 0;
}

int clusterfix_start(struct clusterfix *f, const char *const *extra)
{
    memset(f, 0, sizeof *f);
    if (clusterfix_redis_start(f) != 0)
        return -1;
    for (int i = 0; i < CLUSTERFIX_INSTANCES; i++)
        if (clusterfix_cloud_start(f, i, extra) != 0) {
            clusterfix_stop(f);
            return -1;
        }
    for (int i = 0; i < CLUSTERFIX_INSTANCES; i++)
        if (!clusterfix_wait_body(f->clouds[i].port, "/health", "\"status\":\"ok\"", 5000)) {
            fprintf(stderr, "clusterfix: instance %d never connected to Redis\n", i);
            clusterfix_stop(f);
            return -1;
        }
    return 0;
}

int clusterfix_stop(struct clusterfix *f)
{
    int rc = 0;
    for (int i = 0; i < CLUSTERFIX_INSTANCES; i++) {
        if (!f->clouds[i].pid)
            continue;
        int st = harness_stop(&f->clouds[i]);
        if (st != 0) {
            fprintf(stderr, "clusterfix: instance %d exited with %d\n", i, st);
            rc = -1;
        }
    }
    kill_reap(&f->haproxy);
    kill_reap(&f->redis);
    if (*f->dir) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "clusterfix: could not remove %s\n", f->dir);
        *f->dir = '\0';
    }
    return rc;
}

bool clusterfix_wait_body(int port, const char *path, const char *needle, int timeout_ms)
{
    long end = now_ms() + timeout_ms;
    do {
        struct http_response r;
        if (http_request(port, "GET", path, NULL, NULL, 1000, &r) == 0) {
            bool found = r.status == 200 && r.body && strstr(r.body, needle);
            http_response_free(&r);
            if (found)
                return true;
        }
        usleep(100 * 1000);
    } while (now_ms() < end);
    return false;
}
