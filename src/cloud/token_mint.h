/* token_mint.h - signing HS256 tokens for `porthole-cloud token`, for
 * deployments that have no identity provider of their own.
 *
 * A minted token is an ordinary JWT (RFC 7519) signed with the configured
 * HS256 secret: any JWT library verifies it. It carries exactly the claims
 * token.h reads (sub, role, robot_id or robots and scope), iat, exp, a
 * random jti, and iss and aud when the configuration names them, so that
 * the same cloud accepts it. token_mint() refuses to sign anything
 * token_verify() would refuse. */
#ifndef PORTHOLE_CLOUD_TOKEN_MINT_H
#define PORTHOLE_CLOUD_TOKEN_MINT_H

#include <stddef.h>
#include <stdint.h>

#include "cloud/keyset.h"
#include "cloud/token.h"

#define TOKEN_TTL_MAX (3650LL * 86400) /* ten years: a robot's credential may live long */

struct token_mint_request {
    enum token_role role;
    const char *sub;        /* NULL: the robot id for robots, "viewer" for viewers */
    const char *robot_id;   /* robots: the one id the token may register */
    const char *robots;     /* viewers: ids or patterns separated by commas or spaces */
    enum token_scope scope; /* viewers; TOKEN_SCOPE_NONE means watch */
    int64_t ttl_s;          /* lifetime, 1..TOKEN_TTL_MAX seconds */
};

/* Parses a lifetime: digits and one unit, s (seconds), m, h or d ("30s",
 * "15m", "1h", "7d"); bare digits are seconds. Returns 0 and *seconds, or
 * -1 for anything else or a value outside 1..TOKEN_TTL_MAX. */
int token_ttl_parse(const char *text, int64_t *seconds);

/* Signs a token for req with the first HS256 secret of ks, with iss and
 * aud from cfg when set, issued at now_s. Returns TOKEN_OK and *out (a new
 * NUL-terminated string, free() it), or a refusal with a reason in why:
 * TOKEN_ERR_BAD_ALGORITHM (ks has no HS256 secret), TOKEN_ERR_MISSING_CLAIM
 * or TOKEN_ERR_INVALID_CLAIM (a request token_verify would refuse, such as
 * a robot without robot_id or a bad pattern, or one that mixes the roles'
 * fields: robots or scope for a robot, robot_id for a viewer), TOKEN_ERR_TOO_LARGE (longer
 * than cfg->max_len), TOKEN_ERR_INTERNAL (out of memory, no randomness). */
enum token_error token_mint(const struct keyset *ks, const struct token_config *cfg,
                            const struct token_mint_request *req, int64_t now_s, char **out,
                            char *why, size_t whylen);

#endif
