/* netlist.c - IP addresses and address/network lists (candidate lines: robot/candidate.c). */
#include "common/netlist.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/strlist.h"

/* Parses an IPv4 or IPv6 literal (an IPv6 zone "%eth0" is ignored) into
 * *family and addr. Returns 0, or -1 when s is not an IP literal. */
static int netlist_parse_ip(const char *s, size_t len, int *family, uint8_t addr[16])
{
    char buf[INET6_ADDRSTRLEN + 1];
    const char *zone = memchr(s, '%', len);
    if (zone != NULL)
        len = (size_t)(zone - s);
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    memset(addr, 0, 16);
    if (zone == NULL && inet_pton(AF_INET, buf, addr) == 1) {
        *family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, addr) == 1) {
        *family = AF_INET6;
        return 0;
    }
    return -1;
}

/* Clears the bits of addr past prefix. */
static void netlist_mask(uint8_t addr[16], int prefix, int bits)
{
    for (int i = 0; i < bits / 8; i++) {
        int keep = prefix - i * 8;
        if (keep >= 8)
            continue;
        addr[i] &= keep <= 0 ? 0 : (uint8_t)(0xFF << (8 - keep));
    }
}

/* Parses one trimmed item ("10.0.0.0/8", "::1") into e. Returns 0, or -1
 * with err naming the item and the reason. */
static int netlist_parse_item(const char *item, size_t len, struct netlist_entry *e,
                              char *err, size_t errlen)
{
    const char *slash = memchr(item, '/', len);
    size_t addr_len = slash != NULL ? (size_t)(slash - item) : len;
    int shown = len > 60 ? 60 : (int)len;
    if (netlist_parse_ip(item, addr_len, &e->family, e->addr) != 0 ||
        memchr(item, '%', addr_len) != NULL) {
        snprintf(err, errlen, "'%.*s' is not an IPv4 or IPv6 address (optionally /PREFIX)",
                 shown, item);
        return -1;
    }
    int bits = e->family == AF_INET ? 32 : 128;
    e->prefix = bits;
    if (slash != NULL) {
        const char *p = slash + 1;
        size_t plen = len - addr_len - 1;
        int v = 0;
        bool ok = plen >= 1 && plen <= 3;
        for (size_t i = 0; ok && i < plen; i++) {
            if (!isdigit((unsigned char)p[i]))
                ok = false;
            else
                v = v * 10 + (p[i] - '0');
        }
        if (!ok || v > bits) {
            snprintf(err, errlen, "'%.*s': prefix length must be 0..%d", shown, item, bits);
            return -1;
        }
        e->prefix = v;
    }
    netlist_mask(e->addr, e->prefix, bits);
    return 0;
}

int netlist_parse(const char *text, struct netlist *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (text == NULL || text[0] == '\0')
        return 0;
    char dummy[8];
    if (err == NULL || errlen == 0) {
        err = dummy;
        errlen = sizeof dummy;
    }
    const char *cursor = text;
    struct strlist_item it;
    while (strlist_next(&cursor, &it)) {
        if (it.len == 0) {
            snprintf(err, errlen, "empty item in '%.60s'", text);
            memset(out, 0, sizeof *out);
            return -1;
        }
        if (out->count == NETLIST_MAX) {
            snprintf(err, errlen, "'%.*s': too many items (max %d)",
                     (int)(it.len > 60 ? 60 : it.len), it.ptr, NETLIST_MAX);
            memset(out, 0, sizeof *out);
            return -1;
        }
        if (netlist_parse_item(it.ptr, it.len, &out->entries[out->count], err, errlen) != 0) {
            memset(out, 0, sizeof *out);
            return -1;
        }
        out->count++;
    }
    return 0;
}

/* True when addr (family, 16 bytes) lies inside e. */
static bool netlist_entry_contains(const struct netlist_entry *e, int family,
                                   const uint8_t addr[16])
{
    if (e->family != family)
        return false;
    uint8_t masked[16];
    memcpy(masked, addr, 16);
    netlist_mask(masked, e->prefix, family == AF_INET ? 32 : 128);
    return memcmp(masked, e->addr, family == AF_INET ? 4 : 16) == 0;
}

int netlist_addr_parse(const char *s, size_t len, struct netlist_addr *out)
{
    memset(out, 0, sizeof *out);
    if (s == NULL || memchr(s, '%', len) != NULL ||
        netlist_parse_ip(s, len, &out->family, out->addr) != 0) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (out->family == AF_INET6 && memcmp(out->addr, v4_mapped, 12) == 0) {
        memmove(out->addr, out->addr + 12, 4);
        memset(out->addr + 4, 0, 12);
        out->family = AF_INET;
    }
    return 0;
}

void netlist_addr_format(const struct netlist_addr *a, char *out, size_t len)
{
    if (len == 0)
        return;
    if ((a->family != AF_INET && a->family != AF_INET6) ||
        inet_ntop(a->family, a->addr, out, (socklen_t)len) == NULL)
        snprintf(out, len, "?");
}

bool netlist_contains(const struct netlist *list, const struct netlist_addr *a)
{
    if (list == NULL)
        return false;
    for (size_t i = 0; i < list->count; i++)
        if (netlist_entry_contains(&list->entries[i], a->family, a->addr))
            return true;
    return false;
}

bool netlist_allows(const struct netlist *list, const char *addr)
{
    if (list == NULL || list->count == 0)
        return true;
    if (addr == NULL)
        return false;
    int family;
    uint8_t bytes[16];
    if (netlist_parse_ip(addr, strlen(addr), &family, bytes) != 0)
        return false;
    for (size_t i = 0; i < list->count; i++)
        if (netlist_entry_contains(&list->entries[i], family, bytes))
            return true;
    return false;
}

size_t netlist_local_addresses(const struct netlist *list, char (*out)[46], size_t max)
{
    if (list == NULL || list->count == 0 || max == 0)
        return 0;
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) != 0)
        return 0;
    size_t n = 0;
    for (struct ifaddrs *i = ifs; i != NULL && n < max; i = i->ifa_next) {
        if (i->ifa_addr == NULL || !(i->ifa_flags & IFF_UP))
            continue;
        char text[INET6_ADDRSTRLEN];
        const void *src;
        int family = i->ifa_addr->sa_family;
        if (family == AF_INET)
            src = &((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr;
        else if (family == AF_INET6)
            src = &((const struct sockaddr_in6 *)(const void *)i->ifa_addr)->sin6_addr;
        else
            continue;
        if (inet_ntop(family, src, text, sizeof text) == NULL || !netlist_allows(list, text))
            continue;
        bool dup = false;
        for (size_t k = 0; k < n && !dup; k++)
            dup = strcmp(out[k], text) == 0;
        if (dup)
            continue;
        snprintf(out[n++], 46, "%s", text);
    }
    freeifaddrs(ifs);
    return n;
}
