/* media.h - the robot's encoders and their fan-out to peers.
 *
 * For each stream type that someone watches there is exactly one encoder
 * pipeline:  appsrc (camera frames) ! videoconvert ! vp8enc|x264enc ! appsink.
 * Every encoded frame is handed, by reference, to each subscribed track:
 * a track is one video sender of one peer, fed through that peer's own
 * appsrc. An encoder starts when its stream gets its first track and stops
 * when it loses its last; the camera renders only streams with an encoder.
 *
 * A track that (re)joins an encoder receives nothing until the next
 * keyframe, and the encoder is asked for one at once, so a new viewer or a
 * switched stream starts clean without waiting for the periodic keyframe.
 * Payloading happens per peer, so a track keeps its RTP sequence and SSRC
 * across switches and the browser sees one continuous stream.
 *
 * Threads: media_new/free, media_track_new/switch/free and media_stats run
 * on the main thread. Frames arrive on the camera's capture thread and
 * leave on each encoder's streaming thread; media_track_request_keyframe
 * may be called from any thread. One mutex guards encoders and tracks; no
 * GStreamer state change ever happens while it is held. */
#ifndef PORTHOLE_ROBOT_MEDIA_H
#define PORTHOLE_ROBOT_MEDIA_H

#include <gst/gst.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "robot/camera.h"

enum media_codec { MEDIA_VP8, MEDIA_H264 };

struct media_params {
    enum media_codec codec;
    int bitrate_kbps;       /* the ceiling of every encoder's bitrate */
    int min_bitrate_kbps;   /* the floor the top layer never goes under */
    /* VP8 temporal layers: 1 (none) or 3 (30, 15 and 7.5 fps from one
     * encode: media_layer_rates). H.264 always has 1. */
    int temporal_layers;
    /* A half-size encoder for viewers on slow links (media_ladder). */
    bool spatial_layer;
    /* Encoded bytes a track may have queued before it drops frames and
     * waits for a keyframe (a peer that cannot keep up). */
    size_t track_queue_bytes;
};

struct media;
struct media_track;

/* Returns 0 and the codec for "vp8" or "h264", or -1. */
int media_codec_parse(const char *name, enum media_codec *out);
const char *media_codec_name(enum media_codec codec);

/* Starts the camera (capturing nothing yet) and prepares the encoders.
 * cam is borrowed and must outlive the media. Returns NULL with a reason in
 * err (missing GStreamer plugin, camera failure). */
struct media *media_new(struct camera *cam, const struct media_params *params, char *err,
                        size_t errlen);

/* Stops the camera and every encoder. All tracks must be freed first. */
void media_free(struct media *m);

/* The caps a peer's appsrc must carry (encoded video of the configured
 * codec), and the payloader factory and RTP encoding name to use. The
 * caller owns the returned caps. */
GstCaps *media_encoded_caps(const struct media *m);
const char *media_payloader(const struct media *m);     /* "rtpvp8pay" */
const char *media_rtp_encoding(const struct media *m);  /* "VP8" */
/* The caps of a payloader's output for RTP payload type pt: the codec, a
 * 90 kHz clock, NACK, PLI and FIR feedback, and, when twcc_id is not 0,
 * transport-wide congestion control (its header extension with that id,
 * MEDIA_TWCC_EXT_ID in our offers, the viewer's when it offered, and its
 * feedback), so that webrtcbin negotiates them. The caller owns the
 * returned caps. */
#define MEDIA_TWCC_EXT_ID 3
#define MEDIA_TWCC_URI "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
GstCaps *media_rtp_caps(const struct media *m, int pt, int twcc_id);

/* Subscribes appsrc (a ref is taken) to stream s, starting its encoder if
 * needed. Returns NULL with a reason in err when the encoder cannot start. */
struct media_track *media_track_new(struct media *m, enum cam_stream s, GstElement *appsrc,
                                    char *err, size_t errlen);

/* Moves tracks[i] to streams[i], all of one media, at once: from the next
 * keyframe of its new stream on, a track carries it. The encoders the
 * tracks need start before any track moves, so a stream that one track
 * leaves and another takes keeps its encoder; the old encoders stop if no
 * track is left on them. Returns 0, or -1 with a reason in err (every
 * track then stays where it was). Main thread. */
int media_tracks_switch(struct media_track *const *tracks, const enum cam_stream *streams,
                        size_t n, char *err, size_t errlen);

/* Asks the track's encoder for a keyframe (a viewer's PLI). Rate-limited
 * per encoder, so a flood of requests costs nothing. Any thread. */
void media_track_request_keyframe(struct media_track *t);

/* The per-viewer ladder (docs/ARCHITECTURE.md, "Adaptive quality").
 *
 * Temporal layers: every VP8 encoder (with temporal_layers 3) encodes three
 * layers at once: layer 0 every 4th frame, layer 1 every 4th frame offset
 * by 2, layer 2 the others, each frame referring only to the last layer-0
 * frame, so any prefix of layers decodes and a track may change layer at
 * any frame (30, 15 or 7.5 fps).
 *
 * Spatial layer: when a track needs less than a quarter of the full
 * encode, a second encoder of the same stream at half the size (and a fifth
 * of the ceiling's bitrate, with the same three temporal layers) starts,
 * and stops when no track takes its frames. A track moves between sizes
 * at the new encoder's next keyframe (asked for at once); its payloader,
 * SSRC and sequence numbers stay, so the browser sees one stream that
 * changes size.
 *
 * A stream's rungs, cheapest first (media_ladder): half size at 7.5, 15
 * and 30 fps when the spatial layer is on, then full size at 15 and 30 fps
 * (7.5 too without it). */
