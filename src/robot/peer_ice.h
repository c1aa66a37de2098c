/* peer_ice.h - a peer's ICE set-up: where webrtcbin gathers, and how.
 *
 * Only addresses on the ICE allow-list are gathered (libnice gathers only
 * on addresses added to it, once any is); UPnP and ICE-TCP are off; STUN
 * and TURN servers come from the peer's params; connectivity checks are
 * paced faster than libnice's defaults. Main thread, while the peer is
 * being built (before its pipeline leaves NULL). Cannot fail: what
 * webrtcbin refuses is logged and left out. */
#ifndef PORTHOLE_ROBOT_PEER_ICE_H
#define PORTHOLE_ROBOT_PEER_ICE_H

#include <gst/gst.h>

#include "peer.h"

/* Configures webrtc (a webrtcbin) from params (stun_server, turn_servers,
 * local_addrs; session_id names it in the logs). */
void peer_ice_configure(GstElement *webrtc, const struct peer_params *params);

#endif
