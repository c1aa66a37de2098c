/* wsclient.c - a small blocking WebSocket and HTTP client for integration tests. */
#include "wsclient.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define SEND_TIMEOUT_MS 5000
#define MAX_HEADER_BYTES (64 * 1024)
#define MAX_MESSAGE_BYTES (64u * 1024 * 1024)
#define LAST_TEXT_MAX 512

struct wsc {
    int fd;
    unsigned char *rbuf; /* received bytes not parsed yet */
    size_t rlen, rcap;
    char *msg;           /* the data message being reassembled */
    size_t msg_len, msg_cap;
    int msg_opcode;
    bool in_msg;
    bool auto_pong;
    bool server;         /* accepted by wsc_accept: receives masked, sends unmasked */
    bool close_sent;
    bool ended;          /* a close frame or EOF was seen */
    enum wsc_event end_event;
    int close_code;
    char close_reason[124]; /* of the peer's close frame, "" without */
    unsigned pings, skipped;
    char last[LAST_TEXT_MAX];
    struct wsc *prev, *next; /* the list of open connections */
};

/* Every connection not yet released, so that wsc_abort_all() can clean up
 * after a test that failed half-way (cmocka leaves the test by longjmp). */
static struct wsc *open_list;

struct frame {
    bool fin;
    int opcode;
    const unsigned char *payload;
    size_t len;
    size_t total; /* header plus payload */
};

int64_t wsc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(int64_t deadline)
{
    int64_t left = deadline - wsc_now_ms();
    return left < 0 ? 0 : (int)left;
}

/* Waits until fd is ready for events or deadline passes. Returns 1 when
 * ready (or in error/hang-up, which the next read or write reports), 0 on
 * timeout, -1 on a poll failure. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, remaining_ms(deadline));
        if (r > 0)
            return 1;
        if (r == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

/* The local address of new connections (wsc_set_source); INADDR_ANY:
 * the kernel's choice. */
static struct in_addr source_addr;

void wsc_set_source(const char *src)
{
    source_addr.s_addr = htonl(INADDR_ANY);
    if (src && *src && inet_pton(AF_INET, src, &source_addr) != 1) {
        fprintf(stderr, "wsc: '%s' is not an IPv4 address; using the default source\n", src);
        source_addr.s_addr = htonl(INADDR_ANY);
    }
}

int wsc_raw_connect(int port, int timeout_ms)
{
    int64_t deadline = wsc_now_ms() + timeout_ms;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (source_addr.s_addr != htonl(INADDR_ANY)) {
        struct sockaddr_in local = {.sin_family = AF_INET, .sin_addr = source_addr};
        if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0) {
            fprintf(stderr, "wsc: cannot bind to the source address: %s\n", strerror(errno));
            close(fd);
            return -1;
        }
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int err = 0;
        socklen_t elen = sizeof err;
        if (errno != EINPROGRESS || wait_fd(fd, POLLOUT, deadline) != 1 ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
            close(fd);
            return -1;
        }
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int wsc_raw_send(int fd, const void *buf, size_t len, int timeout_ms)
{
    int64_t deadline = wsc_now_ms() + timeout_ms;
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_fd(fd, POLLOUT, deadline) != 1)
                return -1;
            continue;
        }
        return -1;
    }
    return 0;
}

int wsc_raw_wait_closed(int fd, int timeout_ms)
{
    int64_t start = wsc_now_ms(), deadline = start + timeout_ms;
    char buf[4096];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return (int)(wsc_now_ms() - start);
        if (n > 0)
            continue;
        if (errno == EINTR)
            continue;
        if (wait_fd(fd, POLLIN, deadline) != 1)
            return -1;
    }
}

/* Appends up to one read's worth of bytes to c->rbuf. Returns 1 when bytes
 * arrived, 0 on timeout, -1 on EOF or reset, -2 on a local failure. */