#define MEDIA_MAX_RUNGS 6

/* Fills rates_kbps[0..] with what each rung of stream s costs now, and
 * keyframe[0..] with whether moving up to it takes a keyframe (another
 * size), and returns how many rungs there are (1 when there is no ladder:
 * H.264, or temporal_layers 1). Any thread. */
int media_ladder(struct media *m, enum cam_stream s, double *rates_kbps, bool *keyframe,
                 int max);

/* The rung the track forwards (clamped to the rungs there are); a track
 * starts on the top one. A change of size is applied on the main thread
 * (an idle callback of the default main context); a change of temporal
 * layer at the next frame. Any thread. */
void media_track_set_rung(struct media_track *t, int rung);
int media_track_rung(struct media_track *t);

/* What the track sends now: the size of its encoder, and 1, 2 or 4: the
 * divisor of the camera's frame rate its layer leaves. Any thread. */
void media_track_describe(struct media_track *t, int *width, int *height, int *fps_div);

/* The params' bitrate_kbps: the most any encoder sends. Any thread. */
int media_bitrate_ceiling(const struct media *m);

/* This track's viewer can take kbps (its bandwidth estimate, bwe.h), or
 * 0: unknown. The encoder's bitrate follows the best estimate among its
 * tracks, within [min_bitrate_kbps, bitrate_kbps]; a track with an
 * unknown estimate counts as the ceiling (a viewer without feedback never
 * pulls the others down). Changes are applied at most once a second. Any
 * thread. */
void media_track_set_estimate(struct media_track *t, double kbps);

/* Frames this track skipped because they were above its layer. */
uint64_t media_track_frames_skipped(struct media_track *t);

enum cam_stream media_track_stream(const struct media_track *t);
uint64_t media_track_frames_sent(struct media_track *t);

/* Unsubscribes and frees; the encoder stops if this was its last track.
 * After it returns no frame is pushed to the track's appsrc. NULL is a no-op. */
void media_track_free(struct media_track *t);

struct media_stream_stats {
    bool running;           /* an encoder exists for this stream */
    unsigned viewers;       /* tracks subscribed */
    uint64_t frames;        /* frames encoded since the encoder started */
    uint64_t keyframes;
    double fps;             /* encoded frames per second over the last window */
    double bitrate_kbps;    /* encoded bits per second over the last window */
    int target_kbps;        /* the encoder's bitrate now (follows the best viewer) */
    int layers;             /* temporal layers encoded */
    int spatial_layers;     /* encoders of this stream running: 1, or 2 with the half size */
};

/* Statistics of stream s; the fps and bitrate windows roll over when
 * called, so call it about once a second (the telemetry timer). */
void media_stats(struct media *m, enum cam_stream s, struct media_stream_stats *out);

/* Encoders running now, and GStreamer elements in all encoder pipelines. */
unsigned media_encoder_count(struct media *m);
unsigned media_element_count(struct media *m);

/* Streams the camera captures even when no encoder needs them (the REST
 * API's stream/start and the point cloud); replaces the previous set. The
 * camera captures the union of these and the encoders' streams. Main thread. */
void media_hold_streams(struct media *m, unsigned mask);

/* CAM_MASK bits of the streams the camera captures now. Main thread. */
unsigned media_captured_streams(struct media *m);

/* Called on the capture thread with every frameset before it is encoded;
 * it must be quick and must not call media functions. NULL removes it;
 * once that call returns the previous observer is not running and is never
 * called again. Any thread but the capture thread. */
typedef void (*media_frames_fn)(void *user, const struct cam_frameset *set);
void media_set_observer(struct media *m, media_frames_fn fn, void *user);

/* A tap: another consumer of raw framesets (the depth channel's hub).
 * fn runs on the capture thread with every frameset, under the same rules
 * as the observer (quick, no media calls); the streams in its mask are
 * captured while it is registered. Up to MEDIA_MAX_TAPS at once; add
 * returns NULL beyond. Main thread. */
#define MEDIA_MAX_TAPS 4
struct media_tap;
struct media_tap *media_tap_add(struct media *m, unsigned mask, media_frames_fn fn, void *user);
/* Changes the streams the tap needs captured. Main thread. */
void media_tap_set_mask(struct media_tap *t, unsigned mask);
/* Removes and frees the tap; once it returns fn is not running and is
 * never called again. NULL is a no-op. Main thread. */
void media_tap_remove(struct media_tap *t);

/* Stops and restarts the camera's capture (a hardware reset of a real
 * device); encoders keep running and restart from a keyframe. Returns 0, or
 * -1 with a reason in err (the camera is then stopped). Main thread. */
int media_restart_camera(struct media *m, char *err, size_t errlen);

/* Counts the elements inside bin, recursively (for telemetry and tests). */
unsigned media_count_elements(GstBin *bin);

#endif
