/* token.h - verifying the JWTs that robots and viewers present, and the
 * questions the cloud asks of their claims.
 *
 * Every credential is a JWT (RFC 7519) in JWS compact form (RFC 7515,
 * section 7.1): three base64url segments, header.payload.signature, signed
 * with HS256, RS256, ES256 or EdDSA (Ed25519) by a key of keyset.h (see
 * there why OpenSSL and jansson do the work, not libjwt). token_verify()
 * refuses, in this order and each with its own code:
 *   - a token longer than the configured limit, before looking at any byte;
 *   - anything but three canonical base64url segments, a header that is not
 *     a JSON object, a header with "crit" (no extension is understood);
 *   - an "alg" other than HS256/RS256/ES256/EdDSA ("none" included), or one
 *     the configured keys cannot verify: the key pins the algorithm, so an
 *     HS256 token never meets a public key nor an RS256 token a secret;
 *   - a "kid" that no key has (keys without a kid match any);
 *   - a signature that does not verify;
 *   - a payload that is not a JSON object (only parsed once it is signed);
 *   - "exp" missing or passed, "nbf" or "iat" in the future, each with
 *     leeway_s of clock skew allowed;
 *   - "iss" other than the configured issuer (when one is configured);
 *   - "aud" (a string or an array of strings) that does not name the
 *     configured audience, or any "aud" at all when none is configured
 *     (RFC 7519 section 4.1.3: a token meant for another service is
 *     refused);
 *   - claims Porthole needs missing, mistyped or unknown (see below).
 *
 * Claims. "sub" (who, 1..TOKEN_SUB_MAX bytes of UTF-8 without control
 * characters) and "role" are required. role "robot" needs "robot_id",
 * the one robot id it may register (the syntax of protocol.h's names);
 * role "viewer" needs "robots", an array of robot ids or patterns
 * (TOKEN_ROBOTS_MAX at most; '*' matches any run of characters, '?' one
 * character, nothing else is special; a single string is taken as an array
 * of one) and "scope", an OAuth-style space-separated list of "watch",
 * "control", "admin" (each implying the ones before it; the highest
 * counts). Any other role or scope word is refused. "jti" (at most
 * TOKEN_JTI_MAX bytes) is kept when present.
 *
 * Errors never quote the token nor any part of it: codes are stable short
 * strings for peers, metrics and logs; texts are for people.
 *
 * Threads: a verifier is used and reloaded on the event loop; verification
 * does not block (no I/O; memory bounded by the token's size limit). */
#ifndef PORTHOLE_CLOUD_TOKEN_H
#define PORTHOLE_CLOUD_TOKEN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cloud/keyset.h"

#define TOKEN_MAX_LEN_DEFAULT 8192 /* bytes of a compact token */
#define TOKEN_MAX_LEN_LIMIT 65536  /* the highest max_len accepted */
#define TOKEN_LEEWAY_DEFAULT 30    /* seconds of clock skew for exp, nbf, iat */
#define TOKEN_LEEWAY_LIMIT 600
#define TOKEN_SUB_MAX 256
#define TOKEN_JTI_MAX 128
#define TOKEN_ROBOTS_MAX 64        /* entries of a viewer's "robots" */
#define TOKEN_PATTERN_MAX 64       /* bytes of one robot id or pattern */

/* Why a token was refused. Each has a stable code (token_error_code) that
 * goes to peers and metrics, and a text for people (token_error_text). */
enum token_error {
    TOKEN_OK = 0,
    TOKEN_ERR_MISSING,            /* token-missing: no token where one is required */
    TOKEN_ERR_TOO_LARGE,          /* token-too-large */
    TOKEN_ERR_MALFORMED,          /* malformed-token: segments, base64url, JSON, crit */
    TOKEN_ERR_BAD_ALGORITHM,      /* bad-algorithm: not accepted, or no key of it */
    TOKEN_ERR_UNKNOWN_KEY,        /* unknown-key: no key with the token's kid */
    TOKEN_ERR_BAD_SIGNATURE,      /* bad-signature */
    TOKEN_ERR_EXPIRED,            /* token-expired */
    TOKEN_ERR_NOT_YET_VALID,      /* token-not-yet-valid: nbf or iat ahead */
    TOKEN_ERR_WRONG_ISSUER,       /* wrong-issuer */
    TOKEN_ERR_WRONG_AUDIENCE,     /* wrong-audience */
    TOKEN_ERR_MISSING_CLAIM,      /* missing-claim: exp, sub, role, robot_id, robots, scope */
    TOKEN_ERR_INVALID_CLAIM,      /* invalid-claim: wrong type or syntax, unknown role or scope */
    TOKEN_ERR_WRONG_ROLE,         /* wrong-role: a viewer token where a robot's is needed, ... */
    TOKEN_ERR_WRONG_ROBOT,        /* wrong-robot: a robot token for another robot id */
    TOKEN_ERR_ROBOT_NOT_ALLOWED,  /* robot-not-allowed: a viewer's robots do not match */
    TOKEN_ERR_INSUFFICIENT_SCOPE, /* insufficient-scope */
    TOKEN_ERR_INTERNAL,           /* internal-error: out of memory, OpenSSL failed */
    TOKEN_ERR_COUNT
};

/* "token-expired", ...; "internal-error" for a value out of range. Static. */
const char *token_error_code(enum token_error e);
/* "the token has expired", ...: a sentence for people. Static. */
const char *token_error_text(enum token_error e);

