/* http_static.h - mapping a request path to a file of the web root, so
 * that nothing outside the root is ever served. */
#ifndef PORTHOLE_CLOUD_HTTP_STATIC_H
#define PORTHOLE_CLOUD_HTTP_STATIC_H

#include <stddef.h>

/* Resolves the request path uri (percent-encoded or not; a query string is
 * ignored; "/" and paths ending in "/" mean index.html) under root, which
 * must be the canonical (realpath) form of the web root.
 * Returns 0 with the file's canonical path in out (outlen bytes), or 404
 * when the path is malformed (bad escape, NUL, "." or ".." segment), does
 * not exist, is not a regular file, or resolves (through symlinks) outside
 * root. Escapes look like missing files: nothing about the tree leaks. */
int http_static_resolve(const char *root, const char *uri, char *out, size_t outlen);

/* The Content-Type for a file name, by extension; application/octet-stream
 * when unknown. Text types carry "; charset=utf-8". */
const char *http_static_mime(const char *path);

#endif
