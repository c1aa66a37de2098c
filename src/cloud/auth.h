/* auth.h - the authentication seam: may this peer register with this id?
 *
 * Asked once per registration, on the event loop. Today's policy is
 * auth_open (everyone is admitted). A token policy (a shared secret or a
 * signed JWT in the register message) is planned as another struct auth. */
#ifndef PORTHOLE_CLOUD_AUTH_H
#define PORTHOLE_CLOUD_AUTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "cloud/protocol.h"

struct auth_request {
    enum role role;          /* the role being claimed */
    const char *id;          /* robotId or clientId being claimed */
    json_t *msg;             /* the whole register message (credentials live here) */
    const char *remote_addr; /* peer address as text, for policies and logs */
};

struct auth {
    const char *name;
    /* Returns true to admit; on refusal writes a reason for the peer into
     * reason (reasonlen bytes). Must not block. */
    bool (*admit)(const struct auth *self, const struct auth_request *req, char *reason,
                  size_t reasonlen);
    void *state;             /* the policy's own data */
};

extern const struct auth auth_open;

#endif
