/* signaling.c - the robot's WebSocket link to porthole-cloud (libsoup 3),
 * reconnecting forever with backoff.
 *
 * Dead links are found two ways, neither needing libsoup newer than 3.2:
 * - a watchdog timer drops the link when nothing (no message, no pong to
 *   our keepalive pings) arrived for 2 x ping_interval;
 * - the socket gets TCP keepalive and TCP_USER_TIMEOUT of 2 x ping_interval,
 *   so the kernel also fails a connection whose pings go unacknowledged. */
#include "robot/signaling.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib.h>
#include <libsoup/soup.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "robot/backoff.h"

struct signaling {
    char *url;
    struct signaling_params params; /* params.url points to url */
    struct signaling_callbacks cb;
    void *user;
    GMainContext *ctx;
    SoupSession *session;
    struct backoff backoff;
    enum signaling_state state;
    unsigned attempts;

    struct signaling_connect *pending; /* the handshake in flight, or NULL */
    SoupWebsocketConnection *conn;     /* the open link, or NULL */
    GSource *retry;                    /* the reconnect timer, or NULL */
    GSource *watchdog;                 /* the dead-link check while open, or NULL */
    gint64 last_rx_us;                 /* monotonic time of the last frame received */
    char reason[160];                  /* why the open link is going down */

    unsigned busy;  /* callbacks running: signaling_free defers the free */
    bool freed;     /* signaling_free was called */
};

/* One handshake. It outlives s when signaling_free cancels it: the
 * completion callback then only cleans up and never touches s. */
struct signaling_connect {
    struct signaling *s; /* NULL once cancelled */
    GCancellable *cancel;
    SoupMessage *msg;
};

static void signaling_connect_now(struct signaling *s);

/* ---- callbacks into the user, safe against signaling_free inside them ---- */

static void signaling_destroy(struct signaling *s)
{
    g_main_context_unref(s->ctx);
    g_free(s->url);
    g_free(s);
}

/* Marks a user callback as running. */
static void signaling_enter(struct signaling *s)
{
    s->busy++;
}

/* Ends a callback. Returns false when s was freed meanwhile (and is gone
 * now): the caller must not touch it. */
static bool signaling_leave(struct signaling *s)
{
    s->busy--;
    if (!s->freed)
        return true;
    if (s->busy == 0)
        signaling_destroy(s);
    return false;
}

/* ---- timers ---- */

static void signaling_drop_source(GSource **src)
{
    if (*src != NULL) {
        g_source_destroy(*src);
        g_source_unref(*src);
        *src = NULL;
    }
}

static GSource *signaling_add_timer(struct signaling *s, guint ms, GSourceFunc fn)
{
    GSource *src = g_timeout_source_new(ms);
    g_source_set_callback(src, fn, s, NULL);
    g_source_attach(src, s->ctx);
    return src;
}

static gboolean signaling_retry_fired(gpointer data)
{
    struct signaling *s = data;
    g_source_unref(s->retry);
    s->retry = NULL;
    signaling_connect_now(s);
    return G_SOURCE_REMOVE;
}

/* Waits a backoff delay before the next attempt; logs one line saying
 * what happened (what, e.g. "disconnected from", and why) and the delay. */
static void signaling_schedule_retry(struct signaling *s, const char *what, const char *why)
{
    double delay = backoff_next(&s->backoff);
    s->state = SIGNALING_WAITING;
    log_info("signaling: %s %s (%s); reconnecting in %.*f s", what, s->url, why,
             delay < 1.0 ? 2 : 1, delay);
    signaling_drop_source(&s->retry);
    s->retry = signaling_add_timer(s, (guint)(delay * 1000.0 + 0.5), signaling_retry_fired);
}

/* ---- the open link ---- */

/* Finds the GSocket under a stream as libsoup hands it over: a SoupIOStream
 * ("base-iostream"), possibly a GTlsConnection ("base-io-stream"), then the
 * GSocketConnection. Returns NULL when the chain is something else. */
static GSocket *signaling_socket_of(GIOStream *io)
{
    for (int depth = 0; io != NULL && depth < 4; depth++) {
        if (G_IS_SOCKET_CONNECTION(io))
            return g_socket_connection_get_socket(G_SOCKET_CONNECTION(io));
        GObjectClass *klass = G_OBJECT_GET_CLASS(io);
        const char *prop = NULL;
        if (g_object_class_find_property(klass, "base-iostream") != NULL)
            prop = "base-iostream";
        else if (g_object_class_find_property(klass, "base-io-stream") != NULL)
            prop = "base-io-stream";
        if (prop == NULL)
            return NULL;
        GIOStream *base = NULL;
        g_object_get(io, prop, &base, NULL);
        if (base == NULL)
            return NULL;
        /* Borrowed below: the outer stream keeps its base alive. */
        g_object_unref(base);
        io = base;
    }
    return NULL;
}

