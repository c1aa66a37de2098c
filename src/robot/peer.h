/* peer.h - one viewer's WebRTC peer: a webrtcbin fed by media tracks.
 *
 * A peer owns a small pipeline of its own:
 *   appsrc ! rtpvp8pay ! webrtcbin   (one such branch per requested stream)
 * plus a data channel "telemetry", and the depth channels (depth_hub.h)
 * when the session asked for depth. It creates the offer as soon as it is
 * built, applies the viewer's answer, and trickles ICE candidates both
 * ways; it keeps its offer and local candidates, for a viewer that takes
 * them in one SDP (peer_offer_with_candidates). Only addresses on the ICE
 * allow-list are gathered locally (peer_ice.h) and accepted from the
 * viewer; UPnP and ICE-TCP are off. On request it restarts ICE on the same
 * webrtcbin, tracks and encoders (peer_restart_ice: a new offer with new
 * ICE credentials, the viewer answers again), and it says when the
 * viewer last sent anything (peer_heard_us), from which the session judges
 * that a path died.
 *
 * Threads: every function runs on the main thread; webrtcbin reports on
 * its own threads and the peer forwards each event to the main context
 * given in the params, so every callback fires on the main thread. No
 * callback fires after peer_free. */
#ifndef PORTHOLE_ROBOT_PEER_H
#define PORTHOLE_ROBOT_PEER_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "robot/camera.h"
#include "robot/depth_hub.h"
#include "robot/media.h"
#include "common/netlist.h"

#define PEER_MAX_TRACKS 4

enum peer_state { PEER_NEW, PEER_CONNECTING, PEER_CONNECTED, PEER_DISCONNECTED, PEER_FAILED, PEER_CLOSED };
const char *peer_state_name(enum peer_state st);

struct peer_params {
    const char *session_id;                 /* copied */
    enum cam_stream streams[PEER_MAX_TRACKS];
    size_t nstreams;                        /* 1..PEER_MAX_TRACKS */
    const char *stun_server;                /* stun://host:port or NULL */
    const char *turn_servers;               /* comma-separated turn(s):// URLs or NULL */
    const struct netlist *allow;            /* borrowed; outlives the peer */
    size_t max_remote_candidates;           /* admitted per peer; 0: ICEGATE_DEFAULT_MAX */
    const char (*local_addrs)[46];          /* addresses to gather on; NULL/0: all */
    size_t nlocal;
    size_t max_sdp;                         /* bytes; a longer answer (or offer) is refused */
    /* The viewer's offer, for a viewer that offers first (WHEP): the peer
     * then answers it (sdp_offer.h checks it; its track i goes on its i-th
     * usable video m-line) instead of making an offer, and on_offer
     * carries that answer. NULL: the robot offers, as always. Copied. */
    const char *remote_offer;
    GMainContext *context;                  /* where callbacks fire */
    struct depth_hub *depth_hub;            /* borrowed; NULL: no depth channels */
    const struct depth_request *depth;      /* the session's depth settings, or NULL */
};

struct peer;

/* Every callback gets the user pointer given to peer_new (the robot gives
 * its struct session) and fires on the main context, never inside a call
 * into this module. */
struct peer_callbacks {
    /* The local offer is ready (and set as local description): the first
     * one, or an ICE restart's, which the local candidates gathered so far
     * then follow again through on_candidate (and its NULL, when gathering
     * had completed). With a remote_offer: the local answer, once. */
    void (*on_offer)(void *user, struct peer *p, const char *sdp);
    /* A local ICE candidate; candidate NULL means gathering is complete. */
    void (*on_candidate)(void *user, struct peer *p, unsigned mline, const char *mid,
                         const char *candidate);
    /* The connection state changed. */
    void (*on_state)(void *user, struct peer *p, enum peer_state st);
    /* Something failed after the call that caused it returned (the answer
     * was refused by webrtcbin, a pipeline error). code is a short
     * machine-readable word, reason a sentence. */
    void (*on_error)(void *user, struct peer *p, const char *code, const char *reason);
    /* The viewer went away without signaling: it closed the telemetry
     * channel, sent RTCP BYE, or its RTCP reports stopped (rtpbin's source
     * timeout: about 25 s). */
    void (*on_viewer_gone)(void *user, struct peer *p, const char *why);
};

/* Builds the peer and starts it; the offer (or the answer to
 * params->remote_offer) follows through on_offer. Returns NULL with a
 * reason in err (for a remote offer refused by sdp_offer_check, its
 * words). */
struct peer *peer_new(struct media *m, const struct peer_params *params,
                      const struct peer_callbacks *cb, void *user, char *err, size_t errlen);

/* Validates the viewer's answer (size, SDP syntax, one answer per offered
 * m-line of the same kind, ICE credentials and DTLS fingerprint present;
 * sdp_answer.h has the whole list), passes its a=candidate lines through
 * the peer's candidate gate (icegate.h), and applies it. One answer per
 * offer: a second one is refused unless an ICE restart's offer went out
 * since. Returns 0, or -1 with the reason in err (the peer stays usable and
 * can take a corrected answer). */
int peer_set_answer(struct peer *p, const char *sdp, char *err, size_t errlen);

/* Adds a remote candidate ("candidate:..." line; mline from sdpMLineIndex,
 * or found from mid) through the peer's candidate gate (icegate.h): webrtcbin
 * gets the candidate's canonical text, never the viewer's. Returns 0 when
 * added, 1 when the gate refused it (its address or the cap; counted and
 * logged there), -1 with a reason in err for a malformed candidate ("malformed
 * ICE candidate: ...") or m-line. An empty candidate (end of candidates)
 * returns 0 and does nothing. A relayed candidate ("typ relay") of a viewer
 * that also sent direct ones reaches ICE up to 250 ms after its first direct
 * one (peer_candidates.c, hold_relayed), so that a direct path that works wins over a
 * relay; not for a peer that answered the viewer's offer (the viewer nominates). */
