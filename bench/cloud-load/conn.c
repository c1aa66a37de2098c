/* conn.c - WebSocket client connections on libwebsockets (conn.h). */
#include "conn.h"

#include <arpa/inet.h>
#include <assert.h>
#include <libwebsockets.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <uv.h>

/* A client frame header: 2 bytes, 2 of extended length, 4 of mask key. */
#define FRAME_HEADER_MAX 8
static_assert(CONN_PRE >= FRAME_HEADER_MAX, "CONN_PRE must hold a frame header");

/* Queued messages written per writeable callback at most, so that one busy
 * connection does not starve the others of the event loop. */
#define WRITE_BATCH 32

/* Largest message reassembled. The cloud's own messages may pass its
 * --max-message: available-robots lists every robot with its deviceInfo
 * (about 700 bytes each). */
#define RX_MAX (16u << 20)

/* lws reads at most this much per recv() for a connection, and holds a
 * buffer this size per connection: 8 KiB takes a ~3 KB SDP whole and
 * about 30 ICE candidates per read. */
#define RX_CHUNK 8192

/* --sio: the peers speak Socket.IO at /socket.io/ (conn_set_sio). */
static bool sio;

struct conn_msg {
    struct conn_msg *next;
    size_t len;
    unsigned char data[]; /* CONN_PRE of headroom, then the payload */
};

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len);

/* Mask keys. lws would read 4 bytes of /dev/urandom per frame, a system
 * call per message that made the generator as costly as the server; the
 * keys only need to vary here (no proxy sits on loopback to poison), so a
 * xorshift generator seeded once per process makes them. */
static uint64_t mask_state;

static uint32_t next_mask(void)
{
    if (!mask_state && (getrandom(&mask_state, sizeof(mask_state), 0) != sizeof(mask_state) ||
                        !mask_state))
        mask_state = 0x9e3779b97f4a7c15ull;
    mask_state ^= mask_state << 13;
    mask_state ^= mask_state >> 7;
    mask_state ^= mask_state << 17;
    return (uint32_t)(mask_state >> 16);
}

/* Writes payload (len < 65536, CONN_PRE bytes of headroom) as one masked
 * text frame (RFC 6455, 5.2), framed here and handed to lws as raw bytes:
 * lws still buffers what the socket does not take. The payload is masked
 * in place. Returns 0, or -1 on error. */
static int write_frame(struct conn *c, unsigned char *payload, size_t len)
{
    if (len > 0xffff)
        return -1;
    uint32_t key = next_mask();
    unsigned char k[4];
    memcpy(k, &key, sizeof(k));
    size_t hdr = len < 126 ? 6 : 8;
    unsigned char *h = payload - hdr;
    h[0] = 0x81; /* FIN, text */
    if (len < 126) {
        h[1] = (unsigned char)(0x80 | len);
    } else {
        h[1] = 0x80 | 126;
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
    }
    memcpy(payload - 4, k, sizeof(k));
    for (size_t i = 0; i < len; i++)
        payload[i] ^= k[i & 3];
    return lws_write(c->wsi, h, hdr + len, LWS_WRITE_RAW) < 0 ? -1 : 0;
}

static const struct lws_protocols protocols[] = {
    {.name = "cloud-load", .callback = callback, .rx_buffer_size = RX_CHUNK},
    {.name = NULL},
};

static void emit_lws_log(int level, const char *line)
{
    (void)level;
    fprintf(stderr, "cloud-load: lws: %s", line);
}

struct conn_loop {
    struct lws_context *ctx;
    bool libuv;
    uv_loop_t uv;
};

/* Passes of the loop allowed for lws to close its libuv handles at the end. */
#define CLOSE_PASSES 1000

struct conn_loop *conn_loop_create(bool libuv)
{
    struct conn_loop *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    lws_set_log_level(LLL_ERR | LLL_WARN, emit_lws_log);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    void *foreign[1] = {&l->uv};
    if (libuv) {
        if (uv_loop_init(&l->uv) != 0) {
            free(l);
            return NULL;
        }
        l->libuv = true;
        info.options |= LWS_SERVER_OPTION_LIBUV;
        info.foreign_loops = foreign; /* read during lws_create_context() only */
    }
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    /* The per-thread read buffer; lws reads min(this, RX_CHUNK). */
    info.pt_serv_buf_size = 2 * RX_CHUNK;
    info.connect_timeout_secs = 20;
    info.timeout_secs = 20;
    l->ctx = lws_create_context(&info);
    if (!l->ctx) {
        if (l->libuv)
            uv_loop_close(&l->uv);
        free(l);
        return NULL;
    }
    return l;
}