/* Lets the kernel fail a connection that stops acknowledging: keepalive
 * probes after ping_interval of idleness, and TCP_USER_TIMEOUT so that
 * unacknowledged data (our pings) fails it after 2 x ping_interval. */
static void signaling_tune_socket(struct signaling *s)
{
    GSocket *sock = signaling_socket_of(soup_websocket_connection_get_io_stream(s->conn));
    if (sock == NULL) {
        log_debug("signaling: no TCP socket found under the connection; using the "
                  "watchdog alone");
        return;
    }
    int interval = (int)s->params.ping_interval_s;
    int probe = interval / 3 > 0 ? interval / 3 : 1;
    int user_timeout_ms = interval * 2000;
    GError *err = NULL;
    /* The session's I/O timeout bounds the handshake only: an open link
     * may be quiet between pings. */
    g_socket_set_timeout(sock, 0);
    g_socket_set_keepalive(sock, TRUE);
    if (!g_socket_set_option(sock, IPPROTO_TCP, TCP_KEEPIDLE, interval, &err) ||
        !g_socket_set_option(sock, IPPROTO_TCP, TCP_KEEPINTVL, probe, &err) ||
        !g_socket_set_option(sock, IPPROTO_TCP, TCP_KEEPCNT, 3, &err) ||
        !g_socket_set_option(sock, IPPROTO_TCP, TCP_USER_TIMEOUT, user_timeout_ms, &err)) {
        log_debug("signaling: cannot set TCP keepalive options: %s", err->message);
        g_clear_error(&err);
        return;
    }
    log_debug("signaling: TCP keepalive after %d s, user timeout %d ms", interval,
              user_timeout_ms);
}

static void signaling_on_pong(SoupWebsocketConnection *conn, GBytes *payload, gpointer data)
{
    (void)conn;
    (void)payload;
    struct signaling *s = data;
    s->last_rx_us = g_get_monotonic_time();
}

static void signaling_on_error(SoupWebsocketConnection *conn, GError *error, gpointer data)
{
    (void)conn;
    struct signaling *s = data;
    /* "closed" follows; its log line gives this as the reason. */
    if (s->reason[0] == '\0')
        g_snprintf(s->reason, sizeof s->reason, "%s", error->message);
    log_debug("signaling: link error: %s", error->message);
}

static void signaling_on_message(SoupWebsocketConnection *conn, gint type, GBytes *message,
                                 gpointer data)
{
    (void)conn;
    struct signaling *s = data;
    s->last_rx_us = g_get_monotonic_time();
    gsize size = 0;
    const char *bytes = g_bytes_get_data(message, &size);
    if (type != SOUP_WEBSOCKET_DATA_TEXT) {
        log_warn("signaling: ignored a binary frame of %zu bytes from the cloud", (size_t)size);
        return;
    }
    json_error_t jerr;
    json_t *msg = json_loadb(bytes != NULL ? bytes : "", size, 0, &jerr);
    if (msg == NULL) {
        log_warn("signaling: dropped a message that is not JSON (line %d column %d: %s)",
                 jerr.line, jerr.column, jerr.text);
        return;
    }
    if (!json_is_object(msg) || !json_is_string(json_object_get(msg, "type"))) {
        log_warn("signaling: dropped a message that is not an object with a string \"type\"");
        json_decref(msg);
        return;
    }
    if (s->cb.on_message != NULL) {
        signaling_enter(s);
        s->cb.on_message(s->user, msg);
        json_decref(msg);
        signaling_leave(s);
        return;
    }
    json_decref(msg);
}

/* Drops a link libsoup no longer needs us for: our handlers go, and a
 * link still open gets a close frame first. libsoup keeps the connection
 * alive until its close handshake ends (or times out); this drops our
 * reference when it emits "closed". */
static void signaling_orphan_closed(SoupWebsocketConnection *conn, gpointer unused)
{
    (void)unused;
    g_object_unref(conn);
}

