/* ids.c - random tokens from getrandom(2) and the syntax of peer-chosen names. */
#include "common/ids.h"

#include <errno.h>
#include <stdint.h>
#include <sys/random.h>

int ids_random_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        /* Flags 0: block until the pool is initialised, never return
         * weak bytes early in boot. */
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (got == 0) {
            errno = EIO;
            return -1;
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

/* Writes the unpadded base64url (RFC 4648 section 5) form of n bytes and a
 * NUL into out, which must hold (4 * n + 2) / 3 + 1 bytes. */
static void ids_base64url(const uint8_t *in, size_t n, char *out)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
    }
    out[o] = '\0';
}

int ids_token(char out[IDS_TOKEN_LEN + 1])
{
    uint8_t raw[16];
    if (ids_random_bytes(raw, sizeof raw) != 0) {
        out[0] = '\0';
        return -1;
    }
    ids_base64url(raw, sizeof raw, out);
    return 0;
}

static bool ids_name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == ':' || c == '@' || c == '-';
}

/* Reads at most max + 1 bytes of s, so an over-long name is refused
 * without scanning all of it. */
bool ids_valid_name(const char *s, size_t max)
{
    if (s == NULL || s[0] == '\0')
        return false;
    size_t i = 0;
    for (; s[i] != '\0'; i++) {
        if (i >= max || !ids_name_char(s[i]))
            return false;
    }
    return true;
}

bool ids_valid_token(const char *s, size_t len)
{
    if (s == NULL || len != IDS_TOKEN_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        if (!ok)
            return false;
    }
    return true;
}
