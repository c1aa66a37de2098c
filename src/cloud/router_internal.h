/* router_internal.h - what the router's three files share: the router's
 * and peers' internals and the few calls between the files. Private to
 * src/cloud/router*.c; everything else sees router.h, whose contract this
 * keeps (one event-loop thread, time comes in as arguments).
 *
 * router.c owns peers, registration and relaying; router_session.c
 * sessions; router_presence.c the robots list and the availability broadcasts;
 * router_request.c robot requests (the token table, the per-robot,
 * per-asker and deadline lists, and every answer); router_auth.c the
 * peers' identities (admission, refusals, token expiry and refresh, what a
 * viewer may see, sessions per identity). Functions here carry the prefix
 * router__ so that they never pass for router.h's API. */
#ifndef PORTHOLE_CLOUD_ROUTER_INTERNAL_H
#define PORTHOLE_CLOUD_ROUTER_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "cloud/auth.h"
#include "cloud/protocol.h"
#include "cloud/ratelimit.h"
#include "cloud/router.h"
#include "common/hmap.h"
#include "common/ids.h"
#include "common/list.h"

/* Who waits for robot answers: a WebSocket client (peer) or an HTTP client
 * of the proxy (http, the transport's handle); exactly one is set. */
struct asker {
    struct peer *peer;
    void *http;
    struct list requests;        /* pending struct request, newest first */
    unsigned nrequests;
    bool remote;                 /* http of another instance: answered through the cluster */
};

/* Fields ordered so that no padding is left: one is allocated per
 * connection. */
struct peer {
    void *conn;
    const struct codec *codec;   /* how this peer's messages are framed */
    char *id;                    /* robotId or clientId once registered */
    /* The verified identity (router_auth.c), owned; NULL without a policy
     * that has identities, and until registration. */
    struct token_claims *claims;
    char *device_info;           /* robots: compact JSON text, as registered */
    int64_t connected_at_ms;     /* wall clock, at registration */
    /* With claims: when the token expires, then (in_grace) when the grace
     * ends (monotonic ms), on r->expiries in that order. */
    int64_t expiry_ms;
    struct list expiry_node;
    /* This peer's sessions, newest first, through the session's robot_node
     * for a robot and its client_node for a client (router.c). */
    struct list sessions;
    struct asker asker;          /* clients: the robot requests this peer asked */
    struct list requests;        /* robots: the requests this robot is to answer */
    struct ratelimit rate;       /* rate_limit messages per second, bursts of 2x */
    enum role role;
    unsigned nsessions;
    unsigned npending;           /* robots: how many */
    bool closing;                /* asked the transport to close: ignore input */
    bool in_grace;               /* told token-expired; closed at expiry_ms */
    bool refusal_logged;         /* an authentication refusal was logged */
    bool remote;                 /* a client of another instance (router_remote.c) */
    /* The role it registered as, kept after it is detached, for
     * router_peer_label(): ROLE_NONE until it registers. */
    unsigned char label_role;
    /* The address, exactly as long as it is (allocated with the peer):
     * an idle connection's bytes are the figure of issue #16. The label
     * for logs is made from role, id and this when asked for
     * (router_peer_label). */
    char remote_addr[];
};

/* Counted error codes: the size of router.c's table, NULL-terminated. */
enum { ROUTER_ERROR_CODES = 17 };

/* Refusal reasons counted (router_auth.c): every token.h code but "ok",
 * then AUTH_REFUSED_LOOPBACK_ONLY and "wrong-subject", then NULL. */
enum { ROUTER_REFUSAL_CODES = TOKEN_ERR_COUNT - 1 + 2 + 1 };

/* An HTTP client of the proxy (router_request.c), or of another
 * instance's proxy (router_remote.c). */
struct http_asker {
    struct asker asker;
    char name[80];               /* "http:<addr>": the clientId robots see */
    /* Forwarded to another instance: the token its answer comes under (in
     * r->forwarded), or "". Here, not in struct asker: a peer's asker
     * never forwards, and peers are the many. */
    char fwd_token[IDS_TOKEN_LEN + 1];
};

/* Open sessions of one identity (a token's sub), over all its
 * connections: in r->identities while it has any. */
struct identity {
    unsigned sessions;
    char sub[];
};

