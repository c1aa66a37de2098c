/* sdp_offer.h - checks a viewer's SDP offer (the viewer offers first: WHEP,
 * or any other offer-first client) before the robot answers it, and passes
 * the offer's own candidates through the session's gate.
 *
 * Pure: GStreamer's SDP library and icegate.c only, like sdp_answer.h; no
 * webrtcbin, no main loop, no global state. Any thread. */
#ifndef PORTHOLE_ROBOT_SDP_OFFER_H
#define PORTHOLE_ROBOT_SDP_OFFER_H

#include <gst/sdp/sdp.h>
#include <stdbool.h>
#include <stddef.h>

#include "robot/icegate.h"

#define SDP_OFFER_MAX_MEDIA 8  /* m-lines an offer may have */
#define SDP_OFFER_MAX_TRACKS 4 /* video m-lines the robot fills (PEER_MAX_TRACKS) */
#define SDP_TWCC_URI "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

/* What the robot needs of an accepted offer. */
struct sdp_offer_info {
    size_t nmedia;                     /* m-lines of the offer */
    size_t nusable;                    /* video m-lines the robot can send on */
    int mline[SDP_OFFER_MAX_TRACKS];   /* the first nusable of them, in order */
    int pt[SDP_OFFER_MAX_TRACKS];      /* the payload type of the robot's codec on each */
    int twcc[SDP_OFFER_MAX_TRACKS];    /* the id the offer gives the transport-wide congestion
                                        * control header extension on each (SDP_TWCC_URI),
                                        * 0 when it offers none */
    bool application;                  /* an m-line for data channels */
};

/* Checks text, a viewer's offer (NUL-terminated), for a robot that sends
 * nstreams video streams encoded as encoding ("VP8" or "H264"):
 *   - at most max_bytes bytes     "the offer SDP is N bytes; at most M are accepted"
 *   - it starts with "v=0"        "the offer is not SDP: it must start with 'v=0'"
 *   - GStreamer parses it         "the offer SDP cannot be parsed"
 *   - 1..SDP_OFFER_MAX_MEDIA m-lines
 *                                 "the offer has no m-line" / "the offer has N m-lines;
 *                                  at most 8 are accepted"
 *   - every m-line not rejected (port 0) has ICE credentials and a DTLS
 *     fingerprint, on the m-line or the session
 *                                 "m-line I of the offer has no ICE credentials
 *                                  (a=ice-ufrag, a=ice-pwd)" / "... no DTLS fingerprint"
 *   - at least nstreams video m-lines that can receive (a=recvonly or
 *     a=sendrecv, port not 0) and list the codec ("ENC/90000"; for H264
 *     packetization-mode=1)
 *                                 "the offer has no video m-line the robot can send
 *                                  ENC on (..." / "the offer has N video m-lines the
 *                                  robot can send on; M streams were asked for"
 * in that order. The payload type chosen on an m-line is the first of its
 * formats with the codec (for H264, constrained baseline preferred).
 *
 * With a gate, every a=candidate line of each m-line then passes through
 * it as sdp_answer.h describes (admitted ones canonical, others removed);
 * gate NULL leaves them (a check before the session exists).
 *
 * Returns the parsed offer, which the caller owns, with info filled; or
 * NULL with the reason in err (errlen > 0). */
GstSDPMessage *sdp_offer_check(const char *text, size_t max_bytes, const char *encoding,
                               size_t nstreams, struct icegate *gate,
                               struct sdp_offer_info *info, char *err, size_t errlen);

#endif
