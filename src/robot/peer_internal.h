/* peer_internal.h - what peer.c and peer_candidates.c share: the peer's state.
 * Nothing outside those two files includes it; peer.h is the contract. */
#ifndef PORTHOLE_ROBOT_PEER_INTERNAL_H
#define PORTHOLE_ROBOT_PEER_INTERNAL_H

#define GST_USE_UNSTABLE_API
#include <gst/gst.h>
#include <gst/webrtc/webrtc.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "robot/icegate.h"
#include "robot/media.h"
#include "robot/peer.h"

#define PEER_MAX_MEDIA 8 /* m-lines in our offer: tracks + the data channel */

/* A local candidate, kept for peer_offer_with_candidates. */
struct local_candidate {
    unsigned mline;
    char *line; /* "candidate:..." */
};

struct peer_track {
    struct peer *p;
    int pt;            /* its RTP payload type */
    int twcc;          /* its TWCC header extension id (0: none) */
    GstElement *appsrc;
    struct media_track *track; /* atomic pointer: read by the PLI probe */
};

struct peer {
    gint refs;          /* atomic: the owner's, plus one per pending event or promise */
    bool closed;        /* main thread: set by peer_free; events are then dropped */
    gint offer_started; /* atomic */
    char *session_id;
    struct media *media;
    struct peer_callbacks cb;
    void *user;
    GMainContext *ctx;
    struct icegate gate; /* every remote candidate passes here */
    size_t max_sdp;
    GstElement *pipeline, *webrtc;
    GstElement *rtpbin; /* inside webrtc; a ref, for its RTCP signals */
    GstWebRTCDataChannel *channel;
    struct depth_link *depth; /* the depth channels, or NULL */
    guint bus_watch;
    struct peer_track tracks[PEER_MAX_TRACKS];
    size_t ntracks;
    enum peer_state state;
    bool answering;  /* the viewer offered (params.remote_offer): we answer, once */
    bool answered;
    bool reoffered;  /* an ICE restart's offer went out and awaits its answer */
    unsigned restarts; /* ICE restarts begun */
    _Atomic int64_t heard_us; /* last packet from the viewer (peer_ice.h), or 0 */
    unsigned watched;  /* ICE transports whose packets set heard_us */
    /* from our offer */
    size_t nmedia;
    char *mids[PEER_MAX_MEDIA];
    char *kinds[PEER_MAX_MEDIA];
    char *offer;     /* our offer's text, once made */
    GArray *local;   /* struct local_candidate, in gathering order */
    bool gathered;   /* gathering is complete */
    /* the viewer's candidates (main thread) */
    gint64 direct_since_us; /* its first direct (not relayed) one, or 0 */
    GPtrArray *held;        /* "MLINE\ncandidate:..." relayed ones held back */
    GSource *hold;          /* the timer that releases them, or NULL */
    GPtrArray *srflx;       /* "IP PORT" of its srflx candidates (this generation) */
    GPtrArray *prflx;       /* "IP PORT" libnice learnt from its checks (same) */
    GObject *nice;          /* the NiceAgent watched for those, or NULL */
    /* our own candidates on their way to the viewer (main thread) */
    gint64 local_first_us;  /* our first one went out then (monotonic), or 0 */
    gint64 srflx_sent_us;   /* our first srflx one went out then, or 0 */
    struct peer_bwe *bwe;   /* the viewer's bandwidth estimate (peer_bwe.c) */
};

/* peer_bwe.c: the viewer's TWCC feedback drives its tracks' layer and
 * estimate. new in peer_new once the tracks exist (ceiling: the media's
 * bitrate ceiling); attach once connected (rtpbin's session exists then;
 * a no-op when attached); free after the pipeline stopped (no RTCP thread
 * runs then). Main thread. */
void peer_bwe_new(struct peer *p, double ceiling_kbps);
void peer_bwe_attach(struct peer *p);
void peer_bwe_free(struct peer *p);

/* peer_candidates.c: watch (in peer_new, after peer_ice_configure) the
 * ICE agent for the viewer's peer-reflexive addresses, which release its
 * held relayed candidates when they show a symmetric NAT; unwatch in
 * peer_free once the pipeline stopped. forget_viewer empties what was
 * learnt of the viewer's candidates (an ICE restart: a new generation).
 * Main thread. */
void peer__watch_ice(struct peer *p);
void peer__unwatch_ice(struct peer *p);
void peer__forget_viewer(struct peer *p);

/* peer_candidates.c: hands one of our candidates (candidate NULL: the end
 * of candidates) to cb.on_candidate, noting when our first one and our
 * first srflx one went out: the hold of the viewer's relayed candidates
 * counts from them too. Main thread. */
void peer__send_local(struct peer *p, unsigned mline, const char *candidate);

/* Takes a reference (atomic; any thread). Returns p. */
struct peer *peer__ref(struct peer *p);

/* Drops a reference (a GDestroyNotify); the last one frees the peer's
 * memory (peer_free has torn the pipeline down before). */
void peer__unref(gpointer data);

/* Any thread: the local description (an offer, or in answer mode the
 * answer) reaches on_offer on the main context; an error reaches on_error. */
void peer__post_local(struct peer *p, const char *sdp);
void peer__post_error(struct peer *p, const char *code, const char *reason);

/* peer_answer.c: applies the viewer's offer (taken) and answers it; the
 * answer comes through peer__post_local, a refusal through
 * peer__post_error ("offer-rejected", "answer-failed"). Main thread, once
 * the pipeline plays. */
void peer__answer(struct peer *p, GstSDPMessage *offer);

#endif
