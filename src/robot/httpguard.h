/* httpguard.h - who may use the robot's REST API over HTTP: the checks
 * made on a request's headers, before its body is read.
 *
 * A web page the robot's user opens can send requests to 127.0.0.1 (simple
 * cross-site POSTs need no preflight) or reach it under its own name
 * through DNS rebinding; an API on another address is open to the network.
 * So, in this order:
 *   400  more than one Content-Length or Host header (a request two
 *        parsers could frame differently; libsoup 3.2 takes the last
 *        Content-Length), or no Host header;
 *   403  an API on loopback only answers Host 127.0.0.1, localhost or
 *        [::1], each with or without a port (DNS rebinding);
 *   403  a request with an Origin header not in the allowed origins (none
 *        by default: no web page may call the API);
 *   401  with a token configured, a request without "Authorization: Bearer
 *        <token>" or with another token (compared in constant time);
 *   415  a request with a body whose Content-Type is not application/json
 *        (then no HTML form or text/plain fetch can send one), or not the
 *        media type its resource takes (body_type: WHEP's application/sdp
 *        and application/trickle-ice-sdpfrag, which no form can send
 *        either).
 * A CORS preflight (OPTIONS) from an allowed origin carries no credentials:
 * it passes without the token, and api_http.c answers it itself.
 *
 * Pure: no I/O, no global state, any thread. */
#ifndef PORTHOLE_ROBOT_HTTPGUARD_H
#define PORTHOLE_ROBOT_HTTPGUARD_H

#include <stdbool.h>
#include <stddef.h>

/* The API's settings (borrowed strings; they outlive the guard's use). */
struct httpguard {
    bool loopback;          /* the API listens on a loopback address only */
    const char *origins;    /* comma-separated allowed origins, or NULL: none */
    const char *token;      /* the Bearer token every request needs, or NULL */
};

/* What the guard reads of one request (borrowed; NULL: header absent). */
struct httpguard_request {
    const char *method;
    const char *host;
    unsigned host_count;             /* Host headers in the request */
    unsigned content_length_count;   /* Content-Length headers in the request */
    const char *origin;
    const char *authorization;
    const char *content_type;
    bool has_body;                   /* Content-Length above 0, or chunked */
    const char *body_type;           /* the media type the resource takes; NULL: JSON */
};

/* Returns 0 when the request may go on, else its status (400, 401, 403,
 * 415) with detail (cut to len) saying what is wrong and what is
 * accepted, quoting at most 60 printable characters of any header. */
int httpguard_check(const struct httpguard *g, const struct httpguard_request *rq, char *detail,
                    size_t len);

/* True when origin (an Origin header's value) is one of g's origins. */
bool httpguard_origin_allowed(const struct httpguard *g, const char *origin);

#endif