struct lws_context *conn_loop_context(struct conn_loop *l)
{
    return l->ctx;
}

int conn_loop_run_once(struct conn_loop *l)
{
    if (l->libuv) {
        uv_run(&l->uv, UV_RUN_ONCE);
        return 0;
    }
    return lws_service(l->ctx, 0) < 0 ? -1 : 0;
}

void conn_loop_wake(struct conn_loop *l)
{
    if (l->libuv)
        uv_stop(&l->uv);
    else
        lws_cancel_service(l->ctx);
}

void conn_loop_destroy(struct conn_loop *l)
{
    if (!l)
        return;
    lws_context_destroy(l->ctx);
    if (l->libuv) {
        /* lws closes its handles asynchronously: let the loop run them. */
        for (int i = 0; i < CLOSE_PASSES && uv_run(&l->uv, UV_RUN_NOWAIT); i++)
            ;
        uv_loop_close(&l->uv);
    }
    free(l);
}

/* The connection is gone for lws: forget the wsi, tell the owner once. */
static void conn_end(struct conn *c, const char *why)
{
    if (c->state == CONN_ENDED)
        return;
    c->state = CONN_ENDED;
    c->wsi = NULL;
    c->h->ended(c, why);
}

int conn_connect(struct conn *c, struct lws_context *ctx, const char *host, int port,
                 const char *source)
{
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof(ci));
    ci.context = ctx;
    ci.address = host;
    ci.port = port;
    ci.path = sio ? "/socket.io/?EIO=4&transport=websocket" : "/ws";
    ci.host = host;
    ci.origin = host;
    ci.userdata = c;            /* our struct is the wsi's user data */
    ci.opaque_user_data = c;
    ci.pwsi = &c->wsi;
    ci.local_protocol_name = "cloud-load";
    /* No validity timers (lws's client keepalive): each is a timer in one
     * list sorted by time, re-inserted by a walk from its head at every
     * frame received; with 15,000 connections a process spent a sixth of
     * the million bench's machine there (docs/PERFORMANCE.md). The server
     * pings; its pings are answered whatever this says. */
    static const lws_retry_bo_t no_validity = {.secs_since_valid_ping = 0,
                                               .secs_since_valid_hangup = 0};
    ci.retry_and_idle_policy = &no_validity;
    /* lws 4.1 binds the socket to iface (an interface name or an address)
     * before connect(): that sets the source address. */
    ci.iface = source && *source ? source : NULL;
    c->state = CONN_CONNECTING;
    if (!lws_client_connect_via_info(&ci)) {
        conn_end(c, "connect failed at once");
        return -1;
    }
    return 0;
}

/* Queues text as it is (already framed for the wire). */
static int send_raw(struct conn *c, const char *text, size_t len)
{
    if ((c->state != CONN_OPEN && c->state != CONN_REGISTERED) || len > 0xffff ||
        c->q_bytes + len > CONN_QUEUE_MAX)
        return -1;
    struct conn_msg *m = malloc(sizeof(*m) + CONN_PRE + len);
    if (!m)
        return -1;
    m->next = NULL;
    m->len = len;
    memcpy(m->data + CONN_PRE, text, len);
    if (c->q_tail)
        c->q_tail->next = m;
    else
        c->q_head = m;
    c->q_tail = m;
    c->q_bytes += len;
    lws_callback_on_writable(c->wsi);
    return 0;
}

/* ---- Socket.IO (--sio) ----
 * The scenarios speak native JSON; on a Socket.IO connection conn.c
 * rewrites their {"type":"X",...} into 42["X",{...}] and the cloud's
 * 42["X",{...}] (or 42["X",[...]], available-robots) back, by text
 * position, and answers Engine.IO's open packet with CONNECT and its pings
 * with pongs. The scenarios, and so the load, stay the same. */

