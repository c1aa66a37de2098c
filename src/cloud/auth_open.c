/* auth_open.c - the policies without identities (auth.h): auth_open admits
 * every peer (--insecure-open), auth_open_loopback only loopback peers
 * (protected mode, the default when no --auth-* is configured); and the
 * helpers every policy shares. */
#include "cloud/auth.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static enum token_error open_admit(const struct auth *self, const struct auth_request *req,
                                   struct token_claims **claims, char *why, size_t whylen)
{
    (void)self;
    (void)req;
    *claims = NULL;
    if (why && whylen)
        *why = '\0';
    return TOKEN_OK;
}

static void open_describe(const struct auth *self, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", self->loopback_only
                                    ? "no authentication: loopback peers only (protected mode)"
                                    : "no authentication: every peer admitted (--insecure-open)");
}

const struct auth auth_open = {
    .name = "open",
    .admit = open_admit,
    .describe = open_describe,
};

const struct auth auth_open_loopback = {
    .name = "loopback",
    .loopback_only = true,
    .admit = open_admit,
    .describe = open_describe,
};

bool auth_is_loopback(const char *addr)
{
    unsigned char a[16];
    if (!addr)
        return false;
    if (inet_pton(AF_INET, addr, a) == 1)
        return a[0] == 127;
    if (inet_pton(AF_INET6, addr, a) != 1)
        return false;
    static const unsigned char v6_loopback[16] = {[15] = 1};
    static const unsigned char v4_mapped[12] = {[10] = 0xff, [11] = 0xff};
    return memcmp(a, v6_loopback, 16) == 0 || (memcmp(a, v4_mapped, 12) == 0 && a[12] == 127);
}

bool auth_peer_allowed(const struct auth *a, const char *addr)
{
    return !a->loopback_only || auth_is_loopback(addr);
}

int auth_reload(const struct auth *a, char *err, size_t errlen)
{
    return a && a->reload ? a->reload(a, err, errlen) : 0;
}

void auth_describe(const struct auth *a, char *out, size_t outlen)
{
    if (a && a->describe)
        a->describe(a, out, outlen);
    else
        snprintf(out, outlen, "%s", a ? a->name : "none");
}

void auth_free(const struct auth *a)
{
    if (a && a->free)
        a->free(a);
}
