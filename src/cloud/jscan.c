/* jscan.c - the zero-allocation validating JSON scanner (jscan.h). */
#include "cloud/jscan.h"

#include <stdint.h>
#include <string.h>

#include "common/utf8.h"

#define NO_FIELD (-2)

/* jansson's json_int_t is 64 bits: 18 digits always fit. */
#define INT_DIGITS_SURE 18
/* A real below 10^300 cannot overflow a double (max ~1.8e308). */
#define REAL_MAGNITUDE_SURE 300

struct key {
    const unsigned char *p;
    size_t len;
};

struct scan {
    const unsigned char *p, *end;
    struct jscan_field *fields;
    size_t nfields;
    int depth;                                 /* open containers; the root is 1 */
    bool is_object[JSCAN_MAX_DEPTH + 1];
    /* The field whose value the container at that depth is (its members
     * match fields of that parent); JSCAN_ROOT for the root, else NO_FIELD. */
    int members_of[JSCAN_MAX_DEPTH + 1];
    unsigned key_base[JSCAN_MAX_DEPTH + 1];    /* the object's first slot in keys */
    struct key keys[JSCAN_MAX_KEYS];           /* names of every open object */
    unsigned nkeys;
};

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static void skip_ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

/* The value of 4 hex digits at p, or -1. */
static int hex4(const unsigned char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    return v;
}

/* Bytes of w, eight at a time (a word-at-a-time test, as in strlen):
 * ONES has 0x01 in every byte, HIGHS 0x80. */
#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* True when the eight bytes at p are all plain string bytes: printable
 * ASCII, neither '"' nor '\\'. Each test below is exact about whether
 * some byte matches (borrows only blur which one). */
static bool plain8(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    uint64_t quote = w ^ (ONES * '"'), backslash = w ^ (ONES * '\\');
    uint64_t special = (w & HIGHS) |                        /* >= 0x80 */
                       ((w - ONES * 0x20) & ~w & HIGHS) |    /* < 0x20 */
                       ((quote - ONES) & ~quote & HIGHS) |   /* '"' */
                       ((backslash - ONES) & ~backslash & HIGHS); /* '\\' */
    return special == 0;
}

/* Scans the string whose opening quote is at s->p; leaves s->p after the
 * closing quote. *out and *len: the bytes between the quotes. */
static enum jscan_result scan_string(struct scan *s, const unsigned char **out, size_t *len,
                                     bool *escaped)
{
    const unsigned char *p = s->p + 1, *end = s->end;
    *escaped = false;
    for (;;) {
        /* Candidates and SDP are long runs of plain bytes: eight a step,
         * then the rest one by one up to the byte that ends the run. */
        while (end - p >= 8 && plain8(p))
            p += 8;
        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        if (p >= end)
            return JSCAN_INVALID; /* unterminated */
        unsigned char c = *p;
        if (c == '"')
            break;
        if (c < 0x20)
            return JSCAN_INVALID; /* control characters must be escaped */
        if (c >= 0x80) {
            /* A run of non-ASCII bytes: valid UTF-8 on its own, since no
             * sequence contains an ASCII byte. */
            const unsigned char *q = p;
            while (q < end && *q >= 0x80)
                q++;
            if (!utf8_valid((const char *)p, (size_t)(q - p)))
                return JSCAN_INVALID;
            p = q;
            continue;
        }
        *escaped = true;
        if (end - p < 2)
            return JSCAN_INVALID;
        c = p[1];
        if (c != 'u') {
            if (!strchr("\"\\/bfnrt", c) || c == '\0')
                return JSCAN_INVALID;
            p += 2;
            continue;
        }
        /* jansson refuses \u0000 (without JSON_ALLOW_NUL) and surrogate
         * escapes that do not form a high-low pair. */
        int v = end - p >= 6 ? hex4(p + 2) : -1;
        if (v <= 0 || (v >= 0xdc00 && v <= 0xdfff))
            return JSCAN_INVALID;
        p += 6;
        if (v >= 0xd800 && v <= 0xdbff) {
            int low = end - p >= 6 && p[0] == '\\' && p[1] == 'u' ? hex4(p + 2) : -1;
            if (low < 0xdc00 || low > 0xdfff)
                return JSCAN_INVALID;
            p += 6;
        }
    }
    *out = s->p + 1;
    *len = (size_t)(p - (s->p + 1));
    s->p = p + 1;
    return JSCAN_OK;
}

