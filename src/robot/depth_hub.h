/* depth_hub.h - metric depth over WebRTC data channels: one hub per robot,
 * one link per session that asked for depth.
 *
 * A link is two data channels on the session's webrtcbin, created before
 * the offer: "depth" (unordered, max-retransmits 0: a late frame is lost,
 * never waited for) carries binary frames in chunks (depth_pack.h);
 * "depth-control" (reliable, ordered) carries JSON both ways: the
 * calibration, the settings in force, the colormap, errors, and the
 * viewer's depth-config and depth-colormap requests (docs/PROTOCOL.md).
 *
 * The hub taps the media (media_tap_add) while some link's depth channel
 * is open, so depth (and colour, when a link wants it) is captured then and
 * only then. The capture thread only copies the latest frameset for the
 * hub's worker thread, which decimates, aligns colour, compresses and
 * sends to every link that is due at its rate; a frameset that arrives
 * while the worker is busy replaces the waiting one. A link whose channel
 * has more than DEPTH_MAX_BUFFERED bytes queued skips frames.
 *
 * Threads: depth_hub_new/free and depth_link_new/free run on the main
 * thread (links in the webrtcbin's READY state, before the offer);
 * webrtcbin's events are handed to the main context given. After
 * depth_link_free returns nothing is sent on its channels. */
#ifndef PORTHOLE_ROBOT_DEPTH_HUB_H
#define PORTHOLE_ROBOT_DEPTH_HUB_H

#include <gst/gst.h>
#include <stdint.h>

#include "robot/camera.h"
#include "robot/depth_config.h"
#include "robot/media.h"

#define DEPTH_MAX_BUFFERED (1024 * 1024)

struct depth_hub;
struct depth_link;

/* A hub for cam's frames through m (both borrowed, outliving the hub).
 * unavailable NULL: depth can be served; otherwise the sentence every link
 * answers with (code "no-depth") and no "depth" channel is made. */
struct depth_hub *depth_hub_new(struct media *m, struct camera *cam, GMainContext *ctx,
                                const char *unavailable);

/* Stops the worker. Every link must be freed first. NULL is a no-op. */
void depth_hub_free(struct depth_hub *h);

/* Creates the channels on webrtc (in READY) with the settings req (its
 * note, if any, goes to the viewer with the first depth-config). Returns
 * the link, or NULL when webrtcbin made no channel. */
struct depth_link *depth_link_new(struct depth_hub *h, GstElement *webrtc,
                                  const struct depth_request *req, const char *session_id);

/* Stops sending on the link: once it returns the worker does not touch
 * the link's channels again (it waits for a send in progress). Call before
 * the webrtcbin goes to NULL. Idempotent; NULL is a no-op. */
void depth_link_stop(struct depth_link *l);

/* Stops the link if needed, unhooks it from its channels and frees it.
 * Call after the webrtcbin went to NULL (its threads are joined, so no
 * channel callback is running). NULL is a no-op. */
void depth_link_free(struct depth_link *l);

struct depth_link_stats {
    uint64_t frames, bytes, skipped; /* sent, and skipped for a full channel */
};
void depth_link_stats(struct depth_link *l, struct depth_link_stats *out);

#endif