static void signaling_release_conn(struct signaling *s, gushort code, const char *why)
{
    SoupWebsocketConnection *conn = s->conn;
    if (conn == NULL)
        return;
    s->conn = NULL;
    signaling_drop_source(&s->watchdog);
    g_signal_handlers_disconnect_by_data(conn, s);
    SoupWebsocketState st = soup_websocket_connection_get_state(conn);
    if (st == SOUP_WEBSOCKET_STATE_CLOSED) {
        g_object_unref(conn);
        return;
    }
    g_signal_connect(conn, "closed", G_CALLBACK(signaling_orphan_closed), NULL);
    if (st == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close(conn, code, why);
}

/* The open link went down (closed by the peer, failed, or found dead):
 * tells the user and schedules the next attempt. */
static void signaling_link_down(struct signaling *s, const char *why)
{
    char reason[sizeof s->reason];
    g_snprintf(reason, sizeof reason, "%s", why);
    s->reason[0] = '\0';
    signaling_schedule_retry(s, "disconnected from", reason);
    if (s->cb.on_close != NULL) {
        signaling_enter(s);
        s->cb.on_close(s->user);
        signaling_leave(s);
    }
}

static void signaling_on_closed(SoupWebsocketConnection *conn, gpointer data)
{
    struct signaling *s = data;
    char why[sizeof s->reason + 64];
    gushort code = soup_websocket_connection_get_close_code(conn);
    const char *text = soup_websocket_connection_get_close_data(conn);
    if (s->reason[0] != '\0')
        g_snprintf(why, sizeof why, "%s", s->reason);
    else if (code != 0 && text != NULL && text[0] != '\0')
        g_snprintf(why, sizeof why, "close %u \"%.64s\"", code, text);
    else if (code != 0)
        g_snprintf(why, sizeof why, "close %u", code);
    else
        g_snprintf(why, sizeof why, "connection lost");
    signaling_release_conn(s, 0, NULL);
    signaling_link_down(s, why);
}

/* Every quarter ping interval: a link that received nothing (no message,
 * no pong) for twice the interval is dead, however the TCP side looks. */
static gboolean signaling_watchdog_fired(gpointer data)
{
    struct signaling *s = data;
    gint64 silent_us = g_get_monotonic_time() - s->last_rx_us;
    gint64 limit_us = (gint64)s->params.ping_interval_s * 2 * G_USEC_PER_SEC;
    if (s->conn == NULL || silent_us <= limit_us)
        return G_SOURCE_CONTINUE;
    char why[96];
    g_snprintf(why, sizeof why, "nothing received for %.1f s", (double)silent_us / 1e6);
    /* The peer will not answer a close handshake; this is dropped at once
     * on our side (libsoup closes the socket after its close timeout). */
    g_source_unref(s->watchdog);
    s->watchdog = NULL;
    signaling_release_conn(s, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "no pong");
    signaling_link_down(s, why);
    return G_SOURCE_REMOVE;
}

/* ---- connecting ---- */

static gboolean signaling_accept_any_certificate(SoupMessage *msg, GTlsCertificate *cert,
                                                 GTlsCertificateFlags errors, gpointer data)
{
    (void)msg;
    (void)cert;
    (void)errors;
    (void)data;
    return TRUE;
}

static void signaling_connect_free(struct signaling_connect *c)
{
    g_object_unref(c->cancel);
    g_object_unref(c->msg);
    g_free(c);
}

static void signaling_connected(GObject *source, GAsyncResult *res, gpointer data)
{
    struct signaling_connect *c = data;
    GError *err = NULL;
    SoupWebsocketConnection *conn =
        soup_session_websocket_connect_finish(SOUP_SESSION(source), res, &err);
    struct signaling *s = c->s;
    if (s == NULL) {
        /* Cancelled by signaling_free: s is gone. */
        if (conn != NULL) {
            g_signal_connect(conn, "closed", G_CALLBACK(signaling_orphan_closed), NULL);
            soup_websocket_connection_close(conn, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
        }
        g_clear_error(&err);
        signaling_connect_free(c);
        return;
    }
    s->pending = NULL;
    if (conn == NULL) {
        char why[192];
        guint status = soup_message_get_status(c->msg);
        if (status != SOUP_STATUS_NONE && status != SOUP_STATUS_SWITCHING_PROTOCOLS)
            g_snprintf(why, sizeof why, "HTTP %u: %s", status, err->message);
        else
            g_snprintf(why, sizeof why, "%s", err->message);
        g_clear_error(&err);
        signaling_connect_free(c);
        signaling_schedule_retry(s, "cannot connect to", why);
        return;
    }
    signaling_connect_free(c);

    s->conn = conn;
    s->state = SIGNALING_OPEN;
    s->reason[0] = '\0';
    s->last_rx_us = g_get_monotonic_time();
    soup_websocket_connection_set_max_incoming_payload_size(conn, s->params.max_message);
    g_signal_connect(conn, "message", G_CALLBACK(signaling_on_message), s);
    g_signal_connect(conn, "pong", G_CALLBACK(signaling_on_pong), s);
    g_signal_connect(conn, "error", G_CALLBACK(signaling_on_error), s);
    g_signal_connect(conn, "closed", G_CALLBACK(signaling_on_closed), s);
    if (s->params.ping_interval_s > 0) {
        soup_websocket_connection_set_keepalive_interval(conn, s->params.ping_interval_s);
        signaling_tune_socket(s);
        guint check_ms = s->params.ping_interval_s * 250;
        s->watchdog = signaling_add_timer(s, check_ms, signaling_watchdog_fired);
    }
    log_info("signaling: connected to %s", s->url);
    if (s->cb.on_open != NULL) {
        signaling_enter(s);
        s->cb.on_open(s->user);
        signaling_leave(s);
    }
}

static void signaling_connect_now(struct signaling *s)
{
    s->attempts++;
    s->state = SIGNALING_CONNECTING;
    log_info("signaling: connecting to %s", s->url);
    SoupMessage *msg = soup_message_new(SOUP_METHOD_GET, s->url);
    if (msg == NULL) {
        signaling_schedule_retry(s, "cannot connect to", "not a valid URL");
        return;
    }
    if (s->params.tls_insecure)
        g_signal_connect(msg, "accept-certificate",
                         G_CALLBACK(signaling_accept_any_certificate), NULL);
    struct signaling_connect *c = g_new0(struct signaling_connect, 1);
    c->s = s;
    c->cancel = g_cancellable_new();
    c->msg = msg;
    s->pending = c;
    /* The callback runs on the thread-default context, which must be
     * s->ctx: push it in case the caller runs another one now. */
    g_main_context_push_thread_default(s->ctx);
    soup_session_websocket_connect_async(s->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                         c->cancel, signaling_connected, c);
    g_main_context_pop_thread_default(s->ctx);
}

/* ---- the public verbs ---- */

static uint64_t signaling_seed(void)
{
    uint64_t seed = ((uint64_t)g_random_int() << 32) | g_random_int();
    return seed != 0 ? seed : 1;
}

struct signaling *signaling_new(const struct signaling_params *params,
                                const struct signaling_callbacks *cb, void *user)
{
    struct signaling *s = g_new0(struct signaling, 1);
    s->url = g_strdup(params->url != NULL ? params->url : "");
    s->params = *params;
    s->params.url = s->url;
    if (cb != NULL)
        s->cb = *cb;
    s->user = user;
    s->ctx = g_main_context_ref_thread_default();
    s->state = SIGNALING_IDLE;
    backoff_init(&s->backoff, params->backoff_initial_s, params->backoff_max_s,
                 signaling_seed());
    g_main_context_push_thread_default(s->ctx);
    /* The handshake gets a bounded time; the open link has no idle timeout
     * (the watchdog covers it). */
    s->session = soup_session_new_with_options("timeout", 15, "idle-timeout", 0, NULL);
    g_main_context_pop_thread_default(s->ctx);
    return s;
}

void signaling_start(struct signaling *s)
{
    if (s == NULL || s->state != SIGNALING_IDLE)
        return;
    signaling_connect_now(s);
}

bool signaling_send(struct signaling *s, json_t *msg)
{
    if (s == NULL || s->conn == NULL || s->state != SIGNALING_OPEN ||
        soup_websocket_connection_get_state(s->conn) != SOUP_WEBSOCKET_STATE_OPEN) {
        log_debug("signaling: not sent, the link is down");
        return false;
    }
    char *text = json_dumps(msg, JSON_COMPACT);
    if (text == NULL) {
        log_debug("signaling: not sent, the message cannot be encoded");
        return false;
    }
    soup_websocket_connection_send_text(s->conn, text);
    free(text);
    return true;
}

void signaling_registered(struct signaling *s)
{
    if (s != NULL)
        backoff_reset(&s->backoff);
}

enum signaling_state signaling_state(const struct signaling *s)
{
    return s->state;
}

void signaling_reconnect(struct signaling *s, const char *why)
{
    if (s->conn == NULL)
        return;
    signaling_release_conn(s, SOUP_WEBSOCKET_CLOSE_NORMAL, why);
    signaling_link_down(s, why);
}

unsigned signaling_attempts(const struct signaling *s)
{
    return s->attempts;
}

void signaling_free(struct signaling *s)
{
    if (s == NULL || s->freed)
        return;
    s->freed = true;
    if (s->pending != NULL) {
        s->pending->s = NULL;
        g_cancellable_cancel(s->pending->cancel);
        s->pending = NULL;
    }
    signaling_drop_source(&s->retry);
    signaling_drop_source(&s->watchdog);
    signaling_release_conn(s, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "robot shutting down");
    g_object_unref(s->session);
    s->session = NULL;
    s->state = SIGNALING_IDLE;
    if (s->busy == 0)
        signaling_destroy(s);
}
