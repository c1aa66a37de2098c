/* ids.h - random identifiers and the syntax of peer-chosen names.
 *
 * Session ids are unguessable capabilities: 128 bits from getrandom(2),
 * written as 22 characters of unpadded base64url (RFC 4648 section 5). */
#ifndef PORTHOLE_COMMON_IDS_H
#define PORTHOLE_COMMON_IDS_H

#include <stdbool.h>
#include <stddef.h>

#define IDS_TOKEN_LEN 22 /* characters of a 128-bit token, without the NUL */

/* Fills buf with n bytes from the kernel's CSPRNG (getrandom, retrying on
 * EINTR and short reads). Returns 0, or -1 with errno set. */
int ids_random_bytes(void *buf, size_t n);

/* Writes a fresh 128-bit token and its NUL into out. Returns 0, or -1 if
 * the kernel gave no randomness (the caller must refuse, never fall back). */
int ids_token(char out[IDS_TOKEN_LEN + 1]);

/* True when the len bytes at s are a token as ids_token() writes them:
 * exactly IDS_TOKEN_LEN characters of the base64url alphabet. */
bool ids_valid_token(const char *s, size_t len);

/* True when s is a valid peer-chosen name (robot id, client id): 1 to max
 * bytes of [A-Za-z0-9._:@-]. Such names are safe in logs, URLs and JSON. */
bool ids_valid_name(const char *s, size_t max);

#endif
