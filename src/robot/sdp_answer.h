/* sdp_answer.h - checks a viewer's SDP answer against the robot's offer and
 * passes the answer's own candidates through the session's gate.
 *
 * Pure: GStreamer's SDP library (gstreamer-sdp-1.0) and icegate.c only; no
 * webrtcbin, no pipeline, no main loop, no global state. Any thread; it
 * keeps nothing between calls but the gate's counts. peer.c applies what
 * it returns. */
#ifndef PORTHOLE_ROBOT_SDP_ANSWER_H
#define PORTHOLE_ROBOT_SDP_ANSWER_H

#include <gst/sdp/sdp.h>
#include <stddef.h>

#include "robot/icegate.h"

#define SDP_ANSWER_MAX_MEDIA 8 /* m-lines an offer may have: tracks + the data channel */

/* What the answer is checked against: the m-lines of the robot's offer, in
 * order, as the peer remembered them when it sent the offer. */
struct sdp_answer_offer {
    size_t nmedia;                           /* 0: no offer has been sent yet; kinds
                                                beyond SDP_ANSWER_MAX_MEDIA match nothing */
    const char *kinds[SDP_ANSWER_MAX_MEDIA]; /* "video", "application"; NULL matches nothing */
};

/* Checks text, the viewer's answer (a NUL-terminated string: whatever
 * follows a NUL is not seen), against offer:
 *   - an offer was sent               "no offer has been sent yet"
 *   - at most max_bytes bytes          "the answer SDP is N bytes; at most M are accepted"
 *   - it starts with "v=0"             "the answer is not SDP: it must start with 'v=0'"
 *   - GStreamer parses it              "the answer SDP cannot be parsed"
 *   - one m-line per offered one       "the answer has N m-lines; the offer had M"
 *   - of the same kind, in order       "m-line I of the answer is 'K'; the offer had 'K'"
 *   - no video m-line with port 0      "the answer rejects video m-line I (port 0)"
 *   - a=ice-ufrag and a=ice-pwd, on the m-line or the session
 *                                      "m-line I of the answer has no ICE credentials
 *                                       (a=ice-ufrag, a=ice-pwd)"
 *   - a=fingerprint, likewise          "m-line I of the answer has no DTLS fingerprint"
 *   - a payload type on each video m-line
 *                                      "video m-line I of the answer lists no payload type"
 * checked in that order, m-line by m-line; the first failure is the one
 * reported (the texts are part of the protocol: they reach the viewer as
 * the reason of its session-error). GStreamer 1.22's parser takes any text
 * and gives every m-line at least one (maybe empty) format, so "cannot be
 * parsed" and "lists no payload type" do not happen with it; such answers
 * go on to webrtcbin, which has the last word.
 *
 * Then passes every a=candidate of each m-line, in order, through the
 * session's gate (icegate.h: the strict grammar, the ICE allow-list, the
 * address classes refused by default, the cap per session): an admitted
 * one is replaced by its canonical text, any other is removed (the gate
 * counts and logs it). webrtcbin hands these lines to libnice by itself,
 * so they must pass the same gate as trickled candidates. Session-level
 * a=candidate lines are left as they are (webrtcbin reads only those of
 * the m-lines).
 *
 * Returns the parsed, filtered answer, which the caller owns (free it with
 * gst_sdp_message_free or hand it to gst_webrtc_session_description_new);
 * or NULL with the reason in err (NUL-terminated, cut to errlen, which must
 * not be 0). */
GstSDPMessage *sdp_answer_check(const struct sdp_answer_offer *offer, const char *text,
                                size_t max_bytes, struct icegate *gate, char *err,
                                size_t errlen);

/* Passes the a=candidate lines of media through the gate in order: an
 * admitted one is replaced by its canonical text, others are removed. Also
 * used for a viewer's offer (sdp_offer.h). */
void sdp_answer_filter_candidates(GstSDPMedia *media, struct icegate *gate);

#endif
