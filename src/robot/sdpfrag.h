/* sdpfrag.h - an SDP fragment of trickled ICE candidates
 * (application/trickle-ice-sdpfrag, RFC 8840), as a WHEP client PATCHes
 * it: ICE credentials, m-lines with their a=mid, a=candidate lines and
 * a=end-of-candidates.
 *
 * Pure: no allocation, no I/O; any thread. The candidates are only cut
 * out here; their grammar and addresses are icegate.h's to judge. */
#ifndef PORTHOLE_ROBOT_SDPFRAG_H
#define PORTHOLE_ROBOT_SDPFRAG_H

#include <stdbool.h>
#include <stddef.h>

#define SDPFRAG_MAX_CANDIDATES 64 /* per fragment; more is refused */
#define SDPFRAG_LINE_MAX 1024     /* a longer line is refused */
#define SDPFRAG_MID_MAX 32
#define SDPFRAG_CRED_MAX 256      /* ice-ufrag and ice-pwd (RFC 8839: at most 256) */

struct sdpfrag_candidate {
    int mline;                  /* the m-line of the fragment it follows (0 before any) */
    char mid[SDPFRAG_MID_MAX + 1]; /* that m-line's a=mid, or "" */
    const char *line;           /* "candidate:...", pointing into the text */
    size_t len;                 /* its length (the text is not modified) */
};

struct sdpfrag {
    char ufrag[SDPFRAG_CRED_MAX + 1]; /* "" when absent */
    char pwd[SDPFRAG_CRED_MAX + 1];
    size_t ncandidates;
    struct sdpfrag_candidate candidates[SDPFRAG_MAX_CANDIDATES];
    bool end_of_candidates;     /* an a=end-of-candidates anywhere */
};

/* Reads text[0..len) (CRLF or LF lines; need not be NUL-terminated) into
 * out. Every non-empty line must be "<letter>=<value>"; attributes other
 * than those above (a=group, a=ice-options, ...) and other lines of an
 * m-section are skipped. Returns 0, or -1 with one line in err: a line
 * that is not SDP, longer than SDPFRAG_LINE_MAX, a NUL byte, a credential
 * or a=mid too long, more than SDPFRAG_MAX_CANDIDATES candidates. */
int sdpfrag_parse(const char *text, size_t len, struct sdpfrag *out, char *err, size_t errlen);

#endif
