/* session.h - the robot's WebRTC sessions: one peer each, and the sink
 * that carries its signaling out.
 *
 * A session is one viewer: a peer (peer.h) on the shared encoders, a
 * timeout that ends it if the viewer does not connect in time, and a sink:
 * where the session's offer, local candidates, errors and close go. The
 * sink is the only thing that depends on who opened the session
 * (sink_cloud.c for create-session, sink_rest.c for POST
 * /api/webrtc/offer); everything else is one kind of object, in one table,
 * whoever opened it. A new kind of session is a new sink.
 *
 * A connected session whose viewer falls silent (nothing received through
 * ICE for SESSION_QUIET_MS: a NAT rebinding, a network switch) restarts
 * ICE over the same peer (peer_restart_ice), as it does when the viewer
 * asks (session_restart_ice) or the connection fails; at most
 * SESSION_MAX_RESTARTS a minute, only through a sink that can carry a new
 * offer (restarts), and not for an orphan. A viewer silent for
 * SESSION_GONE_MS is gone: the session ends ("viewer-unreachable"), orphans
 * and REST sessions too.
 *
 * Ownership: the set owns its sessions; a session owns its peer and its
 * sink. Pointers to a session stay valid until session_end (or
 * session_set_free) returns.
 *
 * Threads: main thread only. Sink operations fire on the main thread: from
 * the peer's events and the session's timeout, and on_closed from inside
 * session_end, session_set_end_all and session_set_free; none fires inside
 * session_open. A sink never ends its own session (the session may still
 * be using itself around the call). No sink operation fires after the
 * session is freed. */
#ifndef PORTHOLE_ROBOT_SESSION_H
#define PORTHOLE_ROBOT_SESSION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "robot/camera.h"
#include "robot/media.h"
#include "robot/peer.h"

struct session;
struct session_set;
struct session_sink;

/* Where one session's signaling goes. An implementation embeds struct
 * session_sink as its first member and keeps its own state after it. */
struct session_sink_ops {
    const char *origin;         /* WebRTCStatus stats.origin: "cloud", "api" */
    bool restarts;              /* carries a new offer mid-session (ICE restarts) */
    const char *client_label;   /* the open log: "opened for <label> <client id>" */
    const char *opened_through; /* error texts: "opened through <this>" */
    /* The local offer is ready (already set as local description). */
    void (*on_offer)(struct session_sink *k, struct session *s, const char *sdp);
    /* A local candidate; candidate NULL: gathering is complete. */
    void (*on_candidate)(struct session_sink *k, struct session *s, unsigned mline,
                         const char *mid, const char *candidate);
    /* The session failed (code: a session-error code, reason: a sentence);
     * it may go on (answer-rejected) or end right after. */
    void (*on_error)(struct session_sink *k, struct session *s, const char *code,
                     const char *reason);
    /* The session is ending (why: a few words). tell is false when the
     * other side ended it and needs no word back. The last operation
     * before free; the session and its peer are still whole. */
    void (*on_closed)(struct session_sink *k, struct session *s, bool tell, const char *why);
    /* Frees the sink; nothing may be sent or answered from here. */
    void (*free)(struct session_sink *k);
};

struct session_sink {
    const struct session_sink_ops *ops;
    /* The viewer's offer when the viewer offers first (sink_whep.c), else
     * NULL: session_open hands it to the peer (peer_params.remote_offer),
     * and on_offer then carries the robot's answer. Borrowed for the call. */
    const char *remote_offer;
};

struct session_set_params {
    struct media *media;    /* borrowed; outlives the set */
    struct camera *cam;     /* borrowed; its serial is a session's device_id */
    size_t max_sessions;    /* open sessions at once; beyond: "session-limit" */
    size_t max_per_viewer;  /* open sessions of one viewer (session_owner); beyond:
                               "session-limit"; 0: no such limit */
    long timeout_s;         /* a session not connected by then ends ("timeout") */
    /* Every session's peer is built from this; session_id and streams are
     * filled per session. Its pointers are borrowed and outlive the set. */
    struct peer_params peer;
};

/* An empty set; params is copied. */
struct session_set *session_set_new(const struct session_set_params *params);

/* Ends every session without logging each: each sink gets on_closed(tell
 * true, "the robot is shutting down") first (while the signaling link and
 * the HTTP server can still carry what it says), then all are freed. NULL is
 * a no-op. */
void session_set_free(struct session_set *set);

/* The STUN server (stun://HOST:PORT) and TURN URIs (comma-separated
 * turn(s)://USER:PASS@HOST:PORT...) the cloud handed out (iceconf.h), or
 * NULL for none: sessions opened from now on use them for whatever the
 * robot's own peer params leave unset. Running sessions are not touched.
 * Both are copied. */
