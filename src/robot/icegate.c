/* icegate.c - the grammar, the allow-list, the address classes and the cap, per session. */
#include "robot/icegate.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "robot/candidate.h"

/* Addresses refused unless --ice-allow names them, most specific first
 * (the first match names the class). */
static const struct special {
    int family;
    uint8_t net[16];
    int prefix;
    const char *what;
} specials[] = {
    {.family = AF_INET, .net = {127}, .prefix = 8, .what = "loopback"},
    {.family = AF_INET, .net = {0}, .prefix = 8, .what = "unspecified"},
    {.family = AF_INET, .net = {169, 254}, .prefix = 16, .what = "link-local"},
    {.family = AF_INET, .net = {224}, .prefix = 4, .what = "multicast"},
    {.family = AF_INET, .net = {255, 255, 255, 255}, .prefix = 32, .what = "broadcast"},
    {.family = AF_INET, .net = {240}, .prefix = 4, .what = "reserved"},
    {.family = AF_INET6, .net = {0}, .prefix = 128, .what = "unspecified"},
    {.family = AF_INET6, .net = {[15] = 1}, .prefix = 128, .what = "loopback"},
    {.family = AF_INET6, .net = {[10] = 0xff, [11] = 0xff}, .prefix = 96, .what = "IPv4-mapped"},
    {.family = AF_INET6, .net = {0}, .prefix = 96, .what = "IPv4-compatible"},
    {.family = AF_INET6, .net = {0xfe, 0x80}, .prefix = 10, .what = "link-local"},
    {.family = AF_INET6, .net = {0xfe, 0xc0}, .prefix = 10, .what = "site-local"},
    {.family = AF_INET6, .net = {0xff}, .prefix = 8, .what = "multicast"},
    {.family = AF_INET6, .net = {0x01, 0x00}, .prefix = 64, .what = "discard-only"},
};

/* True when the first prefix bits of a and b agree. */
static bool same_prefix(const uint8_t *a, const uint8_t *b, int prefix)
{
    int whole = prefix / 8, rest = prefix % 8;
    if (memcmp(a, b, (size_t)whole) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xFF << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

const char *icegate_address_class(int family, const uint8_t bytes[16])
{
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++)
        if (specials[i].family == family && same_prefix(bytes, specials[i].net, specials[i].prefix))
            return specials[i].what;
    return NULL;
}

void icegate_init(struct icegate *g, const struct netlist *allow, size_t max, const char *name)
{
    memset(g, 0, sizeof *g);
    g->allow = allow;
    g->max = max ? max : ICEGATE_DEFAULT_MAX;
    snprintf(g->name, sizeof g->name, "%s", name ? name : "?");
}

/* Copies at most 120 characters of s for a log line, anything but
 * printable ASCII as '?'. */
static void printable(const char *s, char *out, size_t len)
{
    size_t i = 0;
    for (; s && s[i] && i + 1 < len && i < 120; i++)
        out[i] = (s[i] >= 0x20 && s[i] <= 0x7e) ? s[i] : '?';
    out[i] = '\0';
}

/* Counts and logs one refusal (the session's first at info). */
static void refusal(struct icegate *g, const char *line, const char *why)
{
    g->refused++;
    char shown[128];
    printable(line, shown, sizeof shown);
    if (!g->told) {
        g->told = true;
        log_info("session %s: remote candidate refused (%s): %s; further refusals of this "
                 "session are logged at debug level", g->name, why, shown);
    } else {
        log_debug("session %s: remote candidate refused (%s): %s", g->name, why, shown);
    }
}

/* The policy for a well-formed candidate: returns NULL when it may go to
 * libnice, else why not (in buf). */
static const char *policy(const struct icegate *g, const struct candidate *c, char *buf,
                          size_t len)
{
    bool listed = g->allow && g->allow->count > 0;
    if (c->addr.family == 0) {
        if (!listed)
            return NULL;
        snprintf(buf, len, "an mDNS name while an ICE allow-list is set");
        return buf;
    }
    if (listed && !netlist_allows(g->allow, c->addr.text)) {
        snprintf(buf, len, "%.46s is outside the ICE allow-list", c->addr.text);
        return buf;
    }
    const char *cls = icegate_address_class(c->addr.family, c->addr.bytes);
    if (cls && !listed) {
        snprintf(buf, len, "%.46s is a %s address (allowed only when --ice-allow names it)",
                 c->addr.text, cls);
        return buf;
    }
    if (g->admitted >= g->max) {
        snprintf(buf, len, "the session already has %zu remote candidates "
                 "(--max-remote-candidates)", g->max);
        return buf;
    }
    return NULL;
}

enum icegate_verdict icegate_admit(struct icegate *g, const char *line, char *out, size_t outlen,
                                   char *why, size_t whylen)
{
    struct candidate c;
    char reason[192];
    if (candidate_parse(line, &c, reason, sizeof reason) < 0) {
        snprintf(why, whylen, "%s", reason);
        char what[224];
        snprintf(what, sizeof what, "malformed: %s", reason);
        refusal(g, line, what);
        return ICEGATE_MALFORMED;
    }
    const char *no = policy(g, &c, reason, sizeof reason);
    if (!no && candidate_format(&c, out, outlen) < 0)
        no = "its canonical text does not fit";
    if (no) {
        snprintf(why, whylen, "%s", no);
        refusal(g, line, no);
        return ICEGATE_REFUSED;
    }
    g->admitted++;
    return ICEGATE_ADMIT;
}
