/* test_robot_signaling.c - the robot's signaling link (src/robot/signaling.c)
 * against the real porthole-cloud and against a scripted fake server:
 * registering, reconnecting after the cloud restarts, retrying forever,
 * dropping bad messages, detecting a silent link, and freeing cleanly at
 * any point. Every wait is bounded. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib.h>

#include "common/log.h"
#include "harness.h"
#include "robot/signaling.h"

/* ---- a probe: counts what the link reports ---- */

struct probe {
    struct signaling *s;
    const char *robot_id; /* sent in robot-register on open, or NULL */
    int opened, closed, registered, messages;
    char last_type[64];
};

static void probe_on_open(void *user)
{
    struct probe *p = user;
    p->opened++;
    if (p->robot_id != NULL) {
        json_t *reg = json_pack("{s:s, s:s}", "type", "robot-register", "robotId", p->robot_id);
        assert_true(signaling_send(p->s, reg));
        json_decref(reg);
    }
}

static void probe_on_message(void *user, json_t *msg)
{
    struct probe *p = user;
    p->messages++;
    const char *type = json_string_value(json_object_get(msg, "type"));
    assert_non_null(type); /* signaling.c lets only objects with a string type through */
    snprintf(p->last_type, sizeof p->last_type, "%s", type);
    const char *rid = json_string_value(json_object_get(msg, "robotId"));
    if (strcmp(type, "registered") == 0 && p->robot_id != NULL && rid != NULL &&
        strcmp(rid, p->robot_id) == 0) {
        p->registered++;
        signaling_registered(p->s);
    }
}

static void probe_on_close(void *user)
{
    struct probe *p = user;
    p->closed++;
}

static const struct signaling_callbacks probe_callbacks = {
    .on_open = probe_on_open,
    .on_message = probe_on_message,
    .on_close = probe_on_close,
};

static void probe_start_tls(struct probe *p, const char *url, unsigned ping_s,
                            size_t max_message, bool tls_insecure)
{
    struct signaling_params params = {
        .url = url,
        .backoff_initial_s = 0.05,
        .backoff_max_s = 0.5,
        .ping_interval_s = ping_s,
        .max_message = max_message,
        .tls_insecure = tls_insecure,
    };
    p->s = signaling_new(&params, &probe_callbacks, p);
    assert_non_null(p->s);
    assert_int_equal(signaling_state(p->s), SIGNALING_IDLE);
    signaling_start(p->s);
}

static void probe_start(struct probe *p, const char *url, unsigned ping_s, size_t max_message)
{
    probe_start_tls(p, url, ping_s, max_message, false);
}

/* ---- running the main loop for a bounded time ---- */

static gboolean tick(gpointer unused)
{
    (void)unused;
    return G_SOURCE_CONTINUE;
}

/* Runs the default main context until pred(p) holds or ms pass. Returns
 * pred(p). */
static bool wait_for(bool (*pred)(const struct probe *), const struct probe *p, int ms)
{
    GSource *t = g_timeout_source_new(10);
    g_source_set_callback(t, tick, NULL, NULL);
    g_source_attach(t, NULL);
    gint64 deadline = g_get_monotonic_time() + (gint64)ms * 1000;
    while ((pred == NULL || !pred(p)) && g_get_monotonic_time() < deadline)
        g_main_context_iteration(NULL, TRUE);
    g_source_destroy(t);
    g_source_unref(t);
    return pred != NULL && pred(p);
}

/* Runs the main loop for ms whatever happens. */
static void pump(int ms)
{
    wait_for(NULL, NULL, ms);
}

static bool registered_once(const struct probe *p) { return p->registered >= 1; }
static bool registered_twice(const struct probe *p) { return p->registered >= 2; }
static bool opened_once(const struct probe *p) { return p->opened >= 1; }
static bool opened_twice(const struct probe *p) { return p->opened >= 2; }
static bool closed_once(const struct probe *p) { return p->closed >= 1; }
static bool messaged_once(const struct probe *p) { return p->messages >= 1; }
static bool three_attempts(const struct probe *p) { return signaling_attempts(p->s) >= 3; }
static bool connecting(const struct probe *p)
{
    return signaling_state(p->s) == SIGNALING_CONNECTING;
}

static void url_for_port(char *buf, size_t len, int port)
{
    snprintf(buf, len, "ws://127.0.0.1:%d/ws", port);
}

/* A loopback port nobody listens on (free a moment ago). */
static int unused_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* A loopback socket that listens but never accepts: connections sit in its
 * backlog, so a WebSocket handshake to it never completes. */
