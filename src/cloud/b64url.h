/* b64url.h - base64url without padding (RFC 4648 section 5), as JOSE writes it.
 *
 * JWS (RFC 7515, section 2) encodes every segment this way: the URL-safe
 * alphabet, no '=' padding, no line breaks, no whitespace. The codec is
 * OpenSSL's (EVP_EncodeBlock / EVP_DecodeBlock) behind an alphabet
 * translation; this module only adds the strictness JOSE needs. Pure
 * functions, safe from any thread. */
#ifndef PORTHOLE_CLOUD_B64URL_H
#define PORTHOLE_CLOUD_B64URL_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes that decoding len characters can produce, at most. */
#define B64URL_DECODED_MAX(len) ((len) / 4 * 3 + 3)

/* Characters encoding n bytes, without the NUL. */
#define B64URL_ENCODED_LEN(n) ((n) / 3 * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))

/* True when the len bytes at s are canonical unpadded base64url: only
 * [A-Za-z0-9_-], a length that is not 1 modulo 4, and zero bits in the
 * unused low bits of the last character (so each byte string has exactly
 * one encoding). The empty string is valid. */
bool b64url_valid(const char *s, size_t len);

/* Decodes len characters at in into out, which holds at least
 * B64URL_DECODED_MAX(len) bytes, and stores the decoded length in *outlen.
 * Returns 0, or -1 when the input is not b64url_valid() or memory ran out
 * (out is then unspecified). */
int b64url_decode(const char *in, size_t len, unsigned char *out, size_t *outlen);

/* Encodes n bytes (n < 2^30) at in into out, which holds at least
 * B64URL_ENCODED_LEN(n) + 3 bytes (OpenSSL writes the padded form first),
 * and NUL-terminates it. Returns the number of characters written. This
 * function can't fail. */
size_t b64url_encode(const unsigned char *in, size_t n, char *out);

#endif