enum token_role { TOKEN_ROLE_NONE = 0, TOKEN_ROLE_ROBOT, TOKEN_ROLE_VIEWER };

/* Ordered: each scope implies the ones below it. */
enum token_scope {
    TOKEN_SCOPE_NONE = 0,
    TOKEN_SCOPE_WATCH,   /* list robots, open sessions */
    TOKEN_SCOPE_CONTROL, /* also the robot's REST API */
    TOKEN_SCOPE_ADMIN,   /* also the cloud's admin endpoints */
};

/* Names ("robot", "viewer"; "watch", "control", "admin") both ways. The
 * parsers return TOKEN_ROLE_NONE / TOKEN_SCOPE_NONE for anything else. A
 * scope text may be a space-separated list; its highest scope counts, and
 * any unknown word makes it TOKEN_SCOPE_NONE. */
const char *token_role_name(enum token_role role);
const char *token_scope_name(enum token_scope scope);
enum token_role token_role_parse(const char *name);
enum token_scope token_scope_parse(const char *text);

/* The checked claims of one token: one allocation (strings and the
 * robots array live inside it), freed with token_claims_free. */
struct token_claims {
    enum token_role role;
    enum token_scope scope;  /* viewers; TOKEN_SCOPE_NONE for robots */
    int64_t exp;             /* NumericDate, seconds (always set) */
    int64_t nbf, iat;        /* 0 when absent */
    const char *sub;
    const char *robot_id;    /* robots; NULL for viewers */
    const char *jti;         /* NULL when absent */
    size_t n_robots;         /* viewers: ids and patterns; 0 for robots */
    const char *robots[];
};

void token_claims_free(struct token_claims *c);

/* May this token register robot robot_id? TOKEN_OK, TOKEN_ERR_WRONG_ROLE
 * (not a robot token), TOKEN_ERR_WRONG_ROBOT (a robot token for another id). */
enum token_error token_may_register(const struct token_claims *c, const char *robot_id);

/* May this viewer see robot robot_id (list it, open a session, reach its
 * API if its scope allows)? TOKEN_OK, TOKEN_ERR_WRONG_ROLE (not a viewer
 * token), TOKEN_ERR_ROBOT_NOT_ALLOWED (no entry of "robots" matches). */
enum token_error token_may_see(const struct token_claims *c, const char *robot_id);

/* Does this viewer hold scope (or a higher one)? TOKEN_OK,
 * TOKEN_ERR_WRONG_ROLE (not a viewer token), TOKEN_ERR_INSUFFICIENT_SCOPE. */
enum token_error token_has_scope(const struct token_claims *c, enum token_scope scope);

/* True when name matches pattern: '*' any run of characters (empty too),
 * '?' exactly one, every other character itself; no path semantics ('/'
 * and '.' are ordinary). Linear in practice, never exponential. */
bool token_glob_match(const char *pattern, const char *name);

/* Checks a payload's claims (the rules above, without time, iss and aud)
 * and copies them into a new token_claims. Returns TOKEN_OK and *out, or
 * TOKEN_ERR_MISSING_CLAIM / _INVALID_CLAIM / _INTERNAL with a reason in
 * why (naming the claim, never quoting it). token_mint uses it to refuse to
 * sign what token_verify would refuse. */
enum token_error token_claims_from_json(json_t *payload, struct token_claims **out, char *why,
                                        size_t whylen);

struct token_config {
    const char *issuer;   /* expected "iss"; NULL: not checked (copied by the verifier) */
    const char *audience; /* expected in "aud"; NULL: tokens with "aud" are refused */
    unsigned leeway_s;    /* clock skew, 0..TOKEN_LEEWAY_LIMIT */
    size_t max_len;       /* bytes of a compact token, 1..TOKEN_MAX_LEN_LIMIT */
};

/* No issuer, no audience, TOKEN_LEEWAY_DEFAULT, TOKEN_MAX_LEN_DEFAULT. */
void token_config_defaults(struct token_config *cfg);

struct token_verifier; /* opaque: the configuration and the keyset */

/* Makes a verifier of cfg (copied) and keys (taken: freed with the
 * verifier, also on failure). Returns NULL when out of memory or cfg is
 * out of range (leeway_s, max_len). */
struct token_verifier *token_verifier_new(const struct token_config *cfg, struct keyset *keys);
void token_verifier_free(struct token_verifier *v);

/* For SIGHUP: loads src and swaps it in; on failure the old keys stay in
 * force, err says why, and -1 is returned (see keyset_reload). Tokens
 * verified afterwards use the new keys; claims already returned stay. */
int token_verifier_reload(struct token_verifier *v, const struct keyset_source *src, char *err,
                          size_t errlen);

const struct keyset *token_verifier_keys(const struct token_verifier *v);
const struct token_config *token_verifier_config(const struct token_verifier *v);

/* Verifies the len bytes at token (the compact form, no "Bearer ") at wall
 * time now_s (Unix seconds; injected so tests control the clock). Returns
 * TOKEN_OK with *out set (free it with token_claims_free), or a refusal
 * with *out NULL and, when why is not NULL, a sentence in why that adds
 * what helps an operator (which claim, which segment) without any part of
 * the token. Never crashes or leaks on any input. */
enum token_error token_verify(const struct token_verifier *v, const char *token, size_t len,
                              int64_t now_s, struct token_claims **out, char *why,
                              size_t whylen);

#endif
