/* wsclient.h - a small blocking WebSocket (RFC 6455) and HTTP/1.1 client
 * over plain TCP, for integration tests.
 *
 * Every call that waits takes a timeout in milliseconds and never waits
 * longer: a test can hang only as long as the sum of its timeouts. Nothing
 * here calls cmocka; failures are returned and described on stderr, and
 * the tests decide what they mean.
 *
 * One struct wsc is one connection, used by one thread. Frames we send are
 * masked with getrandom(2) keys; frames we receive must be unmasked. Pings
 * are answered with pongs while receiving, unless wsc_set_auto_pong(c,
 * false) was called (to play a dead peer). */
#ifndef PORTHOLE_TESTS_WSCLIENT_H
#define PORTHOLE_TESTS_WSCLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum wsc_opcode {
    WSC_OP_CONT = 0x0,
    WSC_OP_TEXT = 0x1,
    WSC_OP_BINARY = 0x2,
    WSC_OP_CLOSE = 0x8,
    WSC_OP_PING = 0x9,
    WSC_OP_PONG = 0xA,
};

enum wsc_event {
    WSC_MESSAGE, /* a complete data message (fragments reassembled) */
    WSC_CLOSE,   /* the peer sent a close frame; code in close_code */
    WSC_EOF,     /* TCP closed or reset without a close frame */
    WSC_TIMEOUT, /* nothing complete arrived in time */
    WSC_ERROR,   /* the peer broke the protocol, or a local error */
};

struct wsc_msg {
    enum wsc_event event;
    int opcode;     /* WSC_OP_TEXT or WSC_OP_BINARY for WSC_MESSAGE */
    char *data;     /* WSC_MESSAGE: payload plus a NUL (not counted in len) */
    size_t len;
    int close_code; /* WSC_CLOSE: the code, 1005 when the frame had none */
};

struct wsc;

/* Connects to 127.0.0.1:port, upgrades path to a WebSocket and checks the
 * 101 response (Upgrade, Connection, Sec-WebSocket-Accept). Returns the
 * connection, or NULL when anything fails or took longer than timeout_ms
 * (the reason goes to stderr). Release with wsc_close() or wsc_abort(). */
struct wsc *wsc_connect(int port, const char *path, int timeout_ms);

/* Like wsc_connect(), and also stores the HTTP status of the upgrade
 * response in *status (0 when none arrived), for tests of refused upgrades. */
struct wsc *wsc_connect_status(int port, const char *path, int timeout_ms, int *status);

/* Like wsc_connect_status(), with extra_headers (each line ending in
 * \r\n, or NULL) added to the upgrade request: Origin, X-Forwarded-For. */
struct wsc *wsc_connect_with(int port, const char *path, const char *extra_headers,
                             int timeout_ms, int *status);

/* Makes every later connection of this process (WebSocket, HTTP, raw)
 * come from the local IPv4 address src, such as "127.0.0.2" (any address
 * of 127.0.0.0/8 works on lo), for tests of per-address limits; NULL or
 * "" goes back to the kernel's choice. The string is copied. */
void wsc_set_source(const char *src);

/* The socket of c, for tests that write raw bytes on an HTTP connection
 * (a body trickled byte by byte) with wsc_raw_send(). */
int wsc_fd(const struct wsc *c);

/* The server end, for a test that plays porthole-cloud to a robot: a TCP
 * listener on 127.0.0.1 (port chosen by the kernel, stored in *port).
 * Returns the socket, or -1. Close it with close(). */
int wsc_listen(int *port);

/* Accepts one connection on listen_fd within timeout_ms and completes its
 * WebSocket upgrade (101 with Sec-WebSocket-Accept). The connection is then
 * used as any other (wsc_recv, wsc_send_text, wsc_close...) but for its
 * direction: frames it receives must be masked, frames it sends are not.
 * Stores the request path in *path (malloc'd) when path is not NULL.
 * Returns NULL when nothing connected in time or the request was not an
 * upgrade (said on stderr). */
struct wsc *wsc_accept(int listen_fd, int timeout_ms, char **path);

/* Sends one frame as given (masked when this end is a client): opcode, FIN
 * bit and payload are not checked, so tests can send fragments, binary or
 * invalid UTF-8. Returns 0, or -1 when the socket would not take the bytes
 * within 5 s or failed. */
int wsc_send_frame(struct wsc *c, int opcode, bool fin, const void *payload, size_t len);

/* Sends s as one text frame. Returns as wsc_send_frame(). */
int wsc_send_text(struct wsc *c, const char *s);

