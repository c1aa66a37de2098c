/* ice_servers.h - the STUN and TURN servers the cloud hands to robots and viewers.
 *
 * A deployment configures its servers once on porthole-cloud (--stun-urls,
 * --turn-urls, --turn-secret, --turn-ttl); the cloud hands them to every
 * robot with its registration and to every viewer with each session, so
 * nobody configures ICE by hand.
 *
 * TURN credentials follow the TURN REST API scheme that coturn implements as
 * `use-auth-secret` (draft-uberti-behave-turn-rest-00):
 *   username   = "<expiry, unix seconds>:<peer id>"
 *   credential = base64(HMAC-SHA1(shared secret, username))
 * They are minted per peer and expire by themselves, so a leaked one is
 * worth at most one TTL. Credentials are never logged.
 *
 * URLs are checked at start-up by common/iceurl.h (RFC 7064 and RFC 7065:
 * scheme:host[:port][?transport=udp|tcp], no user info, no path).
 *
 * Ownership: an ice_servers copies what it is given; every json_t returned
 * belongs to the caller. Pure: no I/O, time is passed in. Not thread-safe. */
#ifndef PORTHOLE_CLOUD_ICE_SERVERS_H
#define PORTHOLE_CLOUD_ICE_SERVERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most URLs per list (a URL is at most ICEURL_MAX - 1 bytes). */
#define ICE_SERVERS_MAX_URLS 16

/* base64 of a 20-byte HMAC-SHA1 is 28 characters. */
#define ICE_SERVERS_CREDENTIAL_LEN 28

struct ice_servers_config {
    const char *stun_urls;   /* comma-separated stun:/stuns: URLs, or "" / NULL */
    const char *turn_urls;   /* comma-separated turn:/turns: URLs, or "" / NULL */
    const char *turn_secret; /* the TURN server's static-auth-secret; needed with turn_urls */
    long turn_ttl_s;         /* lifetime of a credential, seconds (>= 20) */
};

struct ice_servers;

/* Validates cfg and returns the server set, or NULL with one line in err
 * naming the bad URL and what is wrong ("--turn-urls: 'turn:x:0': port must
 * be 1..65535"). TURN URLs without a secret, or a secret without TURN URLs,
 * are refused. An empty configuration is valid (ice_servers_empty). */
struct ice_servers *ice_servers_new(const struct ice_servers_config *cfg, char *err, size_t errlen);

/* NULL is allowed. */
void ice_servers_free(struct ice_servers *s);

/* True when no STUN and no TURN server is configured. */
bool ice_servers_empty(const struct ice_servers *s);

/* True when TURN servers (and so credentials) are configured. */
bool ice_servers_has_turn(const struct ice_servers *s);

/* The lifetime of TURN credentials, seconds. */
long ice_servers_ttl(const struct ice_servers *s);

/* A new JSON array of RTCIceServer dictionaries (W3C WebRTC), the form both
 * the browser and the robot take:
 *   [{"urls": ["stun:..."]},
 *    {"urls": ["turn:..."], "username": "<exp>:<peer>", "credential": "..."}]
 * with TURN credentials for peer_id that expire at now_s + TTL. peer_id is
 * a validated name (robot or client id). An empty set gives []. Returns
 * NULL only when out of memory. */
json_t *ice_servers_json(const struct ice_servers *s, const char *peer_id, int64_t now_s);

/* Writes base64(HMAC-SHA1(secret, username)) and a NUL into out. Returns 0,
 * or -1 when the HMAC cannot be computed. Exposed for its test vectors. */
int ice_servers_credential(const char *secret, const char *username,
                           char out[ICE_SERVERS_CREDENTIAL_LEN + 1]);

#endif
