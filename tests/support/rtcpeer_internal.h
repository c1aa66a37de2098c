/* rtcpeer_internal.h - what rtcpeer.c and rtcpeer_offer.c share: the peer's
 * state and the helpers both sides of the offer use. Nothing outside those
 * two files includes it; rtcpeer.h is the contract. Threads as there: main
 * context unless a comment says otherwise. */
#ifndef PORTHOLE_TESTS_RTCPEER_INTERNAL_H
#define PORTHOLE_TESTS_RTCPEER_INTERNAL_H

#define GST_USE_UNSTABLE_API
#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <jansson.h>
#include <libsoup/soup.h>
#include <stdbool.h>

#include "rtcpeer.h"

#define TWCC_URI "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
#define TWCC_MLINES 8

struct rtcpeer {
    gint refs;          /* atomic: the owner's, plus one per pending event or promise */
    gint dead;          /* atomic: rtcpeer_free() has begun */
    char *url;
    char *robot_id;
    char *streams_json;
    char *device_id; /* NULL: create-session carries no deviceId */
    bool manual;
    bool rest;       /* no signaling: answers the offer of opts.offer_sdp */
    bool cloud_ice;  /* take session-created's iceServers (opts.cloud_ice, no own servers) */
    bool twcc;       /* opts.twcc */
    bool no_decode;  /* opts.no_decode */
    bool offers;     /* opts.viewer_offers: we offer, the robot answers */
    unsigned nvideo; /* offers: recvonly video transceivers (one per stream type) */
    /* The offer's TWCC extension id per m-line (0: none), written on the
     * main thread before the offer is applied, read when answering. */
    int twcc_ext[TWCC_MLINES];

    /* Main thread only. */
    SoupSession *soup;
    GCancellable *cancel;
    SoupWebsocketConnection *ws;
    bool ws_closed;
    bool registered;
    char *session_id;
    char *offer_sdp;
    bool answered;             /* the offer was applied */
    char *answer_sdp;          /* our answer, once created */
    bool answer_sent;
    GPtrArray *held_cands;     /* manual: our candidate messages until the answer is sent */
    GPtrArray *pending_cands;  /* "mline\ncandidate" strings until the offer is applied */
    GPtrArray *inbox;          /* json_t * not yet taken */
    GHashTable *counts;        /* type -> count (GUINT_TO_POINTER) */
    json_t *telemetry;
    unsigned ntelemetry;
    guint bus_watch;
    /* rest peers: */
    GPtrArray *local_cands;    /* "mline\tcandidate" gathered so far */
    bool gathered;             /* ICE gathering completed */
    char *local_answer;        /* the answer with local_cands, once both are ready */
    int64_t requested_us;      /* create-session sent (offers: the offer asked for) */
    /* offers (main thread): */
    bool offer_asked;          /* create-offer emitted */
    char *local_offer;         /* our last offer */
    char *robot_answer;        /* the robot's last answer */
    bool reoffering;           /* a restart offer waits for its answer */
    GPtrArray *early_cands;    /* "mline\tcandidate" gathered before session-created */
    GstWebRTCDataChannel *own_channel; /* offers: puts the application m-line in the offer */
    unsigned relay_hold_ms;    /* opts.relay_hold_ms (offers only) */
    gint64 answer_us;          /* the robot's first answer arrived */
    gint64 remote_srflx_us;    /* the robot's first srflx candidate arrived */
    GPtrArray *held_relay;     /* "mline\ncandidate": the robot's relayed ones, held */
    guint hold_timer;
    struct rtcpeer_ice ice;    /* but .failed, which is ice_failed */

    GstElement *pipe;
    GstElement *webrtc;
    GstWebRTCDataChannel *channel; /* set on the pc thread, released after NULL state */

    /* renegotiation (main thread): */
    GPtrArray *my_cands;       /* our ice-candidate messages, for after a restart */
    unsigned reanswers;        /* offers after the first, answered */
    unsigned ice_restarts;     /* offers after the first with new ICE credentials */
    unsigned restart_requests;
    unsigned restart_after_ms;
    guint freeze_timer;
    gint64 asked_us;           /* when restart_after_ms last asked */

    gint connected;            /* atomic */
    gint ice_failed;           /* atomic */
    GMutex lock;               /* guards the four below */
    struct rtcpeer_video video;
    gint64 connected_us;       /* monotonic time of the first "connected", or 0 */
    gint64 first_frame_us;     /* monotonic time of the first frame, or 0 */
    gint64 last_frame_us;      /* monotonic time of the last frame, or 0 */
};

