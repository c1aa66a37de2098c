/* errtext.h - untrusted input rendered for error messages: a short
 * printable copy of a string and the kind of a JSON value.
 *
 * The REST API (api*.c) and the streamTypes parser (stream_types.c) name
 * what they refuse with these, so that a client sees the same rendering
 * everywhere. Pure functions; any thread. */
#ifndef PORTHOLE_ROBOT_ERRTEXT_H
#define PORTHOLE_ROBOT_ERRTEXT_H

#include <jansson.h>
#include <stddef.h>

/* Copies at most 64 characters of s into buf (len >= 1 bytes), each control or
 * non-ASCII byte as '?', with "..." when s is longer. Returns buf; NULL s
 * gives "". */
const char *errtext_quote(const char *s, char *buf, size_t len);

/* "an object", "an array", "a string", "a number", "a boolean" or "null".
 * v must not be NULL. */
const char *errtext_kind(const json_t *v);

#endif
