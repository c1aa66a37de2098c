/* forwarded.c - the client's address from X-Forwarded-For. */
#include "cloud/forwarded.h"

#include <string.h>
#include <sys/socket.h>

/* Parses one list entry (s, len bytes, trimmed here) into *out: a bare
 * IPv4 or IPv6 address, "[v6]" or "[v6]:port", or "v4:port". Returns 0,
 * or -1 when it is none of these. */
static int parse_entry(const char *s, size_t len, struct netlist_addr *out)
{
    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len && *s == '[') {
        const char *close = memchr(s, ']', len);
        if (!close)
            return -1;
        size_t rest = len - (size_t)(close - s) - 1;
        if (rest && close[1] != ':')
            return -1;
        return netlist_addr_parse(s + 1, (size_t)(close - s) - 1, out);
    }
    const char *colon = memchr(s, ':', len);
    if (colon && !memchr(colon + 1, ':', len - (size_t)(colon - s) - 1) &&
        netlist_addr_parse(s, (size_t)(colon - s), out) == 0 && out->family == AF_INET)
        return 0; /* "v4:port" (one colon: an IPv6 address has at least two) */
    return netlist_addr_parse(s, len, out);
}

bool forwarded_client(const struct netlist_addr *peer, const char *xff,
                      const struct netlist *trusted, struct netlist_addr *client)
{
    *client = *peer;
    if (!xff || !*xff || !netlist_contains(trusted, peer))
        return false;
    bool from_xff = false;
    const char *end = xff + strlen(xff);
    for (;;) {
        const char *start = end;
        while (start > xff && start[-1] != ',')
            start--;
        struct netlist_addr a;
        if (parse_entry(start, (size_t)(end - start), &a) != 0)
            return from_xff;
        *client = a;
        from_xff = true;
        if (!netlist_contains(trusted, &a) || start == xff)
            return true;
        end = start - 1; /* before the comma */
    }
}
