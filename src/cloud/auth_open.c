/* auth_open.c - the open policy: every peer may register (the default,
 * as in the earlier version; put porthole-cloud behind a trusted network
 * or a TLS-terminating proxy with authentication until tokens land). */
#include "cloud/auth.h"

static bool open_admit(const struct auth *self, const struct auth_request *req, char *reason,
                       size_t reasonlen)
{
    (void)self;
    (void)req;
    (void)reason;
    (void)reasonlen;
    return true;
}

const struct auth auth_open = {.name = "open", .admit = open_admit, .state = NULL};