static int fill(struct wsc *c, int64_t deadline)
{
    if (c->rcap - c->rlen < 16384) {
        size_t cap = c->rcap ? c->rcap * 2 : 65536;
        unsigned char *nb = realloc(c->rbuf, cap);
        if (!nb)
            return -2;
        c->rbuf = nb;
        c->rcap = cap;
    }
    for (;;) {
        ssize_t n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
        if (n > 0) {
            c->rlen += (size_t)n;
            return 1;
        }
        if (n == 0)
            return -1;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -1; /* ECONNRESET and friends: the peer is gone */
        int r = wait_fd(c->fd, POLLIN, deadline);
        if (r == 0)
            return 0;
        if (r < 0)
            return -2;
    }
}

static void consume(struct wsc *c, size_t n)
{
    memmove(c->rbuf, c->rbuf + n, c->rlen - n);
    c->rlen -= n;
}

/* Parses the frame at the start of c->rbuf. Returns 1 and fills *f when it
 * is complete, 0 when more bytes are needed, -1 when it breaks RFC 6455 for
 * a frame in its direction (reserved bits, masking, lengths). A masked
 * frame (to a server end) is unmasked in place. */
static int parse_frame(struct wsc *c, struct frame *f)
{
    unsigned char *b = c->rbuf;
    if (c->rlen < 2)
        return 0;
    if (b[0] & 0x70) {
        fprintf(stderr, "wsc: frame with reserved bits 0x%02x\n", b[0]);
        return -1;
    }
    if (!(b[1] & 0x80) != !c->server) {
        fprintf(stderr, "wsc: %s frame from the %s\n", c->server ? "unmasked" : "masked",
                c->server ? "client" : "server");
        return -1;
    }
    f->fin = (b[0] & 0x80) != 0;
    f->opcode = b[0] & 0x0f;
    uint64_t len = b[1] & 0x7f;
    size_t hdr = 2;
    if (len == 126) {
        if (c->rlen < 4)
            return 0;
        len = ((uint64_t)b[2] << 8) | b[3];
        hdr = 4;
    } else if (len == 127) {
        if (c->rlen < 10)
            return 0;
        len = 0;
        for (int i = 0; i < 8; i++)
            len = (len << 8) | b[2 + i];
        hdr = 10;
    }
    if (f->opcode >= 0x8 && (len > 125 || !f->fin)) {
        fprintf(stderr, "wsc: bad control frame (opcode %d, len %llu)\n", f->opcode,
                (unsigned long long)len);
        return -1;
    }
    if (len > MAX_MESSAGE_BYTES) {
        fprintf(stderr, "wsc: frame of %llu bytes\n", (unsigned long long)len);
        return -1;
    }
    size_t mask_at = hdr;
    if (c->server)
        hdr += 4;
    if (c->rlen < hdr + len)
        return 0;
    if (c->server)
        for (size_t i = 0; i < len; i++)
            b[hdr + i] ^= b[mask_at + (i & 3)];
    f->payload = b + hdr;
    f->len = (size_t)len;
    f->total = hdr + (size_t)len;
    return 1;
}