void conn_set_sio(bool on)
{
    sio = on;
}

/* {"type":"X"[,REST]} into 42["X",{REST] (REST ends with its '}'), into
 * out (cap bytes). Returns its length, or 0 when text is not so shaped. */
static size_t to_sio(const char *m, size_t len, char *out, size_t cap)
{
    static const char pre[] = "{\"type\":\"";
    const size_t pl = sizeof pre - 1;
    if (len < pl + 2 || memcmp(m, pre, pl) != 0)
        return 0;
    const char *name = m + pl, *q = memchr(name, '"', len - pl);
    if (!q || q + 1 >= m + len)
        return 0;
    size_t nl = (size_t)(q - name);
    const char *rest = q + 1; /* "," then fields, or "}" */
    size_t rl = (size_t)(m + len - rest);
    size_t n = 4 + nl + 3 + (rl - (*rest == ',')) + 1 + (*rest != ',');
    if (n > cap)
        return 0;
    char *p = out;
    memcpy(p, "42[\"", 4), p += 4;
    memcpy(p, name, nl), p += nl;
    memcpy(p, "\",{", 3), p += 3;
    if (*rest == ',') {
        memcpy(p, rest + 1, rl - 1), p += rl - 1;
    } else {
        *p++ = '}';
    }
    *p++ = ']';
    return (size_t)(p - out);
}

/* 42["X",{BODY}] into {"type":"X",BODY} (42["X",{}] into {"type":"X"},
 * 42["X",[A]] into {"type":"X","robots":[A]}), into out (cap bytes).
 * Returns its length, or 0 when m is not so shaped. */
static size_t from_sio(const char *m, size_t len, char *out, size_t cap)
{
    if (len < 8 || memcmp(m, "42[\"", 4) != 0 || m[len - 1] != ']')
        return 0;
    const char *name = m + 4, *q = memchr(name, '"', len - 4);
    if (!q || q + 3 > m + len - 1 || q[1] != ',')
        return 0;
    size_t nl = (size_t)(q - name);
    const char *arg = q + 2, *end = m + len - 1; /* [arg, end): {..} or [..] */
    size_t al = (size_t)(end - arg);
    if (cap < nl + al + 32)
        return 0;
    char *p = out;
    memcpy(p, "{\"type\":\"", 9), p += 9;
    memcpy(p, name, nl), p += nl;
    *p++ = '"';
    if (*arg == '[') {
        memcpy(p, ",\"robots\":", 10), p += 10;
        memcpy(p, arg, al), p += al;
        *p++ = '}';
    } else if (al > 2) {
        *p++ = ',';
        memcpy(p, arg + 1, al - 1), p += al - 1;
    } else {
        *p++ = '}';
    }
    return (size_t)(p - out);
}

int conn_send(struct conn *c, const char *text, size_t len)
{
    if (!sio)
        return send_raw(c, text, len);
    char buf[8192];
    size_t n = to_sio(text, len, buf, sizeof buf);
    return n ? send_raw(c, buf, n) : -1;
}

int conn_sendf(struct conn *c, const char *fmt, ...)
{
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return -1;
    return conn_send(c, buf, (size_t)n);
}

int conn_write(struct conn *c, unsigned char *payload, size_t len)
{
    if (!sio)
        return write_frame(c, payload, len);
    unsigned char buf[CONN_PRE + 8192];
    size_t n = to_sio((const char *)payload, len, (char *)buf + CONN_PRE, sizeof buf - CONN_PRE);
    return n ? write_frame(c, buf + CONN_PRE, n) : -1;
}

/* lws_partial_buffered() is a flag test; lws_send_pipe_choked() would
 * cost a poll() system call per message. */
bool conn_can_write(struct conn *c)
{
    return c->wsi && c->state != CONN_ENDED && !lws_partial_buffered(c->wsi);
}

void conn_want_write(struct conn *c)
{
    if (c->wsi && (c->state == CONN_OPEN || c->state == CONN_REGISTERED))
        lws_callback_on_writable(c->wsi);
}

