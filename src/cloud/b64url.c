/* b64url.c - base64url without padding over OpenSSL's base64 codec. */
#include "cloud/b64url.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

/* The 6-bit value of a base64url character, or -1. */
static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

bool b64url_valid(const char *s, size_t len)
{
    if (len % 4 == 1)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (b64url_value((unsigned char)s[i]) < 0)
            return false;
    }
    if (len == 0)
        return true;
    /* Two trailing characters carry 8 bits (4 unused), three carry 16
     * bits (2 unused): the unused bits must be zero. */
    int last = b64url_value((unsigned char)s[len - 1]);
    if (len % 4 == 2)
        return (last & 0x0f) == 0;
    if (len % 4 == 3)
        return (last & 0x03) == 0;
    return true;
}

int b64url_decode(const char *in, size_t len, unsigned char *out, size_t *outlen)
{
    if (!b64url_valid(in, len) || len > INT_MAX - 4)
        return -1;
    size_t pad = (4 - len % 4) % 4;
    char *std = malloc(len + pad + 1);
    if (!std)
        return -1;
    for (size_t i = 0; i < len; i++)
        std[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
    memset(std + len, '=', pad);
    std[len + pad] = '\0';
    /* EVP_DecodeBlock counts the padding as zero bytes: take them off. */
    int n = EVP_DecodeBlock(out, (const unsigned char *)std, (int)(len + pad));
    free(std);
    if (n < 0 || (size_t)n < pad)
        return -1;
    *outlen = (size_t)n - pad;
    return 0;
}

size_t b64url_encode(const unsigned char *in, size_t n, char *out)
{
    int w = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    size_t len = 0;
    for (int i = 0; i < w && out[i] != '='; i++, len++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    out[len] = '\0';
    return len;
}