void session_set_cloud_ice(struct session_set *set, const char *stun, const char *turn);

/* The parameters the set was made with (its copy). */
const struct session_set_params *session_set_params(const struct session_set *set);

/* The session with that id, or NULL. */
struct session *session_set_find(struct session_set *set, const char *id);
size_t session_set_count(const struct session_set *set);

/* Calls fn for every session in the order they were opened; fn may end the
 * session it is given (and no other). */
void session_set_foreach(struct session_set *set, void (*fn)(struct session *s, void *user),
                         void *user);

/* Ends every session through session_end(tell true, why); returns how many. */
size_t session_set_end_all(struct session_set *set, const char *why);

/* Who asked for a session, as porthole-cloud told the robot (the clientId
 * of create-session, or the caller of a relayed robot-request); both NULL
 * for the robot's own REST port. The viewer a session counts against is
 * sub when known (the cloud runs with auth), else client_id; a session
 * with neither counts against no viewer. */
struct session_owner {
    const char *client_id;  /* the cloud's clientId of the asker, or NULL */
    const char *sub;        /* the asker's token subject, or NULL */
};

/* Opens session id for owner (NULL: nobody, as both fields NULL) on
 * streams[0..nstreams-1], with sink as its signaling. The offer follows
 * through the sink's on_offer. The sink is taken in every case: on failure
 * it is freed without any operation called. Returns the session, or NULL
 * with *code (a session-error code: "session-limit" for --max-sessions and
 * for the owner's --max-sessions-per-viewer, told apart by err; "internal")
 * and err filled. id must not be in the set yet. */
struct session *session_open(struct session_set *set, const char *id,
                             const struct session_owner *owner, const enum cam_stream *streams,
                             size_t nstreams, struct session_sink *sink, const char **code,
                             char *err, size_t errlen);

/* session_open for a session that also asked for depth (depth_hub.h):
 * depth NULL is session_open. depth is copied. */
struct session *session_open_depth(struct session_set *set, const char *id,
                                   const struct session_owner *owner,
                                   const enum cam_stream *streams, size_t nstreams,
                                   const struct depth_request *depth, struct session_sink *sink,
                                   const char **code, char *err, size_t errlen);

/* The ICE restart policy (see above), in milliseconds. */
#define SESSION_QUIET_MS 2000     /* silence that starts an ICE restart */
#define SESSION_RETRY_MS 3000     /* a restart still unheard-from: another */
#define SESSION_GONE_MS 7000      /* silence that ends the session */
#define SESSION_MAX_RESTARTS 5    /* in any 60 s; one more ends the session */
#define SESSION_SENDING_MS 1000   /* no frame sent for this long: "video-stalled" is declined */

/* The viewer asked for an ICE restart; stalled: because its video stood
 * still (ice-restart-request reason "video-stalled"), which is declined when
 * the session sent no frame in the last SESSION_SENDING_MS (the camera or
 * the encoder stalled, not the path: a restart would only spend the
 * budget). Ignored too while a restart begun less than SESSION_RETRY_MS ago
 * awaits its outcome, and for sessions that never connected or whose sink
 * cannot carry an offer; beyond the budget the session ends (s is then
 * gone). */
void session_restart_ice(struct session *s, bool stalled);

/* The viewer of a session that answered its offer (the sink's
 * remote_offer) began an ICE restart with a new offer
 * (peer_restart_ice_offer): the answer goes out through the sink's on_offer
 * before this returns. Returns 0, or -1 with the reason in err (the
 * session goes on as it was). Such a session never restarts ICE by itself
 * (the viewer controls ICE); its viewer's silence still ends it
 * (SESSION_GONE_MS). */
int session_restart_ice_offer(struct session *s, const char *offer, char *err, size_t errlen);

/* Ends s: logs it, calls its sink's on_closed(tell, why), frees s and its
 * peer. s is gone when this returns. */
void session_end(struct session *s, bool tell, const char *why);

/* The signaling that opened s no longer knows it (the cloud shut down or
 * its link closed): the session keeps streaming, and its sink tells that
 * side nothing more. Shown as stats.orphan in the status. */
void session_set_orphan(struct session *s);
bool session_orphan(const struct session *s);

const char *session_id(const struct session *s);
/* The clientId of the session's owner, or NULL (opened on the robot's own
 * REST port). */
const char *session_client_id(const struct session *s);
struct peer *session_peer(struct session *s);
struct session_sink *session_sink(struct session *s);

/* A new WebRTCStatus object (docs/API.md) describing s: its client_id is
 * the owner's clientId, or "api" for the robot's own REST port. */
json_t *session_status(struct session *s);

#endif
