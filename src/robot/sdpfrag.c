/* sdpfrag.c - reads an RFC 8840 SDP fragment of trickled ICE candidates. */
#include "robot/sdpfrag.h"

#include <stdio.h>
#include <string.h>

/* Copies value[0..n) into dst (room for max + 1). Returns -1 when it is
 * longer than max. */
static int copy_value(char *dst, size_t max, const char *value, size_t n)
{
    if (n > max)
        return -1;
    memcpy(dst, value, n);
    dst[n] = '\0';
    return 0;
}

/* One attribute line "a=..." (without "a=") of the fragment. */
static int read_attribute(struct sdpfrag *out, int mline, char *mid, const char *v, size_t n,
                          char *err, size_t errlen)
{
#define IS(name) (n >= sizeof(name) - 1 && memcmp(v, name, sizeof(name) - 1) == 0)
    if (IS("ice-ufrag:")) {
        if (copy_value(out->ufrag, SDPFRAG_CRED_MAX, v + 10, n - 10) < 0)
            goto too_long;
    } else if (IS("ice-pwd:")) {
        if (copy_value(out->pwd, SDPFRAG_CRED_MAX, v + 8, n - 8) < 0)
            goto too_long;
    } else if (IS("mid:")) {
        if (copy_value(mid, SDPFRAG_MID_MAX, v + 4, n - 4) < 0)
            goto too_long;
    } else if (n == 17 && memcmp(v, "end-of-candidates", 17) == 0) {
        out->end_of_candidates = true;
    } else if (IS("candidate:")) {
        if (out->ncandidates == SDPFRAG_MAX_CANDIDATES) {
            snprintf(err, errlen, "the fragment has more than %d candidates",
                     SDPFRAG_MAX_CANDIDATES);
            return -1;
        }
        struct sdpfrag_candidate *c = &out->candidates[out->ncandidates++];
        c->mline = mline < 0 ? 0 : mline;
        memcpy(c->mid, mid, sizeof c->mid);
        c->line = v;
        c->len = n;
    }
    return 0;
too_long:
    snprintf(err, errlen, "an a=ice-ufrag, a=ice-pwd or a=mid of the fragment is too long");
    return -1;
#undef IS
}

int sdpfrag_parse(const char *text, size_t len, struct sdpfrag *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (memchr(text, '\0', len)) {
        snprintf(err, errlen, "the fragment contains a NUL byte");
        return -1;
    }
    int mline = -1;
    char mid[SDPFRAG_MID_MAX + 1] = "";
    unsigned lineno = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len, n = end - pos;
        const char *line = text + pos;
        pos = end + 1;
        lineno++;
        if (n && line[n - 1] == '\r')
            n--;
        if (n == 0)
            continue;
        if (n > SDPFRAG_LINE_MAX) {
            snprintf(err, errlen, "line %u of the fragment is longer than %d bytes", lineno,
                     SDPFRAG_LINE_MAX);
            return -1;
        }
        if (n < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z') {
            snprintf(err, errlen, "line %u of the fragment is not an SDP line "
                     "(<letter>=<value>)", lineno);
            return -1;
        }
        if (line[0] == 'm') {
            mline++;
            mid[0] = '\0';
        } else if (line[0] == 'a' &&
                   read_attribute(out, mline, mid, line + 2, n - 2, err, errlen) < 0) {
            return -1;
        }
    }
    return 0;
}
