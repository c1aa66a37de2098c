/* auth.h - the authentication seam: who is this peer, and may it register?
 *
 * A policy answers one question, admit(): given the role a peer claims,
 * the robot id it claims (robots), the token it presented (if any) and its
 * address, it returns either a refusal (a stable token.h code) or an
 * admission, with the verified claims when the policy has identities.
 * The router asks it at every registration and token refresh; the HTTP
 * side asks it for every request that carries a Bearer token.
 *
 * Policies:
 *   - auth_open: no identities, every peer admitted (--insecure-open).
 *   - auth_open_loopback: no identities, only loopback peers admitted
 *     ("protected mode", the default without --auth-*): the server also
 *     refuses other addresses at the WebSocket upgrade and the HTTP
 *     request (auth_peer_allowed).
 *   - auth_jwt (auth_jwt.h): every peer needs a valid JWT (token.h); the
 *     claims it returns are the peer's identity.
 *
 * Ownership: claims returned by admit() belong to the caller (free them
 * with token_claims_free). A policy is used on the event-loop thread only;
 * admit() never blocks (no I/O). reload() reads files: call it on SIGHUP,
 * not per connection. */
#ifndef PORTHOLE_CLOUD_AUTH_H
#define PORTHOLE_CLOUD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cloud/protocol.h"
#include "cloud/token.h"

/* The refusal code of a peer refused for its address in protected mode
 * (a code of its own: no token is involved). */
#define AUTH_REFUSED_LOOPBACK_ONLY "loopback-only"

struct auth_request {
    enum role role;          /* ROLE_ROBOT, ROLE_CLIENT, or ROLE_NONE: an HTTP request (any role) */
    const char *robot_id;    /* ROLE_ROBOT: the robotId claimed; NULL otherwise */
    const char *token;       /* the compact JWT presented, or NULL when none */
    size_t token_len;
    const char *remote_addr; /* peer address as text (for loopback checks and logs) */
    int64_t now_s;           /* wall clock, Unix seconds */
};

struct auth {
    const char *name;
    /* True when peers need a token: every admitted peer then comes with
     * claims. False for the open policies (claims are always NULL). */
    bool needs_token;
    /* True when only loopback addresses are served (protected mode). */
    bool loopback_only;
    /* Returns TOKEN_OK and *claims (NULL for policies without identities),
     * or a refusal with *claims NULL and a sentence for people in why
     * (never any part of the token). For ROLE_ROBOT the claims may
     * register req->robot_id (token_may_register); for ROLE_CLIENT they are
     * a viewer's. The address is not checked here: auth_peer_allowed()
     * is asked before, once per connection. */
    enum token_error (*admit)(const struct auth *self, const struct auth_request *req,
                              struct token_claims **claims, char *why, size_t whylen);
    /* Reloads the keys (SIGHUP). Returns 0, or -1 with the reason in err,
     * the old keys staying in force. NULL: nothing to reload. */
    int (*reload)(const struct auth *self, char *err, size_t errlen);
    /* A one-line description for the start-up log (never key material). */
    void (*describe)(const struct auth *self, char *out, size_t outlen);
    /* Frees a policy made by a constructor; NULL for the static ones. */
    void (*free)(const struct auth *self);
    void *state;             /* the policy's own data */
};

extern const struct auth auth_open;
extern const struct auth auth_open_loopback;

/* True when addr (text, as the server prints peer addresses) is a loopback
 * address: 127.0.0.0/8, ::1, or ::ffff:127.x.y.z. */
bool auth_is_loopback(const char *addr);

/* True when a may serve a peer from addr at all (false only in protected
 * mode for a non-loopback address). */
bool auth_peer_allowed(const struct auth *a, const char *addr);

/* The policy's reload (0 when it has none), description, and free (NULL
 * and static policies are allowed). */
int auth_reload(const struct auth *a, char *err, size_t errlen);
void auth_describe(const struct auth *a, char *out, size_t outlen);
void auth_free(const struct auth *a);

#endif
