/* jscan.h - a validating JSON scanner that allocates nothing: checks that
 * a text is exactly one JSON object and reports where a few named members
 * are, without building a tree.
 *
 * It accepts what jansson's json_loadb(JSON_REJECT_DUPLICATES) accepts, and
 * says when it cannot tell, so that a caller can take jansson's path for
 * the verdict (and its error message). Pure functions: no I/O, no state,
 * any thread. */
#ifndef PORTHOLE_CLOUD_JSCAN_H
#define PORTHOLE_CLOUD_JSCAN_H

#include <stdbool.h>
#include <stddef.h>

/* Containers nested deeper than this make the scan JSCAN_UNSURE. */
#define JSCAN_MAX_DEPTH 32
/* Member names held for the duplicate check, over all open objects. */
#define JSCAN_MAX_KEYS 64
/* A field whose parent is JSCAN_ROOT is a member of the top-level object. */
#define JSCAN_ROOT (-1)

enum jscan_result {
    /* One well-formed object (RFC 8259), followed by nothing but
     * whitespace, that jansson accepts too: valid UTF-8, no duplicate
     * member names in any object, no \u0000, surrogate escapes in pairs,
     * integers that fit 64 bits, reals that do not overflow. */
    JSCAN_OK = 0,
    /* Not that: malformed, truncated, trailing bytes, a value other than
     * an object, or one of the things jansson refuses above. */
    JSCAN_INVALID = 1,
    /* Could not decide within this scanner's limits: nesting deeper than
     * JSCAN_MAX_DEPTH, more than JSCAN_MAX_KEYS open member names, a
     * member name with a backslash escape, an integer of more than 18
     * digits, a real that might overflow, a NUL byte right after a number
     * or literal (jansson skips it). The text may be valid or not. */
    JSCAN_UNSURE = 2,
};

enum jscan_kind {
    JSCAN_ABSENT = 0,
    JSCAN_NULL,
    JSCAN_FALSE,
    JSCAN_TRUE,
    JSCAN_INTEGER,   /* a number without fraction and exponent */
    JSCAN_REAL,
    JSCAN_STRING,
    JSCAN_ARRAY,
    JSCAN_OBJECT,
};

/* A member to look for. The caller fills name and parent; the scan fills
 * the rest. Only set when the scan returns JSCAN_OK. */
struct jscan_field {
    const char *name;     /* NUL-terminated, matched byte for byte */
    int parent;           /* JSCAN_ROOT, or the index of an earlier field:
                             then a member of that field's object value */
    enum jscan_kind kind; /* JSCAN_ABSENT when there is no such member */
    const char *value;    /* in the scanned text: a string's bytes between
                             its quotes, still escaped; a container from its
                             bracket to its closing bracket; a literal or
                             number as written */
    size_t len;
    bool escaped;         /* a string holding at least one backslash escape */
};

/* Scans the len bytes at data (not NUL-terminated; never reads past
 * data + len) and fills fields[0..nfields). Returns a jscan_result. Never
 * allocates; this function can't fail otherwise. */
enum jscan_result jscan_object(const char *data, size_t len, struct jscan_field *fields,
                               size_t nfields);

/* True when the field is a string of exactly the NUL-terminated s, with
 * no escapes. */
bool jscan_string_is(const struct jscan_field *f, const char *s);

#endif
