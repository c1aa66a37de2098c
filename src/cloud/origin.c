/* origin.c - the --allowed-origins list and the Origin check. */
#include "cloud/origin.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "common/netlist.h"
#include "common/strlist.h"

/* Longest origin kept: a scheme, "://", a DNS name (253) and a port. */
#define ORIGIN_MAX 300

struct origin_list {
    bool any, self, loopback;
    size_t n;
    char **items; /* normalized origins */
};

/* An origin split up: scheme, host (brackets kept for IPv6) and port
 * (0: none, or the scheme's default). */
struct origin_parts {
    char scheme[16];
    char host[256];
    unsigned port;
};

static unsigned default_port(const char *scheme)
{
    if (strcmp(scheme, "http") == 0 || strcmp(scheme, "ws") == 0)
        return 80;
    if (strcmp(scheme, "https") == 0 || strcmp(scheme, "wss") == 0)
        return 443;
    return 0;
}

/* Parses "host[:port]" (len bytes) into p->host (lowercased) and p->port.
 * Returns 0, or -1 when malformed. */
static int parse_authority(const char *s, size_t len, struct origin_parts *p)
{
    size_t hl;
    if (len && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close)
            return -1;
        hl = (size_t)(close - s) + 1;
        for (size_t i = 1; i + 1 < hl; i++)
            if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
                return -1;
    } else {
        hl = 0;
        while (hl < len && s[hl] != ':') {
            if (!isalnum((unsigned char)s[hl]) && s[hl] != '-' && s[hl] != '.' && s[hl] != '_')
                return -1;
            hl++;
        }
    }
    if (hl == 0 || hl >= sizeof p->host)
        return -1;
    for (size_t i = 0; i < hl; i++)
        p->host[i] = (char)tolower((unsigned char)s[i]);
    p->host[hl] = '\0';
    p->port = 0;
    if (hl == len)
        return 0;
    if (s[hl] != ':' || len - hl < 2 || len - hl > 6)
        return -1;
    unsigned port = 0;
    for (size_t i = hl + 1; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        port = port * 10 + (unsigned)(s[i] - '0');
    }
    if (port == 0 || port > 65535)
        return -1;
    p->port = port;
    return 0;
}

/* Parses "scheme://host[:port]" (len bytes) into *p, dropping the
 * scheme's default port. Returns 0, or -1 when malformed. */
static int parse_origin(const char *s, size_t len, struct origin_parts *p)
{
    const char *sep = len > 3 ? strstr(s, "://") : NULL;
    if (!sep || (size_t)(sep - s) >= sizeof p->scheme || sep == s || (size_t)(sep - s) + 3 > len)
        return -1;
    size_t sl = (size_t)(sep - s);
    for (size_t i = 0; i < sl; i++) {
        char c = (char)tolower((unsigned char)s[i]);
        if (!(isalpha((unsigned char)c) || (i && (isdigit((unsigned char)c) || strchr("+.-", c)))))
            return -1;
        p->scheme[i] = c;
    }
    p->scheme[sl] = '\0';
    if (parse_authority(sep + 3, len - sl - 3, p) != 0)
        return -1;
    if (p->port == default_port(p->scheme))
        p->port = 0;
    return 0;
}

static void format_origin(const struct origin_parts *p, char *out, size_t len)
{
    if (p->port)
        snprintf(out, len, "%s://%s:%u", p->scheme, p->host, p->port);
    else
        snprintf(out, len, "%s://%s", p->scheme, p->host);
}

static bool item_is(const struct strlist_item *it, const char *word)
{
    return it->len == strlen(word) && strncasecmp(it->ptr, word, it->len) == 0;
}

/* Adds one item to l. Returns 0, or -1 with err set. */
static int add_item(struct origin_list *l, const struct strlist_item *it, char *err,
                    size_t errlen)
{
    int shown = it->len > 60 ? 60 : (int)it->len;
    if (item_is(it, "*")) {
        l->any = true;
        return 0;
    }
    if (item_is(it, "self")) {
        l->self = true;
        return 0;
    }
    if (item_is(it, "loopback")) {
        l->loopback = true;
        return 0;
    }
    size_t len = it->len;
    if (len && it->ptr[len - 1] == '/') /* "https://x.example/" as people write it */
        len--;
    struct origin_parts p;
    if (len > ORIGIN_MAX || parse_origin(it->ptr, len, &p) != 0) {
        snprintf(err, errlen, "'%.*s' is not an origin: use SCHEME://HOST[:PORT] (no path), "
                 "self, loopback or *", shown, it->ptr);
        return -1;
    }
    char text[ORIGIN_MAX + 16];
    format_origin(&p, text, sizeof text);
    char **items = realloc(l->items, (l->n + 1) * sizeof *items);
    if (!items || !(items[l->n] = strdup(text))) {
        if (items)
            l->items = items;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    l->items = items;
    l->n++;
    return 0;
}

int origin_list_parse(const char *text, struct origin_list **out, char *err, size_t errlen)
{
    *out = NULL;
    struct origin_list *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *cursor = text && *text ? text : NULL;
    struct strlist_item it;
    while (strlist_next(&cursor, &it)) {
        if (it.len == 0) {
            snprintf(err, errlen, "empty item in '%.60s'", text);
            origin_list_free(l);
            return -1;
        }
        if (add_item(l, &it, err, errlen) != 0) {
            origin_list_free(l);
            return -1;
        }
    }
    *out = l;
    return 0;
}

void origin_list_free(struct origin_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    free(l);
}

/* True when the Origin's host is this machine: localhost or a loopback
 * address. */
static bool is_loopback_host(const char *host)
{
    if (strcmp(host, "localhost") == 0)
        return true;
    const char *h = host;
    size_t len = strlen(h);
    if (len >= 2 && h[0] == '[') {
        h++;
        len -= 2;
    }
    struct netlist_addr a;
    if (netlist_addr_parse(h, len, &a) != 0)
        return false;
    static const uint8_t v6_loopback[16] = {[15] = 1};
    return a.family == AF_INET ? a.addr[0] == 127 : memcmp(a.addr, v6_loopback, 16) == 0;
}

/* True when the Host header names the origin's host and port. */
static bool same_as_host(const struct origin_parts *o, const char *host)
{
    struct origin_parts h;
    if (!host || parse_authority(host, strlen(host), &h) != 0)
        return false;
    if (h.port == default_port(o->scheme))
        h.port = 0;
    return strcmp(h.host, o->host) == 0 && h.port == o->port;
}

bool origin_allowed(const struct origin_list *l, const char *origin, const char *host)
{
    if (!origin || l->any)
        return true;
    struct origin_parts o;
    size_t len = strlen(origin);
    if (len > ORIGIN_MAX || parse_origin(origin, len, &o) != 0)
        return false;
    if (l->self && same_as_host(&o, host))
        return true;
    if (l->loopback && is_loopback_host(o.host))
        return true;
    char text[ORIGIN_MAX + 16];
    format_origin(&o, text, sizeof text);
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i], text) == 0)
            return true;
    return false;
}
