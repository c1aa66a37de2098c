/* harness.c - runs porthole-cloud for integration tests, and shared protocol steps. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define START_TIMEOUT_MS 5000
#define STOP_TIMEOUT_MS 5000
#define MAX_ARGS 64

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Returns a loopback port that was free a moment ago, or -1. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

/* Decodes a waitpid status as harness_stop() reports it. */
static int exit_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

/* Appends the NULL-terminated args (or none) to argv at *n and ends it
 * with NULL. Returns 0, or -1 (said on stderr) when MAX_ARGS is too few. */
static int append_args(const char **argv, size_t *n, const char *const *args)
{
    for (size_t i = 0; args && args[i]; i++) {
        if (*n + 1 >= MAX_ARGS) {
            fprintf(stderr, "harness: too many arguments\n");
            return -1;
        }
        argv[(*n)++] = args[i];
    }
    argv[*n] = NULL;
    return 0;
}

/* Starts bin with argv (NULL-terminated, argv[0] included) as a child that
 * dies with the test process, whatever way that goes. Returns its pid, or
 * -1 with the reason on stderr. */
static pid_t spawn(const char *bin, const char *const *argv)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "harness: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(bin, (char *const *)argv);
        fprintf(stderr, "harness: cannot run %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    return pid;
}

int harness_start(struct cloud *cloud, const char *const *args)
{
    memset(cloud, 0, sizeof *cloud);
    const char *bin = getenv("PORTHOLE_CLOUD");
    if (!bin || !*bin) {
        fprintf(stderr, "harness: PORTHOLE_CLOUD is not set (path of porthole-cloud)\n");
        return -1;
    }
    /* A "--port N" (or "--port=N") in args chooses the port, so that a test
     * can restart the server where its clients expect it. */
    int port = 0;
    for (size_t i = 0; args && args[i]; i++) {
        if (strcmp(args[i], "--port") == 0 && args[i + 1])
            port = atoi(args[i + 1]);
        else if (strncmp(args[i], "--port=", 7) == 0)
            port = atoi(args[i] + 7);
    }
    if (port <= 0)
        port = free_port();
    if (port < 0) {
        fprintf(stderr, "harness: no free loopback port: %s\n", strerror(errno));
        return -1;
    }
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    const char *level = getenv("HARNESS_LOG_LEVEL");
    const char *web_root = getenv("PORTHOLE_WEB_ROOT");
    bool own_root = false;
    for (size_t i = 0; args && args[i]; i++)
        if (strcmp(args[i], "--web-root") == 0 || strncmp(args[i], "--web-root=", 11) == 0)
            own_root = true;

    const char *argv[MAX_ARGS];
    size_t n = 0;
    argv[n++] = bin;
    argv[n++] = "--bind";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--port"; /* a --port in args comes later and wins */
    argv[n++] = portstr;
    argv[n++] = "--log-level";
    argv[n++] = level && *level ? level : "warn";
    if (web_root && *web_root && !own_root) {
        argv[n++] = "--web-root";
        argv[n++] = web_root;
    }
    if (append_args(argv, &n, args) < 0)
        return -1;

    pid_t pid = spawn(bin, argv);
    if (pid < 0)
        return -1;
    cloud->pid = pid;
    cloud->port = port;

    int64_t deadline = wsc_now_ms() + START_TIMEOUT_MS;
    while (wsc_now_ms() < deadline) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            fprintf(stderr, "harness: porthole-cloud exited at start-up with status %d\n",
                    exit_code(status));
            cloud->pid = 0;
            return -1;
        }
        int fd = wsc_raw_connect(port, 200);
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        sleep_ms(10);
    }
    fprintf(stderr, "harness: porthole-cloud did not accept TCP on port %d within %d ms\n", port,
            START_TIMEOUT_MS);
    harness_kill(cloud);
    return -1;
}

