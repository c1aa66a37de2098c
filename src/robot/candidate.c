/* candidate.c - the strict grammar of a remote ICE candidate and its canonical text. */
#include "robot/candidate.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define MAX_FIELDS 24 /* 8 fixed, raddr/rport and 5 extensions as pairs, and one too many */

/* One space-separated field of the line. */
struct field {
    const char *p;
    size_t len;
};

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* A field for an error message: at most 40 characters (printable ASCII
 * already: the line was checked before it was split). */
#define SHOW(f) (int)((f).len > 40 ? 40 : (f).len), (f).p

static bool is_word(const struct field *f, const char *word)
{
    return f->len == strlen(word) && memcmp(f->p, word, f->len) == 0;
}

/* ice-char: ALPHA / DIGIT / "+" / "/". */
static bool ice_chars(const struct field *f, size_t max)
{
    if (f->len == 0 || f->len > max)
        return false;
    for (size_t i = 0; i < f->len; i++) {
        char ch = f->p[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '+' || ch == '/';
        if (!ok)
            return false;
    }
    return true;
}

/* A decimal number without sign or leading zero (but "0"), in [min, max]. */
static bool number(const struct field *f, uint64_t min, uint64_t max, uint64_t *out)
{
    if (f->len == 0 || f->len > 10 || (f->p[0] == '0' && f->len > 1))
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < f->len; i++) {
        if (f->p[i] < '0' || f->p[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(f->p[i] - '0');
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* An mDNS name: labels of 1..63 letters, digits and hyphens (not first or
 * last), separated by dots, the last label "local"; written in lower case
 * into out. */
static bool mdns_name(const struct field *f, char *out)
{
    static const char suffix[] = ".local";
    size_t slen = sizeof suffix - 1;
    if (f->len <= slen || f->len > CANDIDATE_NAME_MAX ||
        strncasecmp(f->p + f->len - slen, suffix, slen) != 0)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < f->len; i++) {
        char ch = f->p[i];
        if (ch == '.') {
            if (label == 0 || f->p[i - 1] == '-')
                return false;
            label = 0;
        } else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                   (ch >= '0' && ch <= '9') || (ch == '-' && label > 0)) {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
        out[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
    }
    out[f->len] = '\0';
    return true;
}

/* ADDRESS: an IPv4 or IPv6 literal (inet_pton's strict forms: a dotted
 * quad without leading zeros; IPv6 without zone or brackets) or an mDNS
 * name. Which one is decided by the characters, so that "127.1" or
 * "0x7f.0.0.1" are refused as IPv4 rather than taken for names. */
static bool address(const struct field *f, struct candidate_addr *a)
{
    char buf[64];
    memset(a, 0, sizeof *a);
    bool ipv6 = memchr(f->p, ':', f->len) != NULL, dotted = true;
    for (size_t i = 0; i < f->len; i++)
        dotted &= (f->p[i] >= '0' && f->p[i] <= '9') || f->p[i] == '.';
    if (ipv6 || dotted) {
        if (f->len >= sizeof buf)
            return false;
        memcpy(buf, f->p, f->len);
        buf[f->len] = '\0';
        a->family = ipv6 ? AF_INET6 : AF_INET;
        if (inet_pton(a->family, buf, a->bytes) != 1)
            return false;
        return inet_ntop(a->family, a->bytes, a->text, sizeof a->text) != NULL;
    }
    return mdns_name(f, a->text);
}

/* Splits the line after "candidate:" into fields. Returns the count, or -1
 * with err set. */
static int split(const char *s, struct field *fields, char *err, size_t errlen)
{
    int n = 0;
    if (*s == '\0')
        return 0;
    for (;;) {
        const char *sp = strchr(s, ' ');
        size_t len = sp ? (size_t)(sp - s) : strlen(s);
        if (len == 0)
            return fail(err, errlen, "fields must be separated by exactly one space, with none "
                        "before or after them");
        if (n == MAX_FIELDS)
            return fail(err, errlen, "it has more than %d fields", MAX_FIELDS - 1);
        fields[n++] = (struct field){.p = s, .len = len};
        if (!sp)
            return n;
        s = sp + 1;
    }
}

/* The eight fields every candidate has. Returns 0, or -1 with err. */
static int parse_fixed(const struct field *f, struct candidate *c, char *err, size_t errlen)
{
    uint64_t v;
    if (!ice_chars(&f[0], 32))
        return fail(err, errlen, "the foundation '%.*s' must be 1 to 32 characters of A-Z a-z "
                    "0-9 + /", SHOW(f[0]));
    memcpy(c->foundation, f[0].p, f[0].len);
    c->foundation[f[0].len] = '\0';
    if (!number(&f[1], 1, 256, &v))
        return fail(err, errlen, "the component '%.*s' must be 1..256 without leading zeros",
                    SHOW(f[1]));
    c->component = (unsigned)v;
    if (f[2].len == 3 && strncasecmp(f[2].p, "udp", 3) == 0)
        c->transport = CANDIDATE_UDP;
    else if (f[2].len == 3 && strncasecmp(f[2].p, "tcp", 3) == 0)
        c->transport = CANDIDATE_TCP;
    else
        return fail(err, errlen, "the transport '%.*s' must be UDP or TCP", SHOW(f[2]));
    if (!number(&f[3], 1, 0x7fffffff, &v))
        return fail(err, errlen, "the priority '%.*s' must be 1..2147483647 without leading "
                    "zeros", SHOW(f[3]));
    c->priority = (uint32_t)v;
    if (!address(&f[4], &c->addr))
        return fail(err, errlen, "the address '%.*s' must be an IPv4 or IPv6 literal or an "
                    "mDNS name (NAME.local)", SHOW(f[4]));
    if (!number(&f[5], 1, 65535, &v))
        return fail(err, errlen, "the port '%.*s' must be 1..65535 without leading zeros",
                    SHOW(f[5]));
    c->port = (unsigned)v;
    if (!is_word(&f[6], "typ"))
        return fail(err, errlen, "field 7 is '%.*s'; it must be 'typ' (in lower case)",
                    SHOW(f[6]));
    static const char *const types[] = {"host", "srflx", "prflx", "relay"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (is_word(&f[7], types[i])) {
            c->type = (enum candidate_type)i;
            return 0;
        }
    return fail(err, errlen, "the type '%.*s' must be host, srflx, prflx or relay",
                SHOW(f[7]));
}

/* One NAME VALUE pair after the type. *seen holds a bit per name already
 * read (a pair may come once); pair is the index of this pair (raddr and
 * rport must be the first ones). Returns 0, or -1 with err. */
static int parse_pair(const struct field *name, const struct field *val, int pair,
                      unsigned *seen, struct candidate *c, char *err, size_t errlen)
{
    static const char *const names[] = {"raddr", "rport", "tcptype", "generation",
                                        "ufrag", "network-id", "network-cost"};
    size_t k = 0, n = sizeof names / sizeof names[0];
    while (k < n && !is_word(name, names[k]))
        k++;
    if (k == n)
        return fail(err, errlen, "unknown extension '%.*s' (known: raddr, rport, tcptype, "
                    "generation, ufrag, network-id, network-cost)", SHOW(*name));
    if (*seen & (1u << k))
        return fail(err, errlen, "'%s' appears twice", names[k]);
    if ((k == 0 && pair != 0) || (k == 1 && pair != (c->has_raddr ? 1 : 0)))
        return fail(err, errlen, "'raddr' and 'rport' must follow the type, in that order");
    *seen |= 1u << k;
    uint64_t v = 0;
    switch (k) {
    case 0:
        c->has_raddr = true;
        if (!address(val, &c->raddr))
            return fail(err, errlen, "raddr '%.*s' must be an IPv4 or IPv6 literal or an mDNS "
                        "name", SHOW(*val));
        return 0;
    case 1:
        c->has_rport = true;
        if (!number(val, 0, 65535, &v))
            return fail(err, errlen, "rport '%.*s' must be 0..65535 without leading zeros",
                        SHOW(*val));
        c->rport = (unsigned)v;
        return 0;
    case 2:
        if (is_word(val, "active"))
            c->tcptype = CANDIDATE_TCPTYPE_ACTIVE;
        else if (is_word(val, "passive"))
            c->tcptype = CANDIDATE_TCPTYPE_PASSIVE;
        else if (is_word(val, "so"))
            c->tcptype = CANDIDATE_TCPTYPE_SO;
        else
            return fail(err, errlen, "tcptype '%.*s' must be active, passive or so", SHOW(*val));
        return 0;
    case 4:
        if (!ice_chars(val, 256))
            return fail(err, errlen, "ufrag '%.*s' must be 1 to 256 characters of A-Z a-z 0-9 "
                        "+ /", SHOW(*val));
        memcpy(c->ufrag, val->p, val->len);
        c->ufrag[val->len] = '\0';
        return 0;
    default: /* generation, network-id, network-cost */
        if (!number(val, 0, UINT32_MAX, &v))
            return fail(err, errlen, "%s '%.*s' must be 0..4294967295 without leading zeros",
                        names[k], SHOW(*val));
        if (k == 3)
            c->has_generation = true, c->generation = (uint32_t)v;
        else if (k == 5)
            c->has_network_id = true, c->network_id = (uint32_t)v;
        else
            c->has_network_cost = true, c->network_cost = (uint32_t)v;
        return 0;
    }
}

int candidate_parse(const char *line, struct candidate *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    if (!line)
        return fail(err, errlen, "there is no candidate");
    size_t len = strlen(line);
    if (len > CANDIDATE_LINE_MAX)
        return fail(err, errlen, "it is %zu bytes long; at most %d are accepted", len,
                    CANDIDATE_LINE_MAX);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] > 0x7e)
            return fail(err, errlen, "byte %zu is not printable ASCII (0x%02x)", i,
                        (unsigned char)line[i]);
    const char *s = line;
    if (strncmp(s, "a=", 2) == 0)
        s += 2;
    if (strncmp(s, "candidate:", 10) != 0)
        return fail(err, errlen, "it must begin with 'candidate:'");
    struct field f[MAX_FIELDS];
    int n = split(s + 10, f, err, errlen);
    if (n < 0)
        return -1;
    if (n < 8)
        return fail(err, errlen, "it has %d fields; a candidate has at least 8 (foundation "
                    "component transport priority address port typ type)", n);
    if (parse_fixed(f, c, err, errlen) < 0)
        return -1;
    if ((n - 8) % 2 != 0)
        return fail(err, errlen, "'%.*s' has no value", SHOW(f[n - 1]));
    unsigned seen = 0;
    for (int i = 8; i < n; i += 2)
        if (parse_pair(&f[i], &f[i + 1], (i - 8) / 2, &seen, c, err, errlen) < 0)
            return -1;
    if (c->transport == CANDIDATE_TCP && c->tcptype == CANDIDATE_TCPTYPE_NONE)
        return fail(err, errlen, "a TCP candidate needs a tcptype (active, passive or so)");
    if (c->transport == CANDIDATE_UDP && c->tcptype != CANDIDATE_TCPTYPE_NONE)
        return fail(err, errlen, "a UDP candidate has no tcptype");
    return 0;
}

/* snprintf at buf + *at, advancing *at; false once it no longer fits. */
static bool put(char *buf, size_t len, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool put(char *buf, size_t len, size_t *at, const char *fmt, ...)
{
    if (*at >= len)
        return false;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *at, len - *at, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= len - *at) {
        *at = len;
        return false;
    }
    *at += (size_t)w;
    return true;
}

int candidate_format(const struct candidate *c, char *buf, size_t len)
{
    static const char *const types[] = {"host", "srflx", "prflx", "relay"};
    static const char *const tcptypes[] = {"", "active", "passive", "so"};
    size_t at = 0;
    put(buf, len, &at, "candidate:%s %u %s %u %s %u typ %s", c->foundation, c->component,
        c->transport == CANDIDATE_TCP ? "TCP" : "UDP", (unsigned)c->priority, c->addr.text,
        c->port, types[c->type]);
    if (c->has_raddr)
        put(buf, len, &at, " raddr %s", c->raddr.text);
    if (c->has_rport)
        put(buf, len, &at, " rport %u", c->rport);
    if (c->tcptype != CANDIDATE_TCPTYPE_NONE)
        put(buf, len, &at, " tcptype %s", tcptypes[c->tcptype]);
    if (c->has_generation)
        put(buf, len, &at, " generation %u", (unsigned)c->generation);
    if (c->ufrag[0])
        put(buf, len, &at, " ufrag %s", c->ufrag);
    if (c->has_network_id)
        put(buf, len, &at, " network-id %u", (unsigned)c->network_id);
    if (c->has_network_cost)
        put(buf, len, &at, " network-cost %u", (unsigned)c->network_cost);
    if (at >= len) {
        if (len)
            buf[0] = '\0';
        return -1;
    }
    return (int)at;
}