int wsc_send_frame(struct wsc *c, int opcode, bool fin, const void *payload, size_t len)
{
    if (!c)
        return -1;
    unsigned char *buf = malloc(len + 14);
    if (!buf)
        return -1;
    size_t h = 0;
    unsigned char masked = c->server ? 0 : 0x80; /* only clients mask */
    buf[h++] = (unsigned char)((fin ? 0x80 : 0) | (opcode & 0x0f));
    if (len < 126) {
        buf[h++] = (unsigned char)(masked | len);
    } else if (len <= 0xffff) {
        buf[h++] = masked | 126;
        buf[h++] = (unsigned char)(len >> 8);
        buf[h++] = (unsigned char)len;
    } else {
        buf[h++] = masked | 127;
        for (int i = 7; i >= 0; i--)
            buf[h++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    unsigned char mask[4] = {0, 0, 0, 0};
    if (masked && getrandom(mask, sizeof mask, 0) != (ssize_t)sizeof mask) {
        free(buf);
        return -1;
    }
    if (masked) {
        memcpy(buf + h, mask, 4);
        h += 4;
    }
    const unsigned char *p = payload;
    for (size_t i = 0; i < len; i++)
        buf[h + i] = p[i] ^ mask[i & 3];
    int r = wsc_raw_send(c->fd, buf, h + len, SEND_TIMEOUT_MS);
    free(buf);
    if (opcode == WSC_OP_CLOSE && r == 0)
        c->close_sent = true;
    return r;
}

int wsc_send_text(struct wsc *c, const char *s)
{
    return wsc_send_frame(c, WSC_OP_TEXT, true, s, strlen(s));
}

int wsc_sendf(struct wsc *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    int r = wsc_send_text(c, s);
    free(s);
    return r;
}

int wsc_send_json(struct wsc *c, json_t *j)
{
    if (!j)
        return -1;
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!s)
        return -1;
    int r = wsc_send_text(c, s);
    free(s);
    return r;
}

static void send_close(struct wsc *c, int code)
{
    if (c->close_sent)
        return;
    unsigned char p[2] = {(unsigned char)(code >> 8), (unsigned char)code};
    wsc_send_frame(c, WSC_OP_CLOSE, true, p, code == 1005 ? 0 : 2);
    c->close_sent = true; /* even when the send failed: never try twice */
}

static int msg_append(struct wsc *c, const unsigned char *p, size_t len)
{
    if (c->msg_len + len + 1 > c->msg_cap) {
        size_t cap = c->msg_cap ? c->msg_cap : 4096;
        while (cap < c->msg_len + len + 1)
            cap *= 2;
        char *nm = realloc(c->msg, cap);
        if (!nm)
            return -1;
        c->msg = nm;
        c->msg_cap = cap;
    }
    memcpy(c->msg + c->msg_len, p, len);
    c->msg_len += len;
    c->msg[c->msg_len] = '\0';
    return 0;
}

static enum wsc_event report_end(const struct wsc *c, struct wsc_msg *out)
{
    out->event = c->end_event;
    out->close_code = c->close_code;
    return out->event;
}

/* Hands the reassembled message over to out. */
static enum wsc_event deliver(struct wsc *c, struct wsc_msg *out)
{
    if (!c->msg && msg_append(c, (const unsigned char *)"", 0) != 0)
        return out->event = WSC_ERROR;
    out->event = WSC_MESSAGE;
    out->opcode = c->msg_opcode;
    out->data = c->msg;
    out->len = c->msg_len;
    if (c->msg_opcode == WSC_OP_TEXT)
        snprintf(c->last, sizeof c->last, "%s", c->msg);
    c->msg = NULL;
    c->msg_len = c->msg_cap = 0;
    c->in_msg = false;
    return WSC_MESSAGE;
}

enum wsc_event wsc_recv(struct wsc *c, int timeout_ms, struct wsc_msg *out)
{
    int64_t deadline = wsc_now_ms() + timeout_ms;
    memset(out, 0, sizeof *out);
    if (!c)
        return out->event = WSC_ERROR;
    for (;;) {
        if (c->ended)
            return report_end(c, out);
        struct frame f;
        int r = parse_frame(c, &f);
        if (r < 0)
            return out->event = WSC_ERROR;
        if (r == 0) {
            int got = fill(c, deadline);
            if (got == 0)
                return out->event = WSC_TIMEOUT;
            if (got == -1) {
                c->ended = true;
                c->end_event = WSC_EOF;
                c->close_code = -1;
            } else if (got < -1) {
                return out->event = WSC_ERROR;
            }
            continue;
        }
        switch (f.opcode) {
        case WSC_OP_PING:
            c->pings++;
            if (c->auto_pong && !c->close_sent)
                wsc_send_frame(c, WSC_OP_PONG, true, f.payload, f.len);
            consume(c, f.total);
            continue;
        case WSC_OP_PONG:
            consume(c, f.total);
            continue;
        case WSC_OP_CLOSE:
            c->close_code = f.len >= 2 ? (f.payload[0] << 8) | f.payload[1] : 1005;
            if (f.len > 2) {
                size_t n = f.len - 2 < sizeof c->close_reason ? f.len - 2
                                                             : sizeof c->close_reason - 1;
                memcpy(c->close_reason, f.payload + 2, n);
                c->close_reason[n] = '\0';
            }
            consume(c, f.total);
            c->ended = true;
            c->end_event = WSC_CLOSE;
            send_close(c, c->close_code == 1005 ? 1000 : c->close_code);
            return report_end(c, out);
        case WSC_OP_TEXT:
        case WSC_OP_BINARY:
            if (c->in_msg) {
                fprintf(stderr, "wsc: new data frame inside a fragmented message\n");
                return out->event = WSC_ERROR;
            }
            c->in_msg = true;
            c->msg_opcode = f.opcode;
            c->msg_len = 0;
            break;
        case WSC_OP_CONT:
            if (!c->in_msg) {
                fprintf(stderr, "wsc: continuation frame without a message\n");
                return out->event = WSC_ERROR;
            }
            break;
        default:
            fprintf(stderr, "wsc: unknown opcode %d\n", f.opcode);
            return out->event = WSC_ERROR;
        }
        if (msg_append(c, f.payload, f.len) != 0)
            return out->event = WSC_ERROR;
        bool fin = f.fin;
        consume(c, f.total);
        if (fin)
            return deliver(c, out);
    }
}

void wsc_msg_free(struct wsc_msg *m)
{
    free(m->data);
    memset(m, 0, sizeof *m);
}

static const char *event_name(enum wsc_event e)
{
    switch (e) {
    case WSC_MESSAGE: return "message";
    case WSC_CLOSE: return "close frame";
    case WSC_EOF: return "TCP close";
    case WSC_TIMEOUT: return "timeout";
    case WSC_ERROR: return "error";
    }
    return "?";
}

json_t *wsc_recv_json(struct wsc *c, int timeout_ms)
{
    struct wsc_msg m;
    enum wsc_event e = wsc_recv(c, timeout_ms, &m);
    if (e != WSC_MESSAGE) {
        if (e == WSC_CLOSE)
            fprintf(stderr, "wsc: expected a message, got a close frame (%d)\n", m.close_code);
        else
            fprintf(stderr, "wsc: expected a message within %d ms, got %s\n", timeout_ms,
                    event_name(e));
        return NULL;
    }
    if (m.opcode != WSC_OP_TEXT) {
        fprintf(stderr, "wsc: expected text, got a binary message of %zu bytes\n", m.len);
        wsc_msg_free(&m);
        return NULL;
    }
    json_error_t err;
    json_t *j = json_loadb(m.data, m.len, 0, &err);
    if (!j || !json_is_object(j)) {
        fprintf(stderr, "wsc: not a JSON object: %s\n", m.data);
        json_decref(j);
        j = NULL;
    }
    wsc_msg_free(&m);
    return j;
}

json_t *wsc_expect_type(struct wsc *c, const char *type, int timeout_ms)
{
    int64_t deadline = wsc_now_ms() + timeout_ms;
    for (;;) {
        int left = remaining_ms(deadline);
        struct wsc_msg m;
        enum wsc_event e = wsc_recv(c, left, &m);
        if (e != WSC_MESSAGE) {
            fprintf(stderr, "wsc: no '%s' within %d ms (%s%s%s)\n", type, timeout_ms,
                    event_name(e), c && c->last[0] ? "; last message: " : "",
                    c ? c->last : "");
            return NULL;
        }
        json_t *j = m.opcode == WSC_OP_TEXT ? json_loadb(m.data, m.len, 0, NULL) : NULL;
        wsc_msg_free(&m);
        const char *t = json_string_value(json_object_get(j, "type"));
        if (t && strcmp(t, type) == 0)
            return j;
        json_decref(j);
        c->skipped++;
    }
}

int wsc_expect_close(struct wsc *c, int timeout_ms)
{
    int64_t deadline = wsc_now_ms() + timeout_ms;
    for (;;) {
        struct wsc_msg m;
        enum wsc_event e = wsc_recv(c, remaining_ms(deadline), &m);
        wsc_msg_free(&m);
        if (e == WSC_CLOSE)
            return c->close_code;
        if (e == WSC_EOF)
            return -1;
        if (e == WSC_TIMEOUT)
            return -2;
        if (e == WSC_ERROR) {
            /* a broken frame: what matters to the caller is whether the
             * connection ends, so wait for that on the raw socket */
            return wsc_raw_wait_closed(c->fd, remaining_ms(deadline)) >= 0 ? -1 : -2;
        }
    }
}

const char *wsc_close_reason(const struct wsc *c)
{
    return c->close_reason;
}

bool wsc_expect_silence(struct wsc *c, int ms)
{
    struct wsc_msg m;
    enum wsc_event e = wsc_recv(c, ms, &m);
    if (e == WSC_TIMEOUT)
        return true;
    if (e == WSC_MESSAGE)
        fprintf(stderr, "wsc: expected silence, got: %.*s\n", (int)(m.len > 400 ? 400 : m.len),
                m.data);
    else
        fprintf(stderr, "wsc: expected silence, got %s\n", event_name(e));
    wsc_msg_free(&m);
    return false;
}

const char *wsc_last_text(const struct wsc *c)
{
    return c ? c->last : "";
}

void wsc_set_auto_pong(struct wsc *c, bool on)
{
    c->auto_pong = on;
}

unsigned wsc_pings_received(const struct wsc *c)
{
    return c->pings;
}

unsigned wsc_skipped(const struct wsc *c)
{
    return c->skipped;
}

static void wsc_free(struct wsc *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else if (open_list == c)
        open_list = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->fd >= 0)
        close(c->fd);
    free(c->rbuf);
    free(c->msg);
    free(c);
}