/* Scans the number at s->p (RFC 8259 grammar); leaves s->p after it. */
static enum jscan_result scan_number(struct scan *s, enum jscan_kind *kind)
{
    const unsigned char *p = s->p, *end = s->end;
    if (*p == '-')
        p++;
    const unsigned char *digits = p;
    if (p >= end || !is_digit(*p))
        return JSCAN_INVALID;
    if (*p == '0')
        p++; /* a digit after a leading 0 is a syntax error after the number */
    else
        while (p < end && is_digit(*p))
            p++;
    size_t int_digits = (size_t)(p - digits);
    bool real = false;
    long exponent = 0;
    if (p < end && *p == '.') {
        real = true;
        p++;
        if (p >= end || !is_digit(*p))
            return JSCAN_INVALID;
        while (p < end && is_digit(*p))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        real = true;
        p++;
        bool negative = false;
        if (p < end && (*p == '+' || *p == '-'))
            negative = *p++ == '-';
        if (p >= end || !is_digit(*p))
            return JSCAN_INVALID;
        for (; p < end && is_digit(*p); p++)
            if (exponent < 100000)
                exponent = exponent * 10 + (*p - '0');
        if (negative)
            exponent = -exponent;
    }
    s->p = p;
    /* jansson refuses integers beyond 64 bits and reals that overflow. */
    if (!real && int_digits > INT_DIGITS_SURE)
        return JSCAN_UNSURE;
    if (real && (long)int_digits + (exponent > 0 ? exponent : 0) > REAL_MAGNITUDE_SURE)
        return JSCAN_UNSURE;
    *kind = real ? JSCAN_REAL : JSCAN_INTEGER;
    return JSCAN_OK;
}

static enum jscan_result scan_literal(struct scan *s, enum jscan_kind *kind)
{
    static const struct {
        const char *text;
        size_t len;
        enum jscan_kind kind;
    } literals[] = {{"true", 4, JSCAN_TRUE}, {"false", 5, JSCAN_FALSE}, {"null", 4, JSCAN_NULL}};
    for (size_t i = 0; i < sizeof(literals) / sizeof(literals[0]); i++) {
        if ((size_t)(s->end - s->p) >= literals[i].len &&
            memcmp(s->p, literals[i].text, literals[i].len) == 0) {
            s->p += literals[i].len;
            *kind = literals[i].kind;
            return JSCAN_OK;
        }
    }
    return JSCAN_INVALID;
}

/* The index of the field named k (klen bytes) under parent, or NO_FIELD. */
static int match_field(const struct scan *s, int parent, const unsigned char *k, size_t klen)
{
    if (parent == NO_FIELD)
        return NO_FIELD;
    /* The first byte rules out most names without a call (an empty key
     * compares its '\0' with the name's, so only "" can match it). */
    unsigned char first = klen ? k[0] : '\0';
    for (size_t i = 0; i < s->nfields; i++) {
        const char *name = s->fields[i].name;
        if ((unsigned char)name[0] == first && s->fields[i].parent == parent &&
            strncmp(name, (const char *)k, klen) == 0 && name[klen] == '\0')
            return (int)i;
    }
    return NO_FIELD;
}

/* A member name of the object at s->depth, its quote at s->p. Sets *field
 * to the field it names, or NO_FIELD. */
static enum jscan_result scan_key(struct scan *s, int *field)
{
    const unsigned char *k;
    size_t klen;
    bool escaped;
    enum jscan_result rc = scan_string(s, &k, &klen, &escaped);
    if (rc != JSCAN_OK)
        return rc;
    /* "a" and "\u0061" are the same name to jansson's duplicate check. */
    if (escaped)
        return JSCAN_UNSURE;
    for (unsigned i = s->key_base[s->depth]; i < s->nkeys; i++)
        if (s->keys[i].len == klen && memcmp(s->keys[i].p, k, klen) == 0)
            return JSCAN_INVALID; /* JSON_REJECT_DUPLICATES */
    if (s->nkeys == JSCAN_MAX_KEYS)
        return JSCAN_UNSURE;
    s->keys[s->nkeys].p = k;
    s->keys[s->nkeys].len = klen;
    s->nkeys++;
    *field = match_field(s, s->members_of[s->depth], k, klen);
    return JSCAN_OK;
}

/* The container's closing bracket is at s->p. */
static void close_container(struct scan *s)
{
    s->p++;
    int f = s->members_of[s->depth];
    if (f >= 0)
        s->fields[f].len = (size_t)((const char *)s->p - s->fields[f].value);
    if (s->is_object[s->depth])
        s->nkeys = s->key_base[s->depth];
    s->depth--;
}