/* Sends printf-formatted text as one text frame. Returns as wsc_send_frame(). */
int wsc_sendf(struct wsc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Serializes j compactly and sends it as one text frame, then releases j
 * (the reference is stolen, so json_pack() can be passed directly). NULL j
 * returns -1. */
int wsc_send_json(struct wsc *c, json_t *j);

/* Waits up to timeout_ms for the next event and fills *out. Control frames
 * are handled here: pings are answered (when auto-pong is on) and counted,
 * pongs are counted, a close frame is answered once and reported. After a
 * WSC_CLOSE or WSC_EOF, later calls report the same event at once. The
 * caller frees out->data with wsc_msg_free(). */
enum wsc_event wsc_recv(struct wsc *c, int timeout_ms, struct wsc_msg *out);

/* Frees the data of a message filled by wsc_recv(); the struct is reset. */
void wsc_msg_free(struct wsc_msg *m);

/* Returns the next text message parsed as a JSON object, or NULL on
 * timeout, close, a binary message or text that is not a JSON object
 * (each described on stderr). The caller owns the reference. */
json_t *wsc_recv_json(struct wsc *c, int timeout_ms);

/* Receives messages until one is a JSON object whose "type" is type, and
 * returns it (the caller owns it); messages of other types are dropped and
 * counted. Returns NULL when none arrived within timeout_ms in total or the
 * connection closed. */
json_t *wsc_expect_type(struct wsc *c, const char *type, int timeout_ms);

/* Receives until the connection closes, dropping messages. Returns the
 * peer's close code, -1 when TCP closed without a close frame, -2 when
 * still open after timeout_ms. */
int wsc_expect_close(struct wsc *c, int timeout_ms);

/* The reason text of the peer's close frame ("" before one, or without). */
const char *wsc_close_reason(const struct wsc *c);

/* True when no data message and no close arrives within ms (pings are still
 * answered). A message that does arrive is printed to stderr. */
bool wsc_expect_silence(struct wsc *c, int ms);

/* Text of the last data message received (or ""), for failure messages. */
const char *wsc_last_text(const struct wsc *c);

/* Turns automatic pong replies on (the default) or off. */
void wsc_set_auto_pong(struct wsc *c, bool on);

/* Pings received from the peer so far. */
unsigned wsc_pings_received(const struct wsc *c);

/* Messages dropped by wsc_expect_type() so far. */
unsigned wsc_skipped(const struct wsc *c);

/* Sends a close frame (1000) unless one was sent, waits up to 1 s for the
 * peer's close or EOF, closes the socket and frees c. NULL is allowed. */
void wsc_close(struct wsc *c);

/* Closes the socket at once, without a close frame, and frees c. NULL is
 * allowed. */
void wsc_abort(struct wsc *c);

/* Aborts (as wsc_abort) every connection not yet closed or aborted, and
 * returns how many there were. For teardown after a failed test: the
 * client keeps a process-wide list of its open connections for this. */
unsigned wsc_abort_all(void);

/* ---- Raw TCP and HTTP ---- */

/* Returns a connected non-blocking TCP socket to 127.0.0.1:port (TCP_NODELAY,
 * close-on-exec), or -1. The functions below wait on it with poll(). */
int wsc_raw_connect(int port, int timeout_ms);

/* Writes all len bytes to fd within timeout_ms. Returns 0 or -1. */
int wsc_raw_send(int fd, const void *buf, size_t len, int timeout_ms);

/* Reads and drops whatever fd receives until the peer closes (EOF or
 * reset). Returns the milliseconds waited, or -1 when fd was still open
 * after timeout_ms. Does not close fd. */
int wsc_raw_wait_closed(int fd, int timeout_ms);

struct http_response {
    int status;      /* e.g. 200; 0 when no status line arrived */
    char *headers;   /* the header block after the status line, NUL-terminated */
    char *body;      /* the body (de-chunked), plus a NUL not counted in body_len */
    size_t body_len;
};

/* Sends "METHOD path HTTP/1.1" with Host and "Connection: close", plus
 * extra_headers (each line ending in \r\n, or NULL) and body (or NULL),
 * and reads the whole response within timeout_ms. A body goes with
 * "Content-Type: application/json" unless extra_headers has a Content-Type
 * of its own. path is sent verbatim. Returns 0 and fills *resp (free with
 * http_response_free), or -1. */
int http_request(int port, const char *method, const char *path, const char *extra_headers,
                 const char *body, int timeout_ms, struct http_response *resp);

/* The same in two steps, so that a test can act (play the robot, hang
 * up) while a request waits for its response. http_send() connects and
 * sends the request as http_request() does ("Connection: close" unless
 * keep_alive) without waiting for the response; it returns the
 * connection, or NULL (said on stderr). Release it with wsc_abort(), which
 * also is how a test hangs up on the server. http_send_again() sends
 * another request on a keep-alive connection (port is for the Host
 * header); returns 0 or -1. */
struct wsc *http_send(int port, const char *method, const char *path, const char *extra_headers,
                      const char *body, bool keep_alive, int timeout_ms);
int http_send_again(struct wsc *c, int port, const char *method, const char *path,
                    const char *extra_headers, const char *body, bool keep_alive, int timeout_ms);

/* Reads one response on c within timeout_ms (method tells whether a body
 * follows: none for HEAD). Returns 0 and fills *resp, or -1. */
int http_recv(struct wsc *c, const char *method, int timeout_ms, struct http_response *resp);

/* GET with a 5 s timeout. Returns as http_request(). */
int http_get(int port, const char *path, struct http_response *resp);

/* Returns a malloc'd copy of the first header named name (case-insensitive),
 * trimmed, or NULL when absent. */
char *http_header(const struct http_response *resp, const char *name);

/* Frees what http_request() filled; the struct is reset. */
void http_response_free(struct http_response *resp);

/* Monotonic milliseconds, for tests that measure how long things take. */
int64_t wsc_now_ms(void);

#endif