int peer_add_candidate(struct peer *p, const char *candidate, int mline, const char *mid,
                       char *err, size_t errlen);

/* Remote candidates admitted and refused (malformed ones included) so far,
 * whichever way they came. */
void peer_candidate_counts(const struct peer *p, size_t *admitted, size_t *refused);

/* Moves track i of the peer to streams[i] for each i < n, without
 * renegotiation. n must equal the number of tracks. Returns 0, or -1 with
 * a reason in err (no track has changed then... except those switched
 * before a failing one; each switch is independent). */
int peer_switch(struct peer *p, const enum cam_stream *streams, size_t n, char *err,
                size_t errlen);

/* The local offer with every local candidate gathered so far added as
 * a=candidate lines of its m-lines, and a=end-of-candidates on each m-line
 * once gathering is complete: for a viewer that takes no trickled
 * candidates (the REST API). A new string (g_free), or NULL before the
 * offer is made (on_offer); the offer unchanged should it not parse.
 * *ncandidates is the number of local candidates gathered so far. */
char *peer_offer_with_candidates(const struct peer *p, size_t *ncandidates);

/* Begins an ICE restart (RFC 8445 section 9.1.1.1) over the same
 * webrtcbin: new local ICE credentials; libnice forgets the viewer's
 * candidates and checks but keeps sending on the selected pair until a new
 * pair is chosen. The new offer follows through on_offer, then the local
 * candidates again; the viewer's answer goes to peer_set_answer and its new
 * candidates to peer_add_candidate. Tracks, encoders, DTLS and the data
 * channel are untouched. Returns 0, or -1 with a reason in err (no offer
 * made yet). A restart begun before the last one was answered replaces
 * it. */
int peer_restart_ice(struct peer *p, char *err, size_t errlen);

/* An ICE restart the viewer began, for a peer that answered the viewer's
 * offer (remote_offer): the viewer sends new ICE credentials ufrag and pwd
 * (WHEP's PATCH, RFC 8840 fragment), the peer restarts its ICE stream with
 * new local credentials of its own and takes the viewer's; the viewer's
 * new candidates then go to peer_add_candidate. Tracks, encoders, DTLS and
 * the data channel are untouched. Returns the SDP fragment to send back
 * (a new string, g_free: a=ice-ufrag, a=ice-pwd, the first m-line with its
 * a=mid, the robot's candidates, a=end-of-candidates once gathered), or
 * NULL with the reason in err (not an answering peer, no answer yet). */
char *peer_restart_ice_remote(struct peer *p, const char *ufrag, const char *pwd, char *err,
                              size_t errlen);

/* An ICE restart the viewer began with a new offer, for a peer that
 * answered the viewer's offer (the cloud's create-session with an offer):
 * the offer is checked as the first one was (sdp_offer.h: size, syntax,
 * the same video m-lines), its ICE credentials restart the stream as
 * peer_restart_ice_remote does, and its candidates go through the gate.
 * Returns the answer (a new string, g_free): our last answer with the new
 * local credentials and every local candidate gathered so far
 * (peer_offer_with_candidates); or NULL with the reason in err. The
 * viewer's new candidates then go to peer_add_candidate. */
char *peer_restart_ice_offer(struct peer *p, const char *offer, char *err, size_t errlen);

/* True when the peer answered the viewer's offer (params.remote_offer):
 * it is the controlled ICE agent and restarts only when the viewer asks. */
bool peer_answering(const struct peer *p);

/* g_get_monotonic_time() of the last packet received from the viewer
 * through ICE (RTP, RTCP, DTLS and SCTP: STUN stays inside libnice), or 0
 * before the first. A live viewer answers the robot's telemetry (once a
 * second) with SCTP acknowledgements and sends RTCP receiver reports, so
 * it is heard from at least every second or so. */
int64_t peer_heard_us(struct peer *p);

/* The session's depth channels (depth_hub.h), or NULL when it asked for none. */
struct depth_link *peer_depth(const struct peer *p);

/* Sends text on the telemetry channel if it is open. */
void peer_send_telemetry(struct peer *p, const char *text);

const char *peer_session_id(const struct peer *p);
enum peer_state peer_state(const struct peer *p);
size_t peer_track_count(const struct peer *p);
enum cam_stream peer_track_stream(const struct peer *p, size_t i);
uint64_t peer_track_frames(struct peer *p, size_t i);
/* Frames track i skipped above its layer, and that layer (media.h). */
uint64_t peer_track_skipped(struct peer *p, size_t i);
int peer_track_layer(struct peer *p, size_t i);

/* The viewer's bandwidth estimate from its TWCC feedback (bwe.h) and the
 * layer its tracks forward (media.h). estimate_kbps is 0 until the first
 * report (a viewer that sends no feedback gets the top layer). */
struct peer_bandwidth {
    double estimate_kbps;
    int layer;
    unsigned reports, overuses, loss_drops, ups, downs;
    unsigned rtx_sent, rtx_dropped; /* retransmissions sent, and refused over budget */
    unsigned probes, probe_successes, padding_packets; /* padding probes (bwe_probe) */
};
void peer_bandwidth(struct peer *p, struct peer_bandwidth *out);
/* GStreamer elements in this peer's pipeline (webrtcbin counted with its
 * internals). */
unsigned peer_element_count(struct peer *p);

/* Tears the peer down: stops its pipeline, releases its tracks (stopping
 * encoders nobody watches any more), frees everything. NULL is a no-op. */
void peer_free(struct peer *p);

#endif