void wsc_close(struct wsc *c)
{
    if (!c)
        return;
    if (!c->ended) {
        send_close(c, 1000);
        int64_t deadline = wsc_now_ms() + 1000;
        struct wsc_msg m;
        while (!c->ended && wsc_recv(c, remaining_ms(deadline), &m) == WSC_MESSAGE)
            wsc_msg_free(&m);
    }
    wsc_free(c);
}

void wsc_abort(struct wsc *c)
{
    if (c)
        wsc_free(c);
}

unsigned wsc_abort_all(void)
{
    unsigned n = 0;
    while (open_list) {
        wsc_free(open_list);
        n++;
    }
    return n;
}

/* Reads into c->rbuf until the end of the HTTP header block. Returns the
 * length of the block including "\r\n\r\n", or 0 on timeout/EOF/overflow. */
static size_t read_http_head(struct wsc *c, int64_t deadline)
{
    for (;;) {
        unsigned char *end = memmem(c->rbuf ? c->rbuf : (unsigned char *)"", c->rlen,
                                    "\r\n\r\n", 4);
        if (end)
            return (size_t)(end - c->rbuf) + 4;
        if (c->rlen > MAX_HEADER_BYTES || fill(c, deadline) != 1)
            return 0;
    }
}

/* Finds header name in a block of header lines (no status line) and
 * returns a malloc'd, trimmed copy of its value, or NULL. */
