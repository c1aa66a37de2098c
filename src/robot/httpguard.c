/* httpguard.c - the REST API's header checks: framing, Host, Origin, token, Content-Type. */
#include "robot/httpguard.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/strlist.h"
#include "robot/credential.h"

/* A header value for a message: at most 60 characters, anything but
 * printable ASCII as '?'. */
static const char *shown(const char *v, char *buf, size_t len)
{
    size_t i = 0;
    for (; v[i] && i + 1 < len && i < 60; i++)
        buf[i] = (v[i] >= 0x20 && v[i] <= 0x7e) ? v[i] : '?';
    buf[i] = '\0';
    if (v[i] && len > 4 && i >= 3)
        memcpy(buf + i - 3, "...", 3);
    return buf;
}

/* True when s is empty or ":" and 1 to 5 digits. */
static bool port_suffix(const char *s)
{
    if (*s == '\0')
        return true;
    if (*s++ != ':')
        return false;
    size_t n = strspn(s, "0123456789");
    return n >= 1 && n <= 5 && s[n] == '\0';
}

/* True when host names this machine's loopback: 127.0.0.1, localhost or
 * [::1], with or without a port. */
static bool loopback_host(const char *host)
{
    static const char *const names[] = {"127.0.0.1", "localhost", "[::1]"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t n = strlen(names[i]);
        if (strncasecmp(host, names[i], n) == 0 && port_suffix(host + n))
            return true;
    }
    return false;
}

bool httpguard_origin_allowed(const struct httpguard *g, const char *origin)
{
    if (!origin || !g->origins)
        return false;
    size_t olen = strlen(origin);
    const char *cursor = g->origins;
    struct strlist_item it;
    while (strlist_next(&cursor, &it))
        if (it.len == olen && strncasecmp(it.ptr, origin, olen) == 0)
            return true;
    return false;
}

/* True when the media type of a Content-Type value is want (parameters
 * such as "; charset=utf-8" allowed). */
static bool media_type_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, want, n) != 0)
        return false;
    ct += n;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

/* The token of an "Authorization: Bearer <token>" value, or NULL. */
static const char *bearer(const char *auth)
{
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return NULL;
    auth += 7;
    while (*auth == ' ')
        auth++;
    return *auth ? auth : NULL;
}

int httpguard_check(const struct httpguard *g, const struct httpguard_request *rq, char *detail,
                    size_t len)
{
    char q[72];
    if (rq->content_length_count > 1) {
        snprintf(detail, len, "the request has %u Content-Length headers; one at most is "
                 "accepted", rq->content_length_count);
        return 400;
    }
    if (rq->host_count != 1 || !rq->host) {
        snprintf(detail, len, "the request has %u Host headers; exactly one is required",
                 rq->host ? rq->host_count : 0);
        return 400;
    }
    if (g->loopback && !loopback_host(rq->host)) {
        snprintf(detail, len, "Host '%s' is not this API's: it listens on loopback and answers "
                 "only Host 127.0.0.1, localhost or [::1] (with or without a port)",
                 shown(rq->host, q, sizeof q));
        return 403;
    }
    bool allowed_origin = httpguard_origin_allowed(g, rq->origin);
    if (rq->origin && !allowed_origin) {
        snprintf(detail, len, "requests from web pages are refused: Origin '%s' is not in "
                 "--api-allowed-origins", shown(rq->origin, q, sizeof q));
        return 403;
    }
    bool preflight = allowed_origin && rq->method && strcmp(rq->method, "OPTIONS") == 0;
    if (g->token && !preflight) {
        const char *given = bearer(rq->authorization);
        if (!given) {
            snprintf(detail, len, "this API needs 'Authorization: Bearer <token>' (the token "
                     "of --api-token, ROBOT_API_TOKEN or --api-token-file)");
            return 401;
        }
        if (!credential_equal(given, g->token)) {
            snprintf(detail, len, "the Bearer token is not this API's");
            return 401;
        }
    }
    if (rq->has_body && rq->body_type &&
        (!rq->content_type || !media_type_is(rq->content_type, rq->body_type))) {
        snprintf(detail, len, "this resource takes a body of type %s (got %s%s%s)",
                 rq->body_type, rq->content_type ? "'" : "",
                 rq->content_type ? shown(rq->content_type, q, sizeof q) : "none",
                 rq->content_type ? "'" : "");
        return 415;
    }
    if (rq->has_body && !rq->body_type &&
        (!rq->content_type || !media_type_is(rq->content_type, "application/json"))) {
        snprintf(detail, len, "a request body must be JSON: send 'Content-Type: "
                 "application/json' (got %s%s%s)", rq->content_type ? "'" : "",
                 rq->content_type ? shown(rq->content_type, q, sizeof q) : "none",
                 rq->content_type ? "'" : "");
        return 415;
    }
    return 0;
}
