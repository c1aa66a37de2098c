/* iceurl.c - strict parser of STUN and TURN URLs (iceurl.h). */
#include "common/iceurl.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>

/* A DNS name (letters, digits, '-', '.'; labels 1..63 bytes, not starting
 * or ending with '-') or an IPv4 address. */
static bool dns_or_ipv4_ok(const char *h, size_t len)
{
    if (len == 0 || len > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c == '.') {
            if (label == 0 || h[i - 1] == '-')
                return false;
            label = 0;
        } else if (isalnum(c) || c == '-') {
            if ((label == 0 && c == '-') || ++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label > 0 && h[len - 1] != '-';
}

static const char *parse_scheme(const char *url, struct iceurl *out, const char **rest)
{
    static const struct {
        const char *prefix;
        enum iceurl_scheme scheme;
        unsigned port;
    } schemes[] = {
        {.prefix = "stun:", .scheme = ICEURL_STUN, .port = 3478},
        {.prefix = "stuns:", .scheme = ICEURL_STUNS, .port = 5349},
        {.prefix = "turn:", .scheme = ICEURL_TURN, .port = 3478},
        {.prefix = "turns:", .scheme = ICEURL_TURNS, .port = 5349},
    };
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        size_t n = strlen(schemes[i].prefix);
        if (strncmp(url, schemes[i].prefix, n) == 0) {
            out->scheme = schemes[i].scheme;
            out->port = schemes[i].port;
            *rest = url + n;
            return NULL;
        }
    }
    return "must start with stun:, stuns:, turn: or turns:";
}

/* Splits HOST[:PORT] (end excluded) into out->host and out->port. */
static const char *parse_hostport(const char *s, const char *end, struct iceurl *out)
{
    const char *host = s, *host_end = end, *port = NULL;
    if (*s == '[') {
        const char *close = memchr(s, ']', (size_t)(end - s));
        if (!close)
            return "has an unterminated IPv6 address";
        host = s + 1;
        host_end = close;
        if (close + 1 < end) {
            if (close[1] != ':')
                return "has characters after the IPv6 address";
            port = close + 2;
        }
        out->ipv6 = true;
    } else {
        const char *colon = memchr(s, ':', (size_t)(end - s));
        if (colon) {
            host_end = colon;
            port = colon + 1;
        }
        out->ipv6 = false;
    }
    size_t len = (size_t)(host_end - host);
    if (len == 0 || len >= sizeof out->host)
        return "has no valid host (a DNS name, an IPv4 address or [IPv6])";
    memcpy(out->host, host, len);
    out->host[len] = '\0';
    struct in6_addr a6;
    if (out->ipv6 ? inet_pton(AF_INET6, out->host, &a6) != 1 : !dns_or_ipv4_ok(host, len))
        return "has no valid host (a DNS name, an IPv4 address or [IPv6])";
    if (port) {
        unsigned long v = 0;
        if (port == end)
            return "has an empty port";
        for (const char *p = port; p < end; p++) {
            if (!isdigit((unsigned char)*p) || (v = v * 10 + (unsigned long)(*p - '0')) > 65535)
                return "port must be 1..65535";
        }
        if (v < 1)
            return "port must be 1..65535";
        out->port = (unsigned)v;
    }
    return NULL;
}

const char *iceurl_parse(const char *url, struct iceurl *out)
{
    const char *rest, *why;
    if (!url || strlen(url) >= ICEURL_MAX)
        return "is longer than 255 bytes";
    if ((why = parse_scheme(url, out, &rest)))
        return why;
    if (rest[0] == '/' && rest[1] == '/')
        return "has '//' after the scheme (RFC 7064/7065 form is scheme:host[:port])";
    if (strchr(rest, '@'))
        return "must not carry user info (user@host)";
    const char *query = strchr(rest, '?');
    const char *end = query ? query : rest + strlen(rest);
    if ((why = parse_hostport(rest, end, out)))
        return why;
    out->transport = ICEURL_ANY;
    if (query) {
        if (!iceurl_is_turn(out))
            return "must not have a query (only turn: URLs take ?transport=)";
        if (strcmp(query, "?transport=udp") == 0)
            out->transport = ICEURL_UDP;
        else if (strcmp(query, "?transport=tcp") == 0)
            out->transport = ICEURL_TCP;
        else
            return "query must be ?transport=udp or ?transport=tcp";
    }
    return NULL;
}

bool iceurl_is_turn(const struct iceurl *u)
{
    return u->scheme == ICEURL_TURN || u->scheme == ICEURL_TURNS;
}
