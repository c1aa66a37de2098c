/* utf8.c - UTF-8 validation and scrubbing (RFC 3629). */
#include "common/utf8.h"

#include <stdint.h>
#include <string.h>

/* The high bit of each byte of a 64-bit word: none is set in ASCII. */
#define ASCII_HIGH_BITS UINT64_C(0x8080808080808080)

/* Length of the valid sequence starting at s (at most len bytes), or 0. */
static size_t sequence_len(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    uint32_t cp, min;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0; /* continuation byte, overlong lead (c0, c1) or f5..ff */
    }
    if (n > len)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

bool utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        /* ASCII, nearly all of what peers send, eight bytes a step. */
        uint64_t w;
        while (len - i >= sizeof w && (memcpy(&w, p + i, sizeof w), !(w & ASCII_HIGH_BITS)))
            i += sizeof w;
        if (i == len)
            break;
        size_t n = sequence_len(p + i, len - i);
        if (!n)
            return false;
        i += n;
    }
    return true;
}

size_t utf8_scrub(char *s)
{
    unsigned char *p = (unsigned char *)s;
    size_t len = 0, replaced = 0;
    while (p[len])
        len++;
    for (size_t i = 0; i < len;) {
        size_t n = sequence_len(p + i, len - i);
        if (n) {
            i += n;
        } else {
            p[i++] = '?';
            replaced++;
        }
    }
    return replaced;
}