struct router {
    struct router_config cfg;
    const struct transport *tx;
    const struct auth *auth;
    struct registry *reg;
    struct hmap *requests;       /* token -> struct request, every robot connection */
    struct list deadlines;       /* pending requests, earliest deadline first */
    struct list expiries;        /* peers with claims, earliest expiry_ms first */
    struct hmap *identities;     /* sub -> struct identity */
    struct hmap *forwarded;      /* token -> struct http_asker, HTTP forwarded elsewhere */
    size_t peers;
    struct router_stats stats;
    struct router_error_count errors[ROUTER_ERROR_CODES];
    struct router_error_count refusals[ROUTER_REFUSAL_CODES];
};

/* ---- router.c, for the other two ---- */

/* Queues b for p (the transport takes its own reference) and counts it. */
void router__send_buf(struct router *r, struct peer *p, struct outbuf *b);

/* Encodes type + body (reference stolen; NULL means out of memory, logged)
 * with p's codec and queues it for p. */
void router__send_msg(struct router *r, struct peer *p, const char *type, json_t *body);

/* Sends p {"type":"error","code","message","requestType"?,"requestId"?}
 * (msg, the request, may be NULL) plus the members of extra (an object,
 * reference stolen; NULL for none), and counts the code. */
void router__send_error(struct router *r, struct peer *p, const char *code, const char *text,
                        const char *request_type, json_t *msg, json_t *extra);

/* Closes p with 1008 and reason (static): input is ignored from now on. */
void router__close_peer(struct router *r, struct peer *p, const char *reason);

/* Counts an error code sent (the codes of router.c's table). */
void router__count_error(struct router *r, const char *code);

/* msg's requestId when it is a string of at most PROTO_REQUEST_ID_MAX
 * bytes (echoed in replies), else NULL. Borrowed. */
json_t *router__request_id(json_t *msg);

/* Adds "iceServers" (STUN/TURN servers with TURN credentials minted now
 * for p) to body when any are configured. Returns body (NULL stays NULL). */
json_t *router__with_ice_servers(struct router *r, const struct peer *p, json_t *body);

/* ---- router_session.c, for router.c ---- */

struct session;

/* A valid create-session from client: session-created and create-session
 * to the robot, or session-error (robot-not-found, also for a robot the
 * client may not see; session-limit; internal). */
void router__on_create_session(struct router *r, struct peer *client, json_t *msg);

/* The session of id sid, or NULL. */
struct session *router__find_session(struct router *r, const char *sid);

/* The peer at the other end of s from p, or NULL when p is not one of its
 * two peers (s may be NULL too). */
struct peer *router__other_side(const struct session *s, const struct peer *p);

/* True when p is s's robot. */
bool router__is_robot_of(const struct session *s, const struct peer *p);

/* True unless t is a webrtc-offer or webrtc-answer going the wrong way
 * for s (the caller then refuses it with wrong-role): the robot offers and
 * the client answers, unless the client's create-session carried an offer;
 * then the robot answers and the client offers again (ICE restarts), except
 * that a robot that does not know the field may offer before it answered,
 * which makes the session one where the robot offers (the client rolls its
 * offer back and answers). A webrtc-answer or webrtc-offer that is let
 * through may so fix the direction: call this once per message, just
 * before relaying it. */
bool router__session_may_relay(struct session *s, const struct peer *p, enum msg_type t);

/* A switch-stream-type of s went through: its streams join the audit. */
void router__session_switched(struct session *s, json_t *msg);

/* Ends s with reason, telling the peers named by notify_robot and
 * notify_client (session-closed), writes its audit line, frees s. */
void router__end_session(struct router *r, struct session *s, const char *reason,
                         bool notify_robot, bool notify_client);

/* Ends every session of p (peer-disconnected, told to the other sides). */
void router__end_peer_sessions(struct router *r, struct peer *p);

/* Ends every session (server-shutdown, told to both sides). */
void router__end_all_sessions(struct router *r);

/* ---- router_auth.c, for the other three ---- */

/* Asks the policy whether p may register as role (robot_id for robots)
 * with the "token" of msg. Returns true with *claims (NULL without
 * identities; the caller keeps them with router__set_identity), or false
 * after answering p `error unauthorized` with the reason, counting and
 * logging the refusal (once per connection) and telling the transport. */
bool router__admit(struct router *r, struct peer *p, enum role role, const char *robot_id,
                   json_t *msg, const char *type, struct token_claims **claims);

