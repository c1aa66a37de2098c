/* iceconf.c - RTCIceServer JSON into webrtcbin's STUN and TURN URIs (iceconf.h). */
#include "robot/iceconf.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/iceurl.h"

/* Percent-encodes everything but RFC 3986's unreserved characters. */
static void pct_encode(const char *in, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && o + 4 < outlen; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
}

static void host_text(const struct iceurl *u, char *out, size_t outlen)
{
    snprintf(out, outlen, u->ipv6 ? "[%s]:%u" : "%s:%u", u->host, u->port);
}

/* Adds one URL of an entry. Returns 0, or -1 when out of memory. */
static int add_url(struct iceconf *c, const char *url, const char *user, const char *pass)
{
    struct iceurl u;
    char hp[ICEURL_MAX + 16];
    if (iceurl_parse(url, &u)) {
        c->skipped++;
        return 0;
    }
    host_text(&u, hp, sizeof hp);
    if (u.scheme == ICEURL_STUN) {
        if (c->stun) /* webrtcbin takes one STUN server */
            return 0;
        size_t n = strlen(hp) + 8;
        if (!(c->stun = malloc(n)))
            return -1;
        snprintf(c->stun, n, "stun://%s", hp);
        return 0;
    }
    if (u.scheme == ICEURL_STUNS || !user || !pass || c->nturn == ICECONF_MAX_TURN) {
        c->skipped++; /* webrtcbin has no STUN over TLS; TURN needs credentials */
        return 0;
    }
    char eu[3 * ICECONF_MAX_CREDENTIAL + 1], ep[3 * ICECONF_MAX_CREDENTIAL + 1];
    pct_encode(user, eu, sizeof eu);
    pct_encode(pass, ep, sizeof ep);
    size_t n = strlen(eu) + strlen(ep) + strlen(hp) + 40;
    char *uri = malloc(n);
    if (!uri)
        return -1;
    snprintf(uri, n, "%s://%s:%s@%s%s", u.scheme == ICEURL_TURNS ? "turns" : "turn", eu, ep, hp,
             u.transport == ICEURL_TCP ? "?transport=tcp" : "");
    c->turn[c->nturn++] = uri;
    return 0;
}

static const char *string_or_null(const json_t *obj, const char *key, bool *bad)
{
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return NULL;
    if (!json_is_string(v) || json_string_length(v) > ICECONF_MAX_CREDENTIAL ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        *bad = true;
        return NULL;
    }
    return json_string_value(v);
}

int iceconf_from_json(struct iceconf *c, const json_t *servers, char *err, size_t errlen)
{
    size_t i;
    const json_t *e;
    if (!json_is_array(servers)) {
        snprintf(err, errlen, "iceServers must be an array");
        return -1;
    }
    json_array_foreach(servers, i, e) {
        bool bad = false;
        const json_t *urls = json_object_get(e, "urls");
        const char *user = string_or_null(e, "username", &bad);
        const char *pass = string_or_null(e, "credential", &bad);
        if (!json_is_object(e) || bad || !(json_is_string(urls) || json_is_array(urls))) {
            snprintf(err, errlen, "iceServers[%zu] is not an RTCIceServer (urls, username, credential)", i);
            iceconf_clear(c);
            return -1;
        }
        size_t nurls = json_is_array(urls) ? json_array_size(urls) : 1;
        for (size_t k = 0; k < nurls; k++) {
            const json_t *url = json_is_array(urls) ? json_array_get(urls, k) : urls;
            if (!json_is_string(url)) {
                c->skipped++;
                continue;
            }
            if (add_url(c, json_string_value(url), user, pass) < 0) {
                snprintf(err, errlen, "out of memory");
                iceconf_clear(c);
                return -1;
            }
        }
    }
    return 0;
}

void iceconf_clear(struct iceconf *c)
{
    free(c->stun);
    for (size_t i = 0; i < c->nturn; i++)
        free(c->turn[i]);
    memset(c, 0, sizeof(*c));
}

char *iceconf_turn_list(const struct iceconf *c)
{
    size_t n = 1;
    for (size_t i = 0; i < c->nturn; i++)
        n += strlen(c->turn[i]) + 1;
    if (c->nturn == 0)
        return NULL;
    char *out = malloc(n);
    if (!out)
        return NULL;
    out[0] = '\0';
    for (size_t i = 0; i < c->nturn; i++) {
        if (i)
            strcat(out, ",");
        strcat(out, c->turn[i]);
    }
    return out;
}
