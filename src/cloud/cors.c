/* cors.c - CORS headers and preflights for the HTTP API (cors.h). */
#include "cloud/cors.h"

#include <stdio.h>
#include <string.h>

#include "cloud/http_reply.h"

/* Every method and request header some route under /api/ or /socket.io
 * accepts; each route still refuses what it does not take (405 with
 * Allow), and the browser shows the page that refusal. */
static const char allow_methods[] = "GET, POST, PUT, PATCH, DELETE";
static const char allow_headers[] = "authorization, content-type, if-match";
/* Response headers a page may read besides the basic ones: WHEP's
 * resource (Location, ETag, Link, Accept-Patch) and 429's Retry-After. */
static const char expose_headers[] = "location, etag, link, accept-patch, retry-after";

/* Copies wsi's Origin into out when it is there and fit to echo: 1 to
 * CORS_ORIGIN_MAX visible ASCII characters. */
static bool echoable_origin(struct lws *wsi, char out[CORS_ORIGIN_MAX + 1])
{
    int len = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);
    if (len <= 0 || len > CORS_ORIGIN_MAX ||
        lws_hdr_copy(wsi, out, CORS_ORIGIN_MAX + 1, WSI_TOKEN_ORIGIN) != len)
        return false;
    for (const char *p = out; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return false;
    return true;
}

bool cors_request(struct conn *c)
{
    char *uri;
    int uri_len;
    bool options = lws_http_get_uri_and_method(c->wsi, &uri, &uri_len) == LWSHUMETH_OPTIONS;
    char origin[CORS_ORIGIN_MAX + 1];
    if (!echoable_origin(c->wsi, origin))
        return false;
    /* A preflight is an OPTIONS that names the method to come; an OPTIONS
     * without it is a request of its own (WHEP's asks for the ICE
     * servers) and goes to its route, with the headers below. */
    static const char acrm[] = "access-control-request-method:";
    bool preflight = options && lws_hdr_custom_length(c->wsi, acrm, (int)sizeof acrm - 1) > 0;
    /* Out of memory drops a header: the browser then keeps the answer
     * from the page, which is the safe side. */
    http_reply_header(c, "access-control-allow-origin", origin);
    http_reply_header(c, "vary", "Origin");
    if (!preflight) {
        http_reply_header(c, "access-control-expose-headers", expose_headers);
        return false;
    }
    http_reply_header(c, "access-control-allow-methods", allow_methods);
    http_reply_header(c, "access-control-allow-headers", allow_headers);
    char age[16];
    snprintf(age, sizeof age, "%d", CORS_MAX_AGE_S);
    http_reply_header(c, "access-control-max-age", age);
    /* Chromium's Private Network Access asks before a public page may
     * reach a cloud on a private address (a LAN or lab deployment). */
    static const char pna[] = "access-control-request-private-network:";
    if (lws_hdr_custom_length(c->wsi, pna, (int)sizeof pna - 1) > 0)
        http_reply_header(c, "access-control-allow-private-network", "true");
    http_reply_set(c, HTTP_STATUS_NO_CONTENT, NULL, NULL);
    return true;
}