/* What webrtcbin's threads hand the main context (rtcpeer__post). */
enum ev_kind { EV_CANDIDATE, EV_GATHERED, EV_ANSWER, EV_TELEMETRY, EV_REANSWER, EV_OFFER,
               EV_REOFFER };

/* A renegotiation's promise data: the peer and, for an ICE restart, our
 * new credentials (rtcpeer__reneg_free releases both). */
struct reneg {
    struct rtcpeer *p; /* a reference */
    char *ufrag, *pwd; /* our new credentials, or NULL (no ICE restart) */
};

/* References (any thread): one per pending event or promise. */
struct rtcpeer *rtcpeer__ref(struct rtcpeer *p);
void rtcpeer__unref(gpointer data);
/* rtcpeer_free() has begun (any thread). */
bool rtcpeer__dead(struct rtcpeer *p);

/* The description a create-offer or create-answer promise replied with
 * (field "offer" or "answer"; the caller frees it), or NULL, with "rtcpeer:
 * WHAT: " and webrtcbin's error, if any, on stderr. Unrefs the promise. */
GstWebRTCSessionDescription *rtcpeer__take_description(GstPromise *promise, const char *field,
                                                       const char *what);
/* Any thread: queues an event for the default main context. */
void rtcpeer__post(struct rtcpeer *p, enum ev_kind kind, guint mline, const char *text);

/* Sends text on the WebSocket (dropped, said on stderr, when not open). */
void rtcpeer__send_text(struct rtcpeer *p, const char *text);
/* create-session for our robot and stream types, with offer_sdp when non-NULL. */
void rtcpeer__send_create(struct rtcpeer *p, const char *offer_sdp);
/* Our candidate (text "" or NULL: gathering ended) as an ice-candidate message. */
void rtcpeer__queue_candidate(struct rtcpeer *p, guint mline, const char *text);
/* The robot's candidate to webrtcbin (after the description it belongs to). */
void rtcpeer__add_remote_candidate(struct rtcpeer *p, guint mline, const char *cand);
/* The STUN and TURN servers of an iceServers array, when the peer takes the cloud's. */
void rtcpeer__take_cloud_ice(struct rtcpeer *p, const json_t *servers);

/* The a=ice-ufrag of the first m-line that has one (g_free), or NULL. */
char *rtcpeer__sdp_ufrag(const char *text);
/* Restarts our libnice stream whose local ufrag is ufrag; new credentials in *nu, *np. */
bool rtcpeer__restart_own_ice(struct rtcpeer *p, const char *ufrag, char **nu, char **np);
/* Writes restarted credentials into our own SDP (ufrag NULL: nothing). */
void rtcpeer__set_credentials(GstSDPMessage *sdp, const char *ufrag, const char *pwd);
void rtcpeer__reneg_free(gpointer data);

/* ---- rtcpeer_offer.c: the viewer offers (opts.viewer_offers) ---- */

/* Before the pipeline plays: one recvonly video transceiver per stream type
 * and the data channel of the application m-line. False when it failed. */
bool rtcpeer__add_offer_media(struct rtcpeer *p);
/* Sets p->offers and p->nvideo from streamTypes; false (said on stderr) when
 * it is no array of 1 to TWCC_MLINES entries. */
bool rtcpeer__count_streams(struct rtcpeer *p);
/* available-robots arrived: has webrtcbin make our first offer. */
void rtcpeer__make_offer(struct rtcpeer *p);
/* EV_OFFER / EV_REOFFER: sends our first offer (create-session) or a restart's. */
void rtcpeer__send_offer(struct rtcpeer *p, const char *sdp);
void rtcpeer__send_reoffer(struct rtcpeer *p, const char *sdp);
/* session-created: sends the candidates gathered before it. */
void rtcpeer__send_early_candidates(struct rtcpeer *p);
/* webrtc-answer: applies the robot's answer (the first or a restart's). */
void rtcpeer__apply_answer(struct rtcpeer *p, const char *sdp_text);
/* An ICE restart by a new offer; false when none can be made now. */
bool rtcpeer__restart_by_offer(struct rtcpeer *p);
/* opts.relay_hold_ms: true when cand (a relayed one) was held back. */
bool rtcpeer__hold_relayed(struct rtcpeer *p, guint mline, const char *cand);

#endif