int harness_wait_exit(struct cloud *cloud, int timeout_ms)
{
    if (cloud->pid <= 0)
        return 0;
    int64_t deadline = wsc_now_ms() + timeout_ms;
    for (;;) {
        int status;
        pid_t r = waitpid(cloud->pid, &status, WNOHANG);
        if (r == cloud->pid || (r < 0 && errno != EINTR)) {
            cloud->pid = 0;
            return r > 0 ? exit_code(status) : -1;
        }
        if (wsc_now_ms() >= deadline)
            return -2;
        sleep_ms(5);
    }
}

int harness_stop(struct cloud *cloud)
{
    if (cloud->pid <= 0)
        return 0;
    kill(cloud->pid, SIGTERM);
    int code = harness_wait_exit(cloud, STOP_TIMEOUT_MS);
    if (code != -2)
        return code;
    fprintf(stderr, "harness: porthole-cloud (pid %d) still running %d ms after SIGTERM; "
                    "killing it\n", (int)cloud->pid, STOP_TIMEOUT_MS);
    harness_kill(cloud);
    return -1;
}

/* Appends what is readable on fd to *buf (*len bytes so far). Returns false
 * at EOF or error. */
static bool drain_fd(int fd, char **buf, size_t *len)
{
    char tmp[4096];
    ssize_t n = read(fd, tmp, sizeof tmp);
    if (n < 0 && errno == EINTR)
        return true;
    if (n <= 0)
        return false;
    char *nb = realloc(*buf, *len + (size_t)n + 1);
    if (!nb)
        return false;
    memcpy(nb + *len, tmp, (size_t)n);
    *len += (size_t)n;
    nb[*len] = '\0';
    *buf = nb;
    return true;
}