int conn_local_addr(struct conn *c, char *out, size_t cap)
{
    struct sockaddr_in sa;
    socklen_t n = sizeof(sa);
    if (!c->wsi || getsockname(lws_get_socket_fd(c->wsi), (struct sockaddr *)&sa, &n) != 0 ||
        sa.sin_family != AF_INET)
        return -1;
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip));
    snprintf(out, cap, "%s:%u", ip, (unsigned)ntohs(sa.sin_port));
    return 0;
}

void conn_release(struct conn *c)
{
    while (c->q_head) {
        struct conn_msg *m = c->q_head;
        c->q_head = m->next;
        free(m);
    }
    c->q_tail = NULL;
    c->q_bytes = 0;
    free(c->rx);
    c->rx = NULL;
    c->rx_len = c->rx_cap = 0;
}

/* Writes queued messages, then lets the owner write its own. Returns -1
 * to close the connection. */
static int on_writeable(struct conn *c)
{
    for (int k = 0; k < WRITE_BATCH && c->q_head && conn_can_write(c); k++) {
        struct conn_msg *m = c->q_head;
        c->q_head = m->next;
        if (!c->q_head)
            c->q_tail = NULL;
        c->q_bytes -= m->len;
        int rc = write_frame(c, m->data + CONN_PRE, m->len);
        free(m);
        if (rc != 0)
            return -1;
    }
    bool more = c->q_head != NULL;
    if (!more && c->h->writeable && conn_can_write(c))
        more = c->h->writeable(c);
    if (more && c->wsi)
        lws_callback_on_writable(c->wsi);
    return 0;
}

/* Hands complete messages to the owner; fragments (lws splits frames
 * larger than RX_CHUNK, and the server may fragment) are joined first.
 * Returns -1 to close the connection. */
/* A whole message of a Socket.IO connection: Engine.IO's open packet is
 * answered with CONNECT, whose answer opens the connection for its owner;
 * pings get pongs; events go to the owner in native form. */
static void sio_message(struct conn *c, const char *m, size_t len)
{
    static char *buf;
    static size_t cap;
    if (len >= 1 && m[0] == '0') {
        send_raw(c, "40", 2);
    } else if (len >= 2 && m[0] == '4' && m[1] == '0') {
        c->h->opened(c);
    } else if (len == 1 && m[0] == '2') {
        send_raw(c, "3", 1);
    } else if (len >= 2 && m[0] == '4' && m[1] == '2') {
        if (cap < len + 64) {
            char *b = realloc(buf, len + 64);
            if (!b)
                return;
            buf = b;
            cap = len + 64;
        }
        size_t n = from_sio(m, len, buf, cap);
        if (n)
            c->h->message(c, buf, n);
    }
}

static void deliver(struct conn *c, const char *m, size_t len)
{
    if (sio)
        sio_message(c, m, len);
    else
        c->h->message(c, m, len);
}

static int on_receive(struct conn *c, const char *in, size_t len)
{
    bool last = lws_is_final_fragment(c->wsi);
    if (last && !c->rx_len) { /* the common case: whole, no copy */
        deliver(c, in, len);
        return 0;
    }
    if (c->rx_len + len > RX_MAX)
        return -1;
    if (c->rx_len + len > c->rx_cap) {
        size_t cap = c->rx_cap ? c->rx_cap : 4096;
        while (cap < c->rx_len + len)
            cap *= 2;
        char *rx = realloc(c->rx, cap);
        if (!rx)
            return -1;
        c->rx = rx;
        c->rx_cap = cap;
    }
    memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    if (last) {
        size_t n = c->rx_len;
        c->rx_len = 0;
        deliver(c, c->rx, n);
    }
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct conn *c = user ? user : lws_get_opaque_user_data(wsi);
    if (!c)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
        char why[128];
        snprintf(why, sizeof(why), "connect: %.100s", in ? (const char *)in : "error");
        conn_end(c, why);
        return 0;
    }
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        c->wsi = wsi;
        c->state = CONN_OPEN;
        if (!sio) /* Socket.IO: opened once CONNECT is answered */
            c->h->opened(c);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return on_receive(c, in, len);
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return on_writeable(c);
    case LWS_CALLBACK_CLIENT_CLOSED:
        conn_end(c, "closed");
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        conn_end(c, "destroyed");
        return 0;
    default:
        return 0;
    }
}
