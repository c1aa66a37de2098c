/* iceconf.h - the STUN and TURN servers of a session, in webrtcbin's form.
 *
 * The cloud hands out RTCIceServer dictionaries (docs/PROTOCOL.md,
 * "ICE servers"): [{"urls": [...], "username": "...", "credential": "..."}].
 * webrtcbin wants one `stun-server` URI (stun://HOST:PORT) and any number
 * of TURN URIs (turn://USER:PASS@HOST:PORT, turns://... for TLS,
 * ?transport=tcp for TCP), with user and password percent-encoded because
 * TURN REST usernames contain ':'.
 *
 * Every URL is checked by common/iceurl.h; entries that webrtcbin cannot
 * use (stuns:, TURN without credentials) are skipped and counted, never
 * passed on. Pure: no I/O. */
#ifndef PORTHOLE_ROBOT_ICECONF_H
#define PORTHOLE_ROBOT_ICECONF_H

#include <jansson.h>
#include <stddef.h>

#define ICECONF_MAX_TURN 8
#define ICECONF_MAX_CREDENTIAL 256 /* bytes of username or credential */

struct iceconf {
    char *stun;                     /* "stun://host:port", or NULL */
    char *turn[ICECONF_MAX_TURN];   /* webrtcbin TURN URIs */
    size_t nturn;
    size_t skipped;                 /* URLs left out (unusable here) */
};

/* Fills c (which must be zeroed or cleared) from a JSON array of
 * RTCIceServer dictionaries. Returns 0, or -1 with the reason in err when
 * servers is not an array of such objects (c is then cleared). */
int iceconf_from_json(struct iceconf *c, const json_t *servers, char *err, size_t errlen);

/* Frees what c holds and zeroes it; c itself is the caller's. */
void iceconf_clear(struct iceconf *c);

/* Joins the TURN URIs with commas into a new string (NULL when there are
 * none); the caller frees it. For peer_params.turn_servers. */
char *iceconf_turn_list(const struct iceconf *c);

#endif