int harness_run(const char *const *args, int timeout_ms, char **out, char **err)
{
    const char *bin = getenv("PORTHOLE_CLOUD");
    if (!bin || !*bin) {
        fprintf(stderr, "harness: PORTHOLE_CLOUD is not set (path of porthole-cloud)\n");
        return -1;
    }
    const char *argv[MAX_ARGS];
    size_t n = 0;
    argv[n++] = bin;
    for (size_t i = 0; args && args[i] && n + 1 < MAX_ARGS; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(pe, O_CLOEXEC) != 0) {
        close(po[0]);
        close(po[1]);
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(po[1], 1);
        dup2(pe[1], 2);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    char *bufs[2] = {NULL, NULL};
    size_t lens[2] = {0, 0};
    bool open_fd[2] = {pid > 0, pid > 0};
    int fds[2] = {po[0], pe[0]};
    int64_t deadline = wsc_now_ms() + timeout_ms;
    while ((open_fd[0] || open_fd[1]) && wsc_now_ms() < deadline) {
        struct pollfd p[2] = {{.fd = open_fd[0] ? fds[0] : -1, .events = POLLIN},
                              {.fd = open_fd[1] ? fds[1] : -1, .events = POLLIN}};
        int64_t left = deadline - wsc_now_ms();
        if (poll(p, 2, (int)(left > 0 ? left : 0)) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++)
            if (p[i].revents && !drain_fd(fds[i], &bufs[i], &lens[i]))
                open_fd[i] = false;
    }
    close(fds[0]);
    close(fds[1]);
    int code = -1;
    if (pid > 0) {
        struct cloud c = {.pid = pid};
        int64_t left = deadline - wsc_now_ms();
        code = harness_wait_exit(&c, (int)(left > 0 ? left : 0));
        if (code == -2) {
            fprintf(stderr, "harness: porthole-cloud still running after %d ms; killing it\n",
                    timeout_ms);
            harness_kill(&c);
            code = -1;
        }
    }
    for (int i = 0; i < 2; i++) {
        char **dst = i == 0 ? out : err;
        if (dst)
            *dst = bufs[i] ? bufs[i] : strdup("");
        else
            free(bufs[i]);
    }
    return code;
}

void harness_kill(struct cloud *cloud)
{
    if (cloud->pid <= 0)
        return;
    kill(cloud->pid, SIGKILL);
    while (waitpid(cloud->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    cloud->pid = 0;
}

/* ---- other child processes ---- */

int harness_start_robot(struct proc *p, const char *const *args)
{
    memset(p, 0, sizeof *p);
    const char *bin = getenv("PORTHOLE_ROBOT");
    if (!bin || !*bin) {
        fprintf(stderr, "harness: PORTHOLE_ROBOT is not set (path of porthole-robot)\n");
        return -1;
    }
    const char *argv[MAX_ARGS];
    size_t n = 0;
    argv[n++] = bin;
    if (append_args(argv, &n, args) < 0)
        return -1;
    pid_t pid = spawn(bin, argv);
    if (pid < 0)
        return -1;
    p->pid = pid;
    return 0;
}

bool harness_proc_alive(struct proc *p)
{
    if (p->pid <= 0)
        return false;
    int status;
    pid_t r = waitpid(p->pid, &status, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR))
        return true;
    p->status = r == p->pid ? exit_code(status) : -1;
    p->pid = 0;
    return false;
}

int harness_proc_wait_exit(struct proc *p, int timeout_ms)
{
    int64_t deadline = wsc_now_ms() + timeout_ms;
    for (;;) {
        if (!harness_proc_alive(p))
            return p->status;
        if (wsc_now_ms() >= deadline)
            return -2;
        sleep_ms(5);
    }
}

int harness_proc_stop(struct proc *p, int timeout_ms)
{
    if (!harness_proc_alive(p))
        return p->status;
    kill(p->pid, SIGTERM);
    int code = harness_proc_wait_exit(p, timeout_ms);
    if (code != -2)
        return code;
    fprintf(stderr, "harness: pid %d still running %d ms after SIGTERM; killing it\n",
            (int)p->pid, timeout_ms);
    harness_proc_kill(p);
    p->status = -1;
    return -1;
}

void harness_proc_kill(struct proc *p)
{
    if (p->pid <= 0)
        return;
    kill(p->pid, SIGKILL);
    int status = 0;
    while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
        ;
    p->status = exit_code(status);
    p->pid = 0;
}

bool harness_robot_listed(int port, const char *robot_id, int timeout_ms)
{
    int64_t deadline = wsc_now_ms() + timeout_ms;
    do {
        struct http_response resp;
        if (http_get(port, "/robots", &resp) == 0) {
            json_t *list = resp.status == 200 ? json_loads(resp.body, 0, NULL) : NULL;
            http_response_free(&resp);
            size_t i;
            json_t *r;
            bool found = false;
            json_array_foreach(list, i, r) {
                const char *id = json_string_value(json_object_get(r, "robotId"));
                if (id && strcmp(id, robot_id) == 0)
                    found = true;
            }
            json_decref(list);
            if (found)
                return true;
        }
        sleep_ms(50);
    } while (wsc_now_ms() < deadline);
    return false;
}

int harness_setup(void **state)
{
    struct harness_fixture *fx = *state;
    return harness_start(&fx->cloud, fx->args);
}

int harness_teardown(void **state)
{
    struct harness_fixture *fx = *state;
    wsc_abort_all(); /* what a failed test left open */
    int code = harness_stop(&fx->cloud);
    if (code != 0) {
        fprintf(stderr, "harness: porthole-cloud did not exit cleanly after SIGTERM: %s %d\n",
                code > 128 ? "signal" : "status", code > 128 ? code - 128 : code);
        return -1;
    }
    return 0;
}

int harness_port(void **state)
{
    const struct harness_fixture *fx = *state;
    return fx->cloud.port;
}

const char *harness_name(const char *prefix)
{
    /* A ring of buffers: names stay valid for the next 256 calls, which is
     * more than any test keeps. No allocation, nothing to free. */
    static char names[256][48];
    static unsigned counter;
    char *out = names[counter % 256];
    snprintf(out, sizeof names[0], "%s-%u", prefix, ++counter);
    return out;
}

/* ---- protocol steps ---- */

#define FAIL_AT(file, line, ...)          \
    do {                                  \
        print_error(__VA_ARGS__);         \
        print_error("\n");                \
        _fail((file), (line));            \
    } while (0)

void harness_assert_str_(const json_t *j, const char *key, const char *want, const char *file,
                         int line)
{
    const char *got = json_string_value(json_object_get(j, key));
    if (!got || strcmp(got, want) != 0) {
        char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        print_error("field '%s' is %s%s%s, expected \"%s\" in %s\n", key, got ? "\"" : "",
                    got ? got : "missing or not a string", got ? "\"" : "", want,
                    text ? text : "(null)");
        free(text);
        _fail(file, line);
    }
}

json_t *harness_expect_next_(struct wsc *c, const char *type, const char *file, int line)
{
    json_t *j = wsc_recv_json(c, HARNESS_WAIT_MS);
    if (!j)
        FAIL_AT(file, line, "expected a '%s' message, got none", type);
    const char *t = json_string_value(json_object_get(j, "type"));
    if (!t || strcmp(t, type) != 0) {
        char *text = json_dumps(j, JSON_COMPACT);
        print_error("expected a '%s' message, got %s\n", type, text ? text : "?");
        free(text);
        json_decref(j);
        _fail(file, line);
    }
    return j;
}

json_t *harness_expect_error_(struct wsc *c, const char *code, const char *request_type,
                              const char *file, int line)
{
    json_t *j = harness_expect_next_(c, "error", file, line);
    harness_assert_str_(j, "code", code, file, line);
    const char *msg = json_string_value(json_object_get(j, "message"));
    if (!msg || !*msg)
        FAIL_AT(file, line, "error '%s' without a message: %s", code, wsc_last_text(c));
    json_t *rt = json_object_get(j, "requestType");
    if (request_type)
        harness_assert_str_(j, "requestType", request_type, file, line);
    else if (rt)
        FAIL_AT(file, line, "error '%s' has a requestType but none was readable: %s", code,
                wsc_last_text(c));
    return j;
}

void harness_expect_silence_(struct wsc *c, const char *file, int line)
{
    if (!wsc_expect_silence(c, HARNESS_SILENCE_MS))
        FAIL_AT(file, line, "expected nothing within %d ms", HARNESS_SILENCE_MS);
}

struct wsc *harness_robot_(int port, const char *robot_id, const char *device_info_json,
                           const char *file, int line)
{
    struct wsc *c = wsc_connect(port, "/ws", HARNESS_WAIT_MS);
    if (!c)
        FAIL_AT(file, line, "robot %s: cannot open a WebSocket on port %d", robot_id, port);
    json_t *reg = json_pack("{s:s, s:s}", "type", "robot-register", "robotId", robot_id);
    if (device_info_json) {
        json_t *info = json_loads(device_info_json, 0, NULL);
        if (!info)
            FAIL_AT(file, line, "bad deviceInfo JSON in the test: %s", device_info_json);
        json_object_set_new(reg, "deviceInfo", info);
    }
    if (wsc_send_json(c, reg) != 0)
        FAIL_AT(file, line, "robot %s: cannot send robot-register", robot_id);
    json_t *r = harness_expect_next_(c, "registered", file, line);
    harness_assert_str_(r, "robotId", robot_id, file, line);
    json_decref(r);
    return c;
}

struct wsc *harness_client_(int port, const char *client_id, json_t **available,
                            const char *file, int line)
{
    struct wsc *c = wsc_connect(port, "/ws", HARNESS_WAIT_MS);
    if (!c)
        FAIL_AT(file, line, "client: cannot open a WebSocket on port %d", port);
    int rc = client_id ? wsc_sendf(c, "{\"type\":\"client-register\",\"clientId\":\"%s\"}",
                                   client_id)
                       : wsc_send_text(c, "{\"type\":\"client-register\"}");
    if (rc != 0)
        FAIL_AT(file, line, "client: cannot send client-register");
    json_t *r = harness_expect_next_(c, "available-robots", file, line);
    if (client_id)
        harness_assert_str_(r, "clientId", client_id, file, line);
    if (!json_is_array(json_object_get(r, "robots")))
        FAIL_AT(file, line, "available-robots without a robots array: %s", wsc_last_text(c));
    if (available)
        *available = r;
    else
        json_decref(r);
    return c;
}

char *harness_open_session_(struct wsc *client, struct wsc *robot, const char *robot_id,
                            const char *file, int line)
{
    if (wsc_sendf(client, "{\"type\":\"create-session\",\"robotId\":\"%s\","
                          "\"streamTypes\":[\"color\"]}", robot_id) != 0)
        FAIL_AT(file, line, "cannot send create-session");
    json_t *created = harness_expect_next_(client, "session-created", file, line);
    harness_assert_str_(created, "robotId", robot_id, file, line);
    const char *sid = json_string_value(json_object_get(created, "sessionId"));
    if (!sid)
        FAIL_AT(file, line, "session-created without a sessionId: %s", wsc_last_text(client));
    char *out = strdup(sid);
    json_decref(created);
    json_t *cs = harness_expect_next_(robot, "create-session", file, line);
    harness_assert_str_(cs, "sessionId", out, file, line);
    json_decref(cs);
    return out;
}

json_t *harness_health_(int port, const char *file, int line)
{
    struct http_response r;
    if (http_get(port, "/health", &r) != 0)
        FAIL_AT(file, line, "GET /health failed");
    if (r.status != 200) {
        print_error("GET /health: HTTP %d: %s\n", r.status, r.body);
        http_response_free(&r);
        _fail(file, line);
    }
    json_error_t err;
    json_t *j = json_loads(r.body, 0, &err);
    if (!json_is_object(j)) {
        print_error("GET /health: not a JSON object: %s\n", r.body);
        json_decref(j);
        http_response_free(&r);
        _fail(file, line);
    }
    http_response_free(&r);
    return j;
}

void harness_wait_count_(int port, const char *field, long want, int timeout_ms,
                         const char *file, int line)
{
    int64_t deadline = wsc_now_ms() + timeout_ms;
    long got = -1;
    for (;;) {
        json_t *h = harness_health_(port, file, line);
        json_t *v = json_object_get(h, field);
        got = json_is_integer(v) ? (long)json_integer_value(v) : -1;
        json_decref(h);
        if (got == want)
            return;
        if (wsc_now_ms() >= deadline)
            break;
        sleep_ms(20);
    }
    FAIL_AT(file, line, "/health %s is %ld, expected %ld within %d ms", field, got, want,
            timeout_ms);
}

void harness_check_alive_(int port, const char *file, int line)
{
    json_t *h = harness_health_(port, file, line);
    harness_assert_str_(h, "status", "ok", file, line);
    json_decref(h);

    const char *rid = harness_name("alive-robot");
    struct wsc *robot = harness_robot_(port, rid, NULL, file, line);
    struct wsc *client = harness_client_(port, NULL, NULL, file, line);
    char *sid = harness_open_session_(client, robot, rid, file, line);
    wsc_sendf(robot, "{\"type\":\"webrtc-offer\",\"sessionId\":\"%s\","
                     "\"offer\":{\"type\":\"offer\",\"sdp\":\"v=0 alive\"}}", sid);
    json_t *m = harness_expect_next_(client, "webrtc-offer", file, line);
    json_decref(m);
    wsc_sendf(client, "{\"type\":\"webrtc-answer\",\"sessionId\":\"%s\","
                      "\"answer\":{\"type\":\"answer\",\"sdp\":\"v=0 alive\"}}", sid);
    m = harness_expect_next_(robot, "webrtc-answer", file, line);
    json_decref(m);
    wsc_sendf(client, "{\"type\":\"close-session\",\"sessionId\":\"%s\"}", sid);
    m = harness_expect_next_(client, "session-closed", file, line);
    json_decref(m);
    m = harness_expect_next_(robot, "session-closed", file, line);
    json_decref(m);
    free(sid);
    wsc_close(client);
    wsc_close(robot);
}

bool harness_is_recent_iso8601(const char *s, int max_skew_s)
{
    if (!s)
        return false;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int used = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6 || used != 19)
        return false;
    for (int i = 0; i < 19; i++) {
        bool sep = i == 4 || i == 7 || i == 10 || i == 13 || i == 16;
        if (!sep && (s[i] < '0' || s[i] > '9'))
            return false;
    }
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (strcmp(p, "Z") != 0)
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    time_t now = time(NULL);
    return t != (time_t)-1 && t <= now + max_skew_s && t >= now - max_skew_s;
}