static char *find_header(const char *block, const char *name)
{
    size_t nlen = strlen(name);
    for (const char *p = block; p && *p; ) {
        const char *eol = strstr(p, "\r\n");
        size_t llen = eol ? (size_t)(eol - p) : strlen(p);
        if (llen > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            const char *v = p + nlen + 1, *ve = p + llen;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            return strndup(v, (size_t)(ve - v));
        }
        p = eol ? eol + 2 : NULL;
    }
    return NULL;
}

static int parse_status(const char *head)
{
    int major, minor, status;
    if (sscanf(head, "HTTP/%d.%d %d", &major, &minor, &status) != 3)
        return 0;
    return status;
}

/* True when the comma-separated header value contains token (any case). */
static bool has_token(const char *value, const char *token)
{
    size_t tlen = strlen(token);
    for (const char *p = value; p && *p; ) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        while (len > 0 && p[len - 1] == ' ')
            len--;
        if (len == tlen && strncasecmp(p, token, tlen) == 0)
            return true;
        p = e;
    }
    return false;
}

static struct wsc *wsc_new(int fd)
{
    struct wsc *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = fd;
    c->auto_pong = true;
    c->close_code = -1;
    c->next = open_list;
    if (open_list)
        open_list->prev = c;
    open_list = c;
    return c;
}