static int listen_only(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* ---- a fake server: accepts one WebSocket, sends scripted frames, then
 * stays silent (reads nothing, answers no ping) until stopped ---- */

struct fake_frame {
    int opcode; /* 1 text, 2 binary */
    const char *data;
    size_t len; /* 0: strlen(data) */
};

struct fake_server {
    int listen_fd, port;
    const struct fake_frame *frames;
    size_t nframes;
    pthread_t thread;
    int stop_pipe[2];
    int accepted; /* connections handshaken */
};

static bool write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* Reads the HTTP upgrade request on fd and answers 101. Returns false on
 * any problem. */
static bool fake_handshake(int fd)
{
    char req[4096];
    size_t len = 0;
    while (len + 1 < sizeof req) {
        ssize_t n = read(fd, req + len, sizeof req - 1 - len);
        if (n <= 0)
            return false;
        len += (size_t)n;
        req[len] = '\0';
        if (strstr(req, "\r\n\r\n") != NULL)
            break;
    }
    const char *key = strcasestr(req, "\r\nSec-WebSocket-Key:");
    if (key == NULL)
        return false;
    key += strlen("\r\nSec-WebSocket-Key:");
    while (*key == ' ')
        key++;
    size_t klen = strcspn(key, "\r\n ");
    char concat[256];
    snprintf(concat, sizeof concat, "%.*s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", (int)klen, key);
    GChecksum *sha = g_checksum_new(G_CHECKSUM_SHA1);
    g_checksum_update(sha, (const guchar *)concat, (gssize)strlen(concat));
    guint8 digest[20];
    gsize dlen = sizeof digest;
    g_checksum_get_digest(sha, digest, &dlen);
    g_checksum_free(sha);
    gchar *accept = g_base64_encode(digest, dlen);
    char resp[512];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
    g_free(accept);
    return write_all(fd, resp, (size_t)n);
}

static bool fake_send_frame(int fd, const struct fake_frame *f)
{
    size_t len = f->len != 0 ? f->len : strlen(f->data);
    uint8_t hdr[10];
    size_t h = 0;
    hdr[h++] = (uint8_t)(0x80 | f->opcode);
    if (len < 126) {
        hdr[h++] = (uint8_t)len;
    } else {
        assert_true(len <= 0xFFFF);
        hdr[h++] = 126;
        hdr[h++] = (uint8_t)(len >> 8);
        hdr[h++] = (uint8_t)len;
    }
    return write_all(fd, hdr, h) && write_all(fd, f->data, len);
}

static void *fake_thread(void *arg)
{
    struct fake_server *fs = arg;
    int conns[8];
    int nconns = 0;
    for (;;) {
        struct pollfd p[2] = {{.fd = fs->listen_fd, .events = POLLIN},
                              {.fd = fs->stop_pipe[0], .events = POLLIN}};
        if (poll(p, 2, 100) < 0 && errno != EINTR)
            break;
        if (p[1].revents != 0)
            break;
        if (!(p[0].revents & POLLIN))
            continue;
        int fd = accept(fs->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        if (nconns == 8 || !fake_handshake(fd)) {
            close(fd);
            continue;
        }
        conns[nconns++] = fd;
        __atomic_add_fetch(&fs->accepted, 1, __ATOMIC_SEQ_CST);
        for (size_t i = 0; i < fs->nframes; i++)
            fake_send_frame(fd, &fs->frames[i]);
        /* Then silence: nothing is read, no ping is answered. */
    }
    for (int i = 0; i < nconns; i++)
        close(conns[i]);
    return NULL;
}

static void fake_start(struct fake_server *fs, const struct fake_frame *frames, size_t n)
{
    memset(fs, 0, sizeof *fs);
    fs->frames = frames;
    fs->nframes = n;
    fs->listen_fd = listen_only(&fs->port);
    assert_int_equal(pipe(fs->stop_pipe), 0);
    assert_int_equal(pthread_create(&fs->thread, NULL, fake_thread, fs), 0);
}

static void fake_stop(struct fake_server *fs)
{
    assert_int_equal(write(fs->stop_pipe[1], "x", 1), 1);
    pthread_join(fs->thread, NULL);
    close(fs->stop_pipe[0]);
    close(fs->stop_pipe[1]);
    close(fs->listen_fd);
}

/* ---- tests against porthole-cloud ---- */

static void test_registers_and_reconnects_after_the_cloud_restarts(void **state)
{
    (void)state;
    struct cloud cloud;
    assert_int_equal(harness_start(&cloud, NULL), 0);
    char url[64], port[16];
    url_for_port(url, sizeof url, cloud.port);
    snprintf(port, sizeof port, "%d", cloud.port);

    struct probe p = {.robot_id = harness_name("sig-robot")};
    probe_start(&p, url, 5, 65536);
    assert_true(wait_for(registered_once, &p, 15000));
    assert_int_equal(p.opened, 1);
    assert_int_equal(signaling_state(p.s), SIGNALING_OPEN);
    assert_int_equal(p.closed, 0);

    /* The cloud goes away: the link reports the close and starts retrying. */
    harness_stop(&cloud);
    assert_true(wait_for(closed_once, &p, 15000));
    assert_int_not_equal(signaling_state(p.s), SIGNALING_OPEN);
    unsigned attempts_before = signaling_attempts(p.s);

    /* While it is away the robot keeps trying. */
    pump(500);
    assert_true(signaling_attempts(p.s) >= attempts_before + 2);
    assert_int_equal(p.opened, 1);
    assert_int_not_equal(signaling_state(p.s), SIGNALING_OPEN);
    attempts_before = signaling_attempts(p.s);

    /* It comes back on the same port: the robot is back within a bound set
     * by the 0.5 s backoff cap. */
    const char *const args[] = {"--port", port, NULL};
    assert_int_equal(harness_start(&cloud, args), 0);
    assert_int_equal(cloud.port, atoi(port));
    assert_true(wait_for(registered_twice, &p, 15000));
    assert_int_equal(p.opened, 2);
    assert_int_equal(p.closed, 1);
    /* (An attempt begun while the cloud was away may be the one that
     * succeeds: its TCP connect can go out after the restart.) */
    assert_true(signaling_attempts(p.s) >= attempts_before);

    /* Freeing an open link says goodbye: the cloud sees the robot leave. */
    signaling_free(p.s);
    pump(300);
    harness_wait_count(cloud.port, "robots", 0, 3000);
    assert_int_equal(p.closed, 1); /* no callback during or after free */
    assert_int_equal(harness_stop(&cloud), 0);
}

static void test_send_fails_while_the_link_is_down(void **state)
{
    (void)state;
    char url[64];
    url_for_port(url, sizeof url, unused_port());
    struct signaling_params params = {url, 0.05, 0.5, 5, 65536, false};
    struct signaling *s = signaling_new(&params, &probe_callbacks, NULL);
    json_t *m = json_pack("{s:s}", "type", "robot-register");
    assert_false(signaling_send(s, m));
    json_decref(m);
    signaling_free(s);
    signaling_free(NULL);
}

/* A throwaway self-signed certificate for 127.0.0.1 in a new directory
 * (dir, at least 64 bytes); cert and key get the file paths. */
static void make_certificate(char *dir, char *cert, char *key, size_t len)
{
    snprintf(dir, 64, "/tmp/porthole-sigtls-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(cert, len, "%s/cert.pem", dir);
    snprintf(key, len, "%s/key.pem", dir);
    const char *argv[] = {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                          "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                          "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
                          key, "-out", cert, NULL};
    gint status = -1;
    GError *gerr = NULL;
    gboolean ran = g_spawn_sync(NULL, (gchar **)argv, NULL,
                                G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
                                    G_SPAWN_STDERR_TO_DEV_NULL,
                                NULL, NULL, NULL, NULL, &status, &gerr);
    if (!ran)
        fail_msg("cannot run openssl: %s", gerr->message);
    assert_true(g_spawn_check_wait_status(status, NULL));
}

static void test_wss_needs_a_trusted_certificate_unless_tls_insecure(void **state)
{
    (void)state;
    char dir[64], cert[128], key[128];
    make_certificate(dir, cert, key, sizeof cert);
    const char *const args[] = {"--tls-cert", cert, "--tls-key", key, NULL};
    struct cloud cloud;
    assert_int_equal(harness_start(&cloud, args), 0);
    char url[64];
    snprintf(url, sizeof url, "wss://127.0.0.1:%d/ws", cloud.port);

    /* The certificate is self-signed: refused, and retried. */
    struct probe strict = {.robot_id = harness_name("tls-strict")};
    probe_start_tls(&strict, url, 5, 65536, false);
    assert_true(wait_for(three_attempts, &strict, 15000));
    assert_int_equal(strict.opened, 0);
    signaling_free(strict.s);

    /* tls_insecure accepts it. */
    struct probe lax = {.robot_id = harness_name("tls-lax")};
    probe_start_tls(&lax, url, 5, 65536, true);
    assert_true(wait_for(registered_once, &lax, 15000));
    signaling_free(lax.s);
    pump(300); /* (harness's /health check speaks plain HTTP only) */

    assert_int_equal(harness_stop(&cloud), 0);
    unlink(cert);
    unlink(key);
    rmdir(dir);
}

/* ---- tests against nothing, or a server that never answers ---- */

static void test_unreachable_cloud_is_retried_again_and_again(void **state)
{
    (void)state;
    char url[64];
    url_for_port(url, sizeof url, unused_port());
    struct probe p = {.robot_id = "never"};
    probe_start(&p, url, 5, 65536);
    assert_true(wait_for(three_attempts, &p, 15000));
    assert_int_equal(p.opened, 0);
    assert_int_equal(p.closed, 0);
    assert_int_not_equal(signaling_state(p.s), SIGNALING_OPEN);
    signaling_free(p.s);
    pump(100);
}

static void test_free_during_a_pending_connect_fires_nothing(void **state)
{
    (void)state;
    int port;
    int fd = listen_only(&port);
    char url[64];
    url_for_port(url, sizeof url, port);
    struct probe p = {.robot_id = "pending"};
    probe_start(&p, url, 5, 65536);
    assert_true(wait_for(connecting, &p, 5000));
    pump(300); /* TCP is up, the HTTP answer never comes */
    assert_int_equal(signaling_state(p.s), SIGNALING_CONNECTING);
    assert_int_equal(signaling_attempts(p.s), 1);
    signaling_free(p.s);
    pump(300); /* the cancelled handshake completes here, touching nothing freed */
    assert_int_equal(p.opened + p.closed + p.messages, 0);
    close(fd);
}

/* ---- tests against the fake server ---- */

static const char big_text[] =
    "{\"type\":\"big\",\"pad\":\""
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "\"}";

static void test_only_objects_with_a_string_type_reach_on_message(void **state)
{
    (void)state;
    static const struct fake_frame frames[] = {
        {1, "not json", 0},
        {1, "[1,2,3]", 0},
        {1, "{\"kind\":\"x\"}", 0},
        {1, "{\"type\":7}", 0},
        {2, "\x01\x02\x03", 3},
        {1, "{\"type\":\"hello\",\"n\":1}", 0},
    };
    struct fake_server fs;
    fake_start(&fs, frames, sizeof frames / sizeof frames[0]);
    char url[64];
    url_for_port(url, sizeof url, fs.port);
    struct probe p = {0};
    probe_start(&p, url, 60, 65536);
    assert_true(wait_for(messaged_once, &p, 10000));
    pump(200);
    assert_int_equal(p.messages, 1);
    assert_string_equal(p.last_type, "hello");
    assert_int_equal(p.closed, 0);
    signaling_free(p.s);
    pump(100);
    fake_stop(&fs);
}

static void test_message_larger_than_max_message_closes_the_link(void **state)
{
    (void)state;
    static const struct fake_frame frames[] = {{1, big_text, 0}};
    struct fake_server fs;
    fake_start(&fs, frames, 1);
    char url[64];
    url_for_port(url, sizeof url, fs.port);
    struct probe p = {0};
    probe_start(&p, url, 60, 200); /* big_text is about 300 bytes */
    assert_true(wait_for(closed_once, &p, 10000)); /* long before the 120 s ping timeout */
    assert_int_equal(p.opened, 1);
    assert_int_equal(p.messages, 0);
    signaling_free(p.s);
    pump(100);
    fake_stop(&fs);
}

static void test_silent_link_is_dropped_after_twice_the_ping_interval(void **state)
{
    (void)state;
    struct fake_server fs;
    fake_start(&fs, NULL, 0);
    char url[64];
    url_for_port(url, sizeof url, fs.port);
    struct probe p = {0};
    probe_start(&p, url, 1, 65536);
    assert_true(wait_for(opened_once, &p, 10000));
    gint64 opened_at = g_get_monotonic_time();
    assert_true(wait_for(closed_once, &p, 15000));
    double after_s = (double)(g_get_monotonic_time() - opened_at) / 1e6;
    /* Pings went unanswered; the link is given 2 x 1 s, then dropped (the
     * watchdog checks every 0.25 s). Only the lower bound is asserted: a
     * loaded machine fires timers late, never early. */
    assert_true(after_s >= 1.8);
    /* And reconnects: the fake server accepts again. */
    assert_true(wait_for(opened_twice, &p, 10000));
    signaling_free(p.s);
    pump(100);
    fake_stop(&fs);
}

int main(void)
{
    const char *level = getenv("HARNESS_LOG_LEVEL");
    enum log_level l = LOGL_INFO;
    if (level != NULL)
        log_level_parse(level, &l);
    log_setup(l, LOG_FORMAT_TEXT, "robot");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registers_and_reconnects_after_the_cloud_restarts),
        cmocka_unit_test(test_send_fails_while_the_link_is_down),
        cmocka_unit_test(test_wss_needs_a_trusted_certificate_unless_tls_insecure),
        cmocka_unit_test(test_unreachable_cloud_is_retried_again_and_again),
        cmocka_unit_test(test_free_during_a_pending_connect_fires_nothing),
        cmocka_unit_test(test_only_objects_with_a_string_type_reach_on_message),
        cmocka_unit_test(test_message_larger_than_max_message_closes_the_link),
        cmocka_unit_test(test_silent_link_is_dropped_after_twice_the_ping_interval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
