/* auth_jwt.h - the token policy of auth.h: every robot and viewer presents
 * a JWT (token.h), verified with the configured keys (keyset.h); the
 * verified claims are the peer's identity.
 *
 * Admission: no token is TOKEN_ERR_MISSING; a token token_verify()
 * refuses is refused with its code; a robot's token must name the robot id
 * it registers (token_may_register: wrong-role, wrong-robot), a client's
 * must be a viewer's (wrong-role); an HTTP request (ROLE_NONE) may carry a
 * token of either role. reload() re-reads the key files (the secret of
 * --auth-secret cannot change), keeping the old keys when that fails.
 *
 * Threads: the event loop's, like every policy. */
#ifndef PORTHOLE_CLOUD_AUTH_JWT_H
#define PORTHOLE_CLOUD_AUTH_JWT_H

#include <stddef.h>

#include "cloud/auth.h"
#include "cloud/keyset.h"
#include "cloud/token.h"

struct auth_jwt_config {
    struct keyset_source keys; /* copied: the secret and the file names */
    struct token_config token; /* copied: issuer, audience, leeway, max_len */
};

/* Loads the keys and makes the policy. Returns it (release with
 * auth_free), or NULL with the reason in err (never the secret): keys
 * that do not load (keyset_load), a token configuration out of range, out
 * of memory. */
const struct auth *auth_jwt_new(const struct auth_jwt_config *cfg, char *err, size_t errlen);

#endif
