/* utf8.h - keeping text that goes back to peers valid UTF-8.
 *
 * Error messages quote what a peer sent (a type name, a parser's "near"
 * excerpt) and cut it to a length; a cut can split a character, and JSON
 * text must be valid UTF-8. */
#ifndef PORTHOLE_COMMON_UTF8_H
#define PORTHOLE_COMMON_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when the len bytes at s are valid UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF). */
bool utf8_valid(const char *s, size_t len);

/* Rewrites the NUL-terminated s in place so that it is valid UTF-8: each
 * byte that does not start a valid sequence becomes '?'. Returns the
 * number of bytes replaced. This function can't fail. */
size_t utf8_scrub(char *s);

#endif