enum jscan_result jscan_object(const char *data, size_t len, struct jscan_field *fields,
                               size_t nfields)
{
    for (size_t i = 0; i < nfields; i++) {
        fields[i].kind = JSCAN_ABSENT;
        fields[i].value = NULL;
        fields[i].len = 0;
        fields[i].escaped = false;
    }
    struct scan s;
    s.p = (const unsigned char *)data;
    s.end = s.p + len;
    s.fields = fields;
    s.nfields = nfields;
    s.nkeys = 0;
    skip_ws(&s);
    if (s.p >= s.end || *s.p != '{')
        return JSCAN_INVALID;
    s.p++;
    s.depth = 1;
    s.is_object[1] = true;
    s.members_of[1] = JSCAN_ROOT;
    s.key_base[1] = 0;

    /* Where the scan is: before an object's first member (or its '}'), a
     * member after a comma, an array's first element (or its ']'), a
     * value, or after a value. */
    enum { FIRST_MEMBER, MEMBER, FIRST_ELEMENT, VALUE, AFTER_VALUE } at = FIRST_MEMBER;
    int field = NO_FIELD; /* the field the next value fills */
    for (;;) {
        skip_ws(&s);
        if (s.p >= s.end)
            return JSCAN_INVALID; /* truncated */
        unsigned char c = *s.p;
        enum jscan_result rc;
        switch (at) {
        case FIRST_MEMBER:
            if (c == '}') {
                at = AFTER_VALUE;
                continue;
            }
            /* fall through */
        case MEMBER:
            if (c != '"')
                return JSCAN_INVALID;
            if ((rc = scan_key(&s, &field)) != JSCAN_OK)
                return rc;
            skip_ws(&s);
            if (s.p >= s.end || *s.p != ':')
                return JSCAN_INVALID;
            s.p++;
            at = VALUE;
            continue;
        case FIRST_ELEMENT:
            if (c == ']') {
                at = AFTER_VALUE;
                continue;
            }
            field = NO_FIELD;
            /* fall through */
        case VALUE: {
            struct jscan_field *f = field >= 0 ? &fields[field] : NULL;
            const unsigned char *start = s.p;
            if (c == '{' || c == '[') {
                if (s.depth == JSCAN_MAX_DEPTH)
                    return JSCAN_UNSURE;
                s.depth++;
                s.is_object[s.depth] = c == '{';
                s.members_of[s.depth] = field;
                s.key_base[s.depth] = s.nkeys;
                if (f) {
                    f->kind = c == '{' ? JSCAN_OBJECT : JSCAN_ARRAY;
                    f->value = (const char *)start;
                }
                s.p++;
                at = c == '{' ? FIRST_MEMBER : FIRST_ELEMENT;
                continue;
            }
            enum jscan_kind kind = JSCAN_STRING;
            const unsigned char *v = start;
            size_t vlen = 0;
            bool escaped = false;
            if (c == '"')
                rc = scan_string(&s, &v, &vlen, &escaped);
            else if (c == '-' || is_digit(c))
                rc = scan_number(&s, &kind);
            else
                rc = scan_literal(&s, &kind);
            if (rc != JSCAN_OK)
                return rc;
            /* jansson ungets the byte after a number or literal, and reads
             * an ungot NUL as "nothing buffered": it skips that NUL. */
            if (kind != JSCAN_STRING && s.p < s.end && *s.p == '\0')
                return JSCAN_UNSURE;
            if (f) {
                f->kind = kind;
                f->value = (const char *)v;
                f->len = kind == JSCAN_STRING ? vlen : (size_t)(s.p - start);
                f->escaped = escaped;
            }
            at = AFTER_VALUE;
            continue;
        }
        case AFTER_VALUE:
            if (c == ',') {
                s.p++;
                field = NO_FIELD;
                at = s.is_object[s.depth] ? MEMBER : VALUE;
                continue;
            }
            if (c != (s.is_object[s.depth] ? '}' : ']'))
                return JSCAN_INVALID;
            close_container(&s);
            if (s.depth == 0) {
                skip_ws(&s);
                return s.p == s.end ? JSCAN_OK : JSCAN_INVALID;
            }
            continue;
        }
    }
}

bool jscan_string_is(const struct jscan_field *f, const char *s)
{
    size_t n = strlen(s);
    return f->kind == JSCAN_STRING && !f->escaped && f->len == n && memcmp(f->value, s, n) == 0;
}