int wsc_fd(const struct wsc *c)
{
    return c ? c->fd : -1;
}

struct wsc *wsc_connect_status(int port, const char *path, int timeout_ms, int *status)
{
    return wsc_connect_with(port, path, NULL, timeout_ms, status);
}

struct wsc *wsc_connect_with(int port, const char *path, const char *extra_headers,
                             int timeout_ms, int *status)
{
    int64_t deadline = wsc_now_ms() + timeout_ms;
    *status = 0;
    int fd = wsc_raw_connect(port, timeout_ms);
    if (fd < 0) {
        fprintf(stderr, "wsc: cannot connect to port %d\n", port);
        return NULL;
    }
    struct wsc *c = wsc_new(fd);
    if (!c) {
        close(fd);
        return NULL;
    }
    unsigned char nonce[16];
    char key[32], accept[40];
    if (getrandom(nonce, sizeof nonce, 0) != (ssize_t)sizeof nonce ||
        lws_b64_encode_string((const char *)nonce, sizeof nonce, key, sizeof key) < 0)
        goto fail;
    char keyguid[128];
    unsigned char sha[20];
    snprintf(keyguid, sizeof keyguid, "%s%s", key, WS_GUID);
    lws_SHA1((const unsigned char *)keyguid, strlen(keyguid), sha);
    if (lws_b64_encode_string((const char *)sha, sizeof sha, accept, sizeof accept) < 0)
        goto fail;

    char req[2048];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s\r\n",
                     path, port, key, extra_headers ? extra_headers : "");
    if (n < 0 || (size_t)n >= sizeof req ||
        wsc_raw_send(fd, req, (size_t)n, remaining_ms(deadline)) != 0) {
        fprintf(stderr, "wsc: cannot send the upgrade request\n");
        goto fail;
    }
    size_t hlen = read_http_head(c, deadline);
    if (hlen == 0) {
        fprintf(stderr, "wsc: no complete upgrade response for %s within %d ms\n", path,
                timeout_ms);
        goto fail;
    }
    char *head = strndup((const char *)c->rbuf, hlen);
    if (!head)
        goto fail;
    consume(c, hlen); /* frames that followed the response stay buffered */
    *status = parse_status(head);
    const char *lines = strstr(head, "\r\n");
    lines = lines ? lines + 2 : "";
    char *h_upgrade = find_header(lines, "Upgrade");
    char *h_conn = find_header(lines, "Connection");
    char *h_accept = find_header(lines, "Sec-WebSocket-Accept");
    bool ok = *status == 101 && h_upgrade && strcasecmp(h_upgrade, "websocket") == 0 && h_conn &&
              has_token(h_conn, "upgrade") && h_accept && strcmp(h_accept, accept) == 0;
    if (!ok && *status == 101)
        fprintf(stderr, "wsc: bad 101 response (expected accept %s):\n%s", accept, head);
    else if (!ok)
        fprintf(stderr, "wsc: upgrade of %s refused with HTTP %d\n", path, *status);
    free(h_upgrade);
    free(h_conn);
    free(h_accept);
    free(head);
    if (ok)
        return c;
fail:
    wsc_free(c);
    return NULL;
}