/* Gives p its identity (claims taken; NULL is allowed) and schedules its
 * expiry. */
void router__set_identity(struct router *r, struct peer *p, struct token_claims *claims,
                          int64_t now_ms);

/* Frees p's claims and cancels its expiry. */
void router__forget_identity(struct router *r, struct peer *p);

/* A valid refresh-token from p (registered). */
void router__on_refresh_token(struct router *r, struct peer *p, json_t *msg, int64_t now_ms);

/* Tells peers whose token expired by now_ms, closes those whose grace
 * ended. Returns the next expiry, or -1. */
int64_t router__expiry_tick(struct router *r, int64_t now_ms);
int64_t router__next_expiry(const struct router *r);

/* May a peer with these claims see robot_id? NULL claims (no identities)
 * see everything. */
bool router__may_see(const struct token_claims *claims, const char *robot_id);

/* {"sub","scope","clientId"} for a robot-request, or NULL without claims
 * (or out of memory). New reference. */
json_t *router__caller_json(const struct token_claims *claims, const char *client_id);

/* Counts one more open session for sub (making its record when absent)
 * and sets *id to its record. Returns 0, 1 when sub already has
 * max_sessions_per_identity (nothing changes), -1 when out of memory.
 * router__identity_release() counts one session less and frees the record
 * at zero; NULL is allowed. */
int router__identity_take(struct router *r, const char *sub, struct identity **id);
void router__identity_release(struct router *r, struct identity *id);

/* Counts a refusal by its code (unknown codes are not counted). */
void router__count_refusal(struct router *r, const char *code);

/* Names the slots of r->refusals (router_new). */
void router__init_refusals(struct router *r);

/* ---- router_presence.c, for router.c ---- */

/* Tells every registered client that may see robot (registered) that it
 * came online (robot-available with its robotId, deviceInfo and
 * connectedAt) or went away (robot-unavailable). Encoded once per codec
 * in use. */
void router__announce_robot(struct router *r, const struct peer *robot, bool available);

/* Sends client (registered) available-robots: its clientId and the robots
 * online now that it may see. */
void router__send_robot_list(struct router *r, struct peer *client);

/* The transport of p: the server's, or the cluster's for a remote peer. */
static inline const struct transport *router__tx(const struct router *r, const struct peer *p)
{
    return p->remote ? r->cfg.cluster->tx : r->tx;
}

/* ---- router_remote.c, for the other files ---- */

/* With a cluster, forwards the message of local client p (decoded: type,
 * msg; as it came: data, len) to the instance of robot_id, or of its
 * session sid when robot_id is NULL. Returns true when forwarded: p's
 * message is then handled there. */
bool router__forward(struct router *r, struct peer *p, const char *robot_id, const char *sid,
                     const char *type, json_t *msg, const char *data, size_t len);

/* With a cluster, forwards h's request for a robot of another instance.
 * Returns true when forwarded (the answer comes later). */
bool router__forward_http(struct router *r, struct http_asker *h,
                          const struct robot_request *req);

/* h goes: forgets its forwarded request, if any. */
void router__forget_forwarded(struct router *r, struct http_asker *h);

/* ---- router_request.c, for router.c ---- */

/* A valid robot-request from client (protocol_validate passed): forwarded
 * to its robot, or answered at once (503, 403, 429, 500). msg is borrowed. */
void router__on_robot_request(struct router *r, struct peer *client, json_t *msg,
                              int64_t now_ms);

/* A valid robot-response from robot: handed to the asker when its token is
 * pending on this robot's connection, otherwise dropped and counted. */
void router__on_robot_response(struct router *r, struct peer *robot, json_t *msg);

/* True when the len bytes at data are a robot-response that answers a
 * request pending on robot: such answers are never rate-limited (their
 * number is bounded by the requests the cloud forwarded). */
bool router__answers_pending(struct router *r, struct peer *robot, const char *data,
                             size_t len);

/* Forgets every request a asked, without answering: a is going away. */
void router__forget_asker(struct router *r, struct asker *a);

/* Answers 503 to every request robot was to answer: it went offline. */
void router__fail_robot_requests(struct router *r, struct peer *robot);

/* Answers 503 to every pending request: the router shuts down. */
void router__fail_all_requests(struct router *r);

#endif
