/* fecskip.h - takes webrtcbin's idle FEC encoder out of each send path,
 * so that a frame's RTP packets reach SRTP and libnice as one list.
 *
 * webrtcbin 1.22 puts a bin of rtpulpfecenc and rtpredenc between every
 * sending transceiver's input (its clocksync) and rtpbin, whether or not
 * FEC or RED were negotiated (gstwebrtcbin.c, _connect_input_stream and
 * _build_fec_encoder). Porthole negotiates neither: with a percentage of 0
 * and no RED payload type both only pass packets on. But neither takes a
 * buffer list, so the list the payloader makes of each frame is split
 * there, and every element after it (rtpfunnel, rtpsession, rtprtxsend,
 * srtpenc, the funnels, nicesink) then handles a frame one packet at a
 * time, for every viewer. fecskip links the clocksync straight to what the
 * bin fed, at the moment webrtcbin links the bin, before any data can flow
 * (webrtcbin's sink pad stays blocked until it is done linking).
 *
 * Should a later GStreamer take lists there, or build its path otherwise,
 * nothing matches and the path stays as webrtcbin made it.
 *
 * Thread: fecskip_attach on the thread that builds the peer, before any
 * description is set; the rest runs in webrtcbin's own thread while it
 * links. The webrtcbin must outlive nothing: the handlers live on its
 * children. */
#ifndef PORTHOLE_ROBOT_FECSKIP_H
#define PORTHOLE_ROBOT_FECSKIP_H

#include <gst/gst.h>

/* Watches webrtc (a webrtcbin) for the FEC bins it adds. */
void fecskip_attach(GstElement *webrtc);

/* How many send paths of webrtc skip their FEC bin now (tests, logs). */
unsigned fecskip_count(GstElement *webrtc);

#endif