int wsc_listen(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

struct wsc *wsc_accept(int listen_fd, int timeout_ms, char **path)
{
    int64_t deadline = wsc_now_ms() + timeout_ms;
    if (path)
        *path = NULL;
    if (wait_fd(listen_fd, POLLIN, deadline) != 1)
        return NULL;
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return NULL;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct wsc *c = wsc_new(fd);
    if (!c) {
        close(fd);
        return NULL;
    }
    c->server = true;
    size_t hlen = read_http_head(c, deadline);
    char *head = hlen ? strndup((const char *)c->rbuf, hlen) : NULL;
    if (!head) {
        fprintf(stderr, "wsc: no upgrade request within %d ms\n", timeout_ms);
        wsc_free(c);
        return NULL;
    }
    consume(c, hlen);
    const char *lines = strstr(head, "\r\n");
    char *key = find_header(lines ? lines + 2 : "", "Sec-WebSocket-Key");
    char keyguid[128], accept[40];
    unsigned char sha[20];
    bool ok = key && strncmp(head, "GET ", 4) == 0 && strlen(key) < 64;
    if (ok) {
        snprintf(keyguid, sizeof keyguid, "%s%s", key, WS_GUID);
        lws_SHA1((const unsigned char *)keyguid, strlen(keyguid), sha);
        ok = lws_b64_encode_string((const char *)sha, sizeof sha, accept, sizeof accept) >= 0;
    }
    char resp[256];
    int n = ok ? snprintf(resp, sizeof resp, "HTTP/1.1 101 Switching Protocols\r\n"
                          "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Accept: %s\r\n\r\n", accept)
               : 0;
    ok = ok && wsc_raw_send(fd, resp, (size_t)n, remaining_ms(deadline)) == 0;
    if (ok && path) {
        const char *sp = strchr(head + 4, ' ');
        *path = strndup(head + 4, sp ? (size_t)(sp - head - 4) : 0);
    }
    if (!ok)
        fprintf(stderr, "wsc: bad upgrade request:\n%s", head);
    free(key);
    free(head);
    if (ok)
        return c;
    wsc_free(c);
    return NULL;
}

struct wsc *wsc_connect(int port, const char *path, int timeout_ms)
{
    int status;
    return wsc_connect_status(port, path, timeout_ms, &status);
}

/* Decodes a chunked body in place. Returns its length, or -1 when the
 * chunks are malformed or incomplete. */
static long dechunk(char *body, size_t len)
{
    size_t in = 0, out = 0;
    for (;;) {
        char *eol = memmem(body + in, len - in, "\r\n", 2);
        if (!eol)
            return -1;
        char *end;
        unsigned long n = strtoul(body + in, &end, 16);
        if (end == body + in)
            return -1;
        in = (size_t)(eol - body) + 2;
        if (n == 0)
            return (long)out;
        if (n > len - in || len - in - n < 2)
            return -1;
        memmove(body + out, body + in, n);
        out += n;
        in += n + 2;
    }
}

/* True when buf holds a complete chunked body (up to the last chunk). */
static bool chunked_complete(const char *buf, size_t len)
{
    size_t at = 0;
    for (;;) {
        const char *eol = memmem(buf + at, len - at, "\r\n", 2);
        if (!eol)
            return false;
        unsigned long n = strtoul(buf + at, NULL, 16);
        at = (size_t)(eol - buf) + 2;
        if (n == 0)
            return true;
        if (n > len - at || len - at - n < 2)
            return false;
        at += n + 2;
    }
}

/* Sends one request on c, to the server on port (for the Host header).
 * Returns 0, or -1 (said on stderr). */
static int http_write(struct wsc *c, int port, const char *method, const char *path,
                      const char *extra_headers, const char *body, bool keep_alive,
                      int timeout_ms)
{
    const char *conn = keep_alive ? "" : "Connection: close\r\n";
    /* A body is JSON unless the test's own headers say what it is. */
    char *given = extra_headers ? find_header(extra_headers, "Content-Type") : NULL;
    const char *type = given ? "" : "Content-Type: application/json\r\n";
    free(given);
    char *req = NULL;
    int n;
    if (body)
        n = asprintf(&req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s%s%s"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, path, port, conn, type, extra_headers ? extra_headers : "",
                     strlen(body), body);
    else
        n = asprintf(&req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s%s\r\n", method, path,
                     port, conn, extra_headers ? extra_headers : "");
    if (n < 0 || wsc_raw_send(c->fd, req, (size_t)n, timeout_ms) != 0) {
        free(n < 0 ? NULL : req);
        fprintf(stderr, "http: cannot send %s %s\n", method, path);
        return -1;
    }
    free(req);
    return 0;
}

struct wsc *http_send(int port, const char *method, const char *path, const char *extra_headers,
                      const char *body, bool keep_alive, int timeout_ms)
{
    int64_t deadline = wsc_now_ms() + timeout_ms;
    int fd = wsc_raw_connect(port, timeout_ms);
    if (fd < 0) {
        fprintf(stderr, "http: cannot connect to port %d\n", port);
        return NULL;
    }
    struct wsc *c = wsc_new(fd);
    if (!c) {
        close(fd);
        return NULL;
    }
    if (http_write(c, port, method, path, extra_headers, body, keep_alive,
                   remaining_ms(deadline)) != 0) {
        wsc_free(c);
        return NULL;
    }
    return c;
}

int http_send_again(struct wsc *c, int port, const char *method, const char *path,
                    const char *extra_headers, const char *body, bool keep_alive, int timeout_ms)
{
    return c ? http_write(c, port, method, path, extra_headers, body, keep_alive, timeout_ms) : -1;
}

int http_recv(struct wsc *c, const char *method, int timeout_ms, struct http_response *resp)
{
    int64_t deadline = wsc_now_ms() + timeout_ms;
    memset(resp, 0, sizeof *resp);
    if (!c)
        return -1;
    size_t hlen = read_http_head(c, deadline);
    if (hlen == 0) {
        fprintf(stderr, "http: no complete response head for %s within %d ms\n", method,
                timeout_ms);
        return -1;
    }
    char *head = strndup((const char *)c->rbuf, hlen - 2); /* keep the last header's CRLF */
    consume(c, hlen);
    resp->status = parse_status(head);
    const char *first_eol = strstr(head, "\r\n");
    resp->headers = strdup(first_eol ? first_eol + 2 : "");
    free(head);

    char *cl = http_header(resp, "Content-Length");
    char *te = http_header(resp, "Transfer-Encoding");
    bool chunked = te && strcasestr(te, "chunked");
    bool head_only = strcmp(method, "HEAD") == 0 || resp->status == 204 || resp->status == 304;
    long want = cl && !chunked ? strtol(cl, NULL, 10) : -1;
    free(cl);
    free(te);
    int rc = 0;
    for (;;) {
        if (head_only || (want >= 0 && c->rlen >= (size_t)want))
            break;
        if (chunked && chunked_complete((const char *)c->rbuf, c->rlen))
            break;
        int got = fill(c, deadline);
        if (got == -1)
            break; /* connection closed: the body is what arrived */
        if (got != 1) {
            fprintf(stderr, "http: body of the %s response incomplete after %d ms\n", method,
                    timeout_ms);
            rc = -1;
            break;
        }
    }
    size_t len = head_only ? 0 : want >= 0 && c->rlen > (size_t)want ? (size_t)want : c->rlen;
    resp->body = malloc(len + 1);
    if (resp->body && len)
        memcpy(resp->body, c->rbuf, len);
    if (resp->body) {
        consume(c, len); /* a keep-alive connection goes on after it */
        resp->body[len] = '\0';
        resp->body_len = len;
        if (chunked) {
            long d = dechunk(resp->body, len);
            if (d < 0) {
                fprintf(stderr, "http: malformed chunked body of the %s response\n", method);
                rc = -1;
                d = 0;
            }
            resp->body_len = (size_t)d;
            resp->body[d] = '\0';
        }
    } else {
        rc = -1;
    }
    if (rc != 0)
        http_response_free(resp);
    return rc;
}

int http_request(int port, const char *method, const char *path, const char *extra_headers,
                 const char *body, int timeout_ms, struct http_response *resp)
{
    int64_t deadline = wsc_now_ms() + timeout_ms;
    memset(resp, 0, sizeof *resp);
    struct wsc *c = http_send(port, method, path, extra_headers, body, false, timeout_ms);
    if (!c)
        return -1;
    int rc = http_recv(c, method, remaining_ms(deadline), resp);
    if (rc != 0)
        fprintf(stderr, "http: %s %s failed\n", method, path);
    wsc_free(c);
    return rc;
}

int http_get(int port, const char *path, struct http_response *resp)
{
    return http_request(port, "GET", path, NULL, NULL, 5000, resp);
}

char *http_header(const struct http_response *resp, const char *name)
{
    return resp->headers ? find_header(resp->headers, name) : NULL;
}

void http_response_free(struct http_response *resp)
{
    free(resp->headers);
    free(resp->body);
    memset(resp, 0, sizeof *resp);
}
