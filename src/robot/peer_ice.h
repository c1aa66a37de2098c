/* peer_ice.h - a peer's ICE: where webrtcbin gathers and how, ICE
 * restarts, and what the viewer still sends (consent).
 *
 * Set-up: only addresses on the ICE allow-list are gathered (libnice
 * gathers only on addresses added to it, once any is); UPnP and ICE-TCP are
 * off; STUN and TURN servers come from the peer's params; connectivity
 * checks are paced faster than libnice's defaults.
 *
 * Restart: webrtcbin 1.22 has no "ice-restart" offer option (create-offer
 * reuses the last offer's ice-ufrag and ice-pwd: "FIXME: deal with ICE
 * restarts" in gstwebrtcbin.c, still so in 1.24), so the peer restarts
 * libnice's stream itself (RFC 8445 section 9: new local credentials,
 * remote candidates and checks dropped, the selected pair kept until a new
 * one is chosen) and writes the new credentials into the new offer, from
 * which webrtcbin hands them back to libnice unchanged.
 *
 * Consent: libnice's own consent freshness is a construct-only property
 * webrtcbin leaves off, and its keepalive checks give up only after 50 s;
 * so the peer timestamps every packet the viewer's side delivers through
 * the ICE transport (RTP, RTCP, DTLS/SCTP: everything but STUN) and the
 * session decides from the silence (session.c). */
#ifndef PORTHOLE_ROBOT_PEER_ICE_H
#define PORTHOLE_ROBOT_PEER_ICE_H

#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <stdatomic.h>
#include <stdint.h>

#include "robot/peer.h"

/* Configures webrtc (a webrtcbin) from params (stun_server, turn_servers,
 * local_addrs; session_id names it in the logs). Main thread, while the
 * peer is being built (before its pipeline leaves NULL). Cannot fail: what
 * webrtcbin refuses is logged and left out. */
void peer_ice_configure(GstElement *webrtc, const struct peer_params *params);

/* Restarts the libnice stream of webrtc whose local ufrag is ufrag (the one
 * of the last offer; with max-bundle there is one). Returns 0 with its new
 * credentials in *new_ufrag and *new_pwd (g_free), or -1 when no stream
 * has that ufrag. Any thread (libnice locks its agent). */
int peer_ice_restart(GstElement *webrtc, const char *ufrag, char **new_ufrag, char **new_pwd);

/* An ICE restart the viewer began, for a peer that answered the viewer's
 * offer: peer_ice_restart (new local credentials, remote candidates and
 * checks dropped) on the stream whose local ufrag is ufrag, which then
 * takes the viewer's new credentials remote_ufrag and remote_pwd. Returns 0
 * with the new local credentials (g_free), or -1. Any thread. */
int peer_ice_restart_remote(GstElement *webrtc, const char *ufrag, const char *remote_ufrag,
                            const char *remote_pwd, char **new_ufrag, char **new_pwd);

/* Sets a=ice-ufrag and a=ice-pwd of every m-line of sdp that has them. */
void peer_ice_set_credentials(GstSDPMessage *sdp, const char *ufrag, const char *pwd);

/* The ICE credentials of sdp: a=ice-ufrag and a=ice-pwd of the first
 * m-line that has a ufrag, else the session's. Borrowed from sdp (NULL when
 * absent). */
void peer_ice_credentials(const GstSDPMessage *sdp, const char **ufrag, const char **pwd);

/* The ufrag of peer_ice_credentials of the SDP text, as a new string
 * (g_free), or NULL. */
char *peer_ice_offer_ufrag(const char *sdp_text);

/* Timestamps every packet the ICE transports of webrtc deliver: stores
 * g_get_monotonic_time() in *heard_us from webrtc's streaming threads.
 * Watches the transports not watched yet (webrtcbin makes them with the
 * first local description), so call it again until it returns non-zero:
 * the number of transports newly or already watched. heard_us must stay
 * valid until webrtc's pipeline is back in NULL. Main thread. */
unsigned peer_ice_watch_receive(GstElement *webrtc, _Atomic int64_t *heard_us);

#endif
