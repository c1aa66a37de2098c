/* media.c - one encoder per watched stream, fanned out to every track. */
#include "robot/media.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>
#include <stdio.h>
#include <string.h>

#include "robot/colormap.h"
#include "common/list.h"
#include "common/log.h"

/* A viewer's PLIs (and joins) ask for keyframes; one every 250 ms at most
 * keeps a hostile or lossy viewer from turning the stream into keyframes. */
#define KEYFRAME_MIN_INTERVAL_US (250 * 1000)
/* Raw frames queued in front of an encoder that falls behind: beyond two,
 * new frames are dropped rather than adding latency. */
#define RAW_QUEUE_FRAMES 2

struct encoder {
    struct media *m;
    enum cam_stream stream;
    GstElement *pipeline, *src, *sink;
    GstPad *enc_src;       /* the encoder's source pad: keyframe requests go here */
    guint bus_watch;
    gint64 last_key_us;    /* under m->lock: last keyframe request */
    GPtrArray *scratch;    /* streaming thread only: appsrcs to push to */
    /* under m->lock */
    uint64_t frames, keyframes;
    uint64_t win_frames, win_bytes;
    gint64 win_start_us;
};

struct media_track {
    struct media *m;
    GstElement *appsrc;
    /* under m->lock */
    struct list link; /* on m->tracks */
    enum cam_stream stream;
    bool wait_key;
    uint64_t sent;
};

struct media {
    struct camera *cam;
    struct media_params params;
    struct cam_mode mode;
    GMutex lock;
    struct encoder *enc[CAM_NSTREAMS]; /* written on the main thread under lock */
    struct list tracks;                /* of media_track.link, under lock */
    unsigned held;                     /* main thread: streams captured without an encoder */
    media_frames_fn observer;          /* under lock */
    void *observer_user;               /* under lock */
    media_frames_fn recorder;          /* under lock */
    void *recorder_user;               /* under lock */
};

int media_codec_parse(const char *name, enum media_codec *out)
{
    if (strcmp(name, "vp8") == 0) { *out = MEDIA_VP8; return 0; }
    if (strcmp(name, "h264") == 0) { *out = MEDIA_H264; return 0; }
    return -1;
}

const char *media_codec_name(enum media_codec codec)
{
    return codec == MEDIA_H264 ? "h264" : "vp8";
}

GstCaps *media_encoded_caps(const struct media *m)
{
    if (m->params.codec == MEDIA_H264)
        return gst_caps_from_string("video/x-h264,stream-format=byte-stream,alignment=au,"
                                    "profile=constrained-baseline");
    return gst_caps_from_string("video/x-vp8");
}

const char *media_payloader(const struct media *m)
{
    return m->params.codec == MEDIA_H264 ? "rtph264pay" : "rtpvp8pay";
}

const char *media_rtp_encoding(const struct media *m)
{
    return m->params.codec == MEDIA_H264 ? "H264" : "VP8";
}

GstCaps *media_rtp_caps(const struct media *m, int pt)
{
    GstCaps *caps = gst_caps_new_simple(
        "application/x-rtp", "media", G_TYPE_STRING, "video", "encoding-name", G_TYPE_STRING,
        media_rtp_encoding(m), "payload", G_TYPE_INT, pt, "clock-rate", G_TYPE_INT, 90000,
        "rtcp-fb-nack-pli", G_TYPE_BOOLEAN, TRUE, "rtcp-fb-nack", G_TYPE_BOOLEAN, TRUE,
        "rtcp-fb-ccm-fir", G_TYPE_BOOLEAN, TRUE, NULL);
    if (m->params.codec == MEDIA_H264)
        /* The payloader derives profile-level-id from the stream's SPS
         * (constrained baseline); fixing it here would fail negotiation. */
        gst_caps_set_simple(caps, "packetization-mode", G_TYPE_STRING, "1", NULL);
    return caps;
}

/* ---- frames in: the camera's capture thread ---- */

static GstBuffer *frame_to_buffer(const struct cam_frame *f, double depth_scale)
{
    int w = f->width, h = f->height;
    bool gray = f->format == CAM_FORMAT_Y8;
    size_t stride = gray ? GST_ROUND_UP_4((size_t)w) : GST_ROUND_UP_4((size_t)w * 3);
    GstBuffer *buf = gst_buffer_new_allocate(NULL, stride * (size_t)h, NULL);
    GstMapInfo map;
    if (!buf || !gst_buffer_map(buf, &map, GST_MAP_WRITE)) {
        if (buf)
            gst_buffer_unref(buf);
        return NULL;
    }
    if (f->format == CAM_FORMAT_Z16) {
        colormap_depth_to_rgb((const uint16_t *)f->data, f->stride, w, h, depth_scale, map.data,
                              stride);
    } else {
        size_t row = gray ? (size_t)w : (size_t)w * 3;
        for (int y = 0; y < h; y++)
            memcpy(map.data + (size_t)y * stride, f->data + (size_t)y * f->stride, row);
    }
    gst_buffer_unmap(buf, &map);
    return buf;
}

static void on_camera_frames(void *user, const struct cam_frameset *set)
{
    struct media *m = user;
    /* The observer runs under the lock so that media_set_observer(NULL)
     * returning means it is not running and will not run again. */
    g_mutex_lock(&m->lock);
    if (m->observer)
        m->observer(m->observer_user, set);
    if (m->recorder)
        m->recorder(m->recorder_user, set);
    g_mutex_unlock(&m->lock);
    for (size_t i = 0; i < set->count; i++) {
        const struct cam_frame *f = &set->frames[i];
        GstElement *src = NULL;
        g_mutex_lock(&m->lock);
        if (m->enc[f->stream])
            src = gst_object_ref(m->enc[f->stream]->src);
        g_mutex_unlock(&m->lock);
        if (!src)
            continue;
        GstBuffer *buf = frame_to_buffer(f, camera_depth_scale(m->cam));
        if (buf)
            gst_app_src_push_buffer(GST_APP_SRC(src), buf); /* takes buf; drops when full */
        gst_object_unref(src);
    }
}

/* ---- frames out: each encoder's streaming thread ---- */

static void request_key_of(struct media *m, enum cam_stream s, bool force);

static GstFlowReturn on_encoded(GstAppSink *sink, gpointer user)
{
    struct encoder *e = user;
    struct media *m = e->m;
    GstSample *sample = gst_app_sink_pull_sample(sink);
    if (!sample)
        return GST_FLOW_FLUSHING;
    GstBuffer *buf = gst_sample_get_buffer(sample);
    bool key = !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
    size_t size = gst_buffer_get_size(buf);
    bool want_key = false;

    g_ptr_array_set_size(e->scratch, 0);
    g_mutex_lock(&m->lock);
    e->frames++;
    e->keyframes += key;
    e->win_frames++;
    e->win_bytes += size;
    struct list *pos;
    list_foreach(pos, &m->tracks) {
        struct media_track *t = list_entry(pos, struct media_track, link);
        if (t->stream != e->stream)
            continue;
        if (t->wait_key && !key)
            continue;
        if (gst_app_src_get_current_level_bytes(GST_APP_SRC(t->appsrc)) >
            m->params.track_queue_bytes) {
            /* The peer is not keeping up: skip to a fresh keyframe rather
             * than queue seconds of video or send a broken reference chain. */
            t->wait_key = true;
            want_key = true;
            continue;
        }
        t->wait_key = false;
        t->sent++;
        g_ptr_array_add(e->scratch, gst_object_ref(t->appsrc));
    }
    g_mutex_unlock(&m->lock);

    for (guint i = 0; i < e->scratch->len; i++) {
        GstElement *src = g_ptr_array_index(e->scratch, i);
        /* A shallow copy: the encoded bytes are shared by every peer; each
         * peer's appsrc stamps its own pipeline's running time. */
        GstBuffer *out = gst_buffer_copy(buf);
        GST_BUFFER_PTS(out) = GST_CLOCK_TIME_NONE;
        GST_BUFFER_DTS(out) = GST_CLOCK_TIME_NONE;
        GST_BUFFER_DURATION(out) = GST_CLOCK_TIME_NONE;
        gst_app_src_push_buffer(GST_APP_SRC(src), out);
        gst_object_unref(src);
    }
    g_ptr_array_set_size(e->scratch, 0);
    gst_sample_unref(sample);
    if (want_key)
        request_key_of(m, e->stream, false);
    return GST_FLOW_OK;
}

static gboolean on_encoder_bus(GstBus *bus, GstMessage *msg, gpointer user)
{
    (void)bus;
    struct encoder *e = user;
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR || GST_MESSAGE_TYPE(msg) == GST_MESSAGE_WARNING) {
        GError *err = NULL;
        gchar *dbg = NULL;
        if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR)
            gst_message_parse_error(msg, &err, &dbg);
        else
            gst_message_parse_warning(msg, &err, &dbg);
        log_msg(GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR ? LOGL_ERROR : LOGL_WARN,
                "media: %s encoder: %s (%s)", cam_stream_name(e->stream),
                err ? err->message : "?", dbg ? dbg : "");
        g_clear_error(&err);
        g_free(dbg);
    }
    return G_SOURCE_CONTINUE;
}

/* ---- encoder lifetime: main thread ---- */

static char *encoder_description(const struct media *m)
{
    int fps = m->mode.fps;
    /* A keyframe every 2 s bounds recovery after loss even without PLI. */
    int gop = fps * 2;
    size_t raw = (size_t)m->mode.width * (size_t)m->mode.height * 3 * RAW_QUEUE_FRAMES;
    const char *src = "appsrc name=src is-live=true format=time do-timestamp=true "
                      "leaky-type=downstream block=false";
    const char *sink = "appsink name=sink sync=false async=false max-buffers=8 drop=false";
    if (m->params.codec == MEDIA_H264)
        return g_strdup_printf(
            "%s max-bytes=%zu ! videoconvert ! video/x-raw,format=I420 ! "
            "x264enc name=enc tune=zerolatency speed-preset=ultrafast bitrate=%d "
            "key-int-max=%d threads=2 ! "
            "video/x-h264,profile=constrained-baseline,stream-format=byte-stream,alignment=au ! %s",
            src, raw, m->params.bitrate_kbps, gop, sink);
    return g_strdup_printf(
        "%s max-bytes=%zu ! videoconvert ! video/x-raw,format=I420 ! "
        "vp8enc name=enc deadline=1 cpu-used=16 end-usage=cbr target-bitrate=%d "
        "keyframe-max-dist=%d lag-in-frames=0 error-resilient=default threads=1 "
        "token-partitions=0 ! %s",
        src, raw, m->params.bitrate_kbps * 1000, gop, sink);
}

static void encoder_free(struct encoder *e)
{
    if (!e)
        return;
    if (e->pipeline) {
        gst_element_set_state(e->pipeline, GST_STATE_NULL);
        if (e->bus_watch)
            g_source_remove(e->bus_watch);
    }
    if (e->enc_src)
        gst_object_unref(e->enc_src);
    if (e->src)
        gst_object_unref(e->src);
    if (e->sink)
        gst_object_unref(e->sink);
    if (e->pipeline)
        gst_object_unref(e->pipeline);
    if (e->scratch)
        g_ptr_array_unref(e->scratch);
    g_free(e);
}

static struct encoder *encoder_new(struct media *m, enum cam_stream s, char *err, size_t errlen)
{
    struct encoder *e = g_new0(struct encoder, 1);
    e->m = m;
    e->stream = s;
    e->scratch = g_ptr_array_new();
    e->win_start_us = g_get_monotonic_time();

    char *desc = encoder_description(m);
    GError *gerr = NULL;
    e->pipeline = gst_parse_launch(desc, &gerr);
    g_free(desc);
    if (!e->pipeline || gerr) {
        snprintf(err, errlen, "cannot build the %s encoder: %s", cam_stream_name(s),
                 gerr ? gerr->message : "unknown error");
        g_clear_error(&gerr);
        encoder_free(e);
        return NULL;
    }
    gchar *name = g_strdup_printf("encoder-%s", cam_stream_name(s));
    gst_object_set_name(GST_OBJECT(e->pipeline), name);
    g_free(name);

    e->src = gst_bin_get_by_name(GST_BIN(e->pipeline), "src");
    e->sink = gst_bin_get_by_name(GST_BIN(e->pipeline), "sink");
    GstElement *enc = gst_bin_get_by_name(GST_BIN(e->pipeline), "enc");
    e->enc_src = gst_element_get_static_pad(enc, "src");
    gst_object_unref(enc);

    const char *format = s == CAM_INFRARED1 || s == CAM_INFRARED2 ? "GRAY8" : "RGB";
    GstCaps *caps = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, format, "width",
                                        G_TYPE_INT, m->mode.width, "height", G_TYPE_INT,
                                        m->mode.height, "framerate", GST_TYPE_FRACTION,
                                        m->mode.fps, 1, NULL);
    g_object_set(e->src, "caps", caps, NULL);
    gst_caps_unref(caps);

    GstAppSinkCallbacks cb = {.new_sample = on_encoded};
    gst_app_sink_set_callbacks(GST_APP_SINK(e->sink), &cb, e, NULL);

    GstBus *bus = gst_element_get_bus(e->pipeline);
    e->bus_watch = gst_bus_add_watch(bus, on_encoder_bus, e);
    gst_object_unref(bus);

    if (gst_element_set_state(e->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        snprintf(err, errlen, "cannot start the %s encoder", cam_stream_name(s));
        encoder_free(e);
        return NULL;
    }
    return e;
}

static unsigned running_mask(struct media *m)
{
    unsigned mask = m->held;
    for (int s = 0; s < CAM_NSTREAMS; s++)
        if (m->enc[s])
            mask |= CAM_MASK(s);
    return mask;
}

/* Main thread. Starts the encoder of s if it is not running. */
static int encoder_ensure(struct media *m, enum cam_stream s, char *err, size_t errlen)
{
    if (m->enc[s])
        return 0;
    struct encoder *e = encoder_new(m, s, err, errlen);
    if (!e)
        return -1;
    g_mutex_lock(&m->lock);
    m->enc[s] = e;
    g_mutex_unlock(&m->lock);
    camera_set_streams(m->cam, running_mask(m));
    log_info("media: %s encoder started (%s, %d kbit/s)", cam_stream_name(s),
             media_codec_name(m->params.codec), m->params.bitrate_kbps);
    return 0;
}

/* Main thread. Stops the encoder of s when no track watches it. */
static void encoder_release(struct media *m, enum cam_stream s)
{
    struct encoder *e = NULL;
    g_mutex_lock(&m->lock);
    bool watched = false;
    struct list *pos;
    list_foreach(pos, &m->tracks)
        watched |= list_entry(pos, struct media_track, link)->stream == s;
    if (!watched) {
        e = m->enc[s];
        m->enc[s] = NULL;
    }
    g_mutex_unlock(&m->lock);
    if (!e)
        return;
    camera_set_streams(m->cam, running_mask(m));
    encoder_free(e); /* outside the lock: this joins its streaming thread */
    log_info("media: %s encoder stopped (no viewers)", cam_stream_name(s));
}

struct media *media_new(struct camera *cam, const struct media_params *params, char *err,
                        size_t errlen)
{
    const char *needed[] = {"appsrc", "appsink", "videoconvert",
                            params->codec == MEDIA_H264 ? "x264enc" : "vp8enc",
                            params->codec == MEDIA_H264 ? "rtph264pay" : "rtpvp8pay",
                            "webrtcbin", "nicesrc", "dtlsdec"};
    for (size_t i = 0; i < G_N_ELEMENTS(needed); i++) {
        GstElementFactory *f = gst_element_factory_find(needed[i]);
        if (!f) {
            snprintf(err, errlen, "GStreamer element '%s' is missing (install the packages in "
                     "deps/debian-packages.txt)", needed[i]);
            return NULL;
        }
        gst_object_unref(f);
    }
    struct media *m = g_new0(struct media, 1);
    m->cam = cam;
    m->params = *params;
    m->mode = *camera_mode(cam);
    g_mutex_init(&m->lock);
    list_init(&m->tracks);
    if (camera_start(cam, 0, on_camera_frames, m, err, errlen) < 0) {
        g_mutex_clear(&m->lock);
        g_free(m);
        return NULL;
    }
    return m;
}

void media_hold_streams(struct media *m, unsigned mask)
{
    m->held = mask & CAM_MASK_ALL;
    camera_set_streams(m->cam, running_mask(m));
}

unsigned media_captured_streams(struct media *m)
{
    return running_mask(m);
}

void media_set_observer(struct media *m, media_frames_fn fn, void *user)
{
    g_mutex_lock(&m->lock);
    m->observer = fn;
    m->observer_user = user;
    g_mutex_unlock(&m->lock);
}

void media_set_recorder(struct media *m, media_frames_fn fn, void *user)
{
    g_mutex_lock(&m->lock);
    m->recorder = fn;
    m->recorder_user = user;
    g_mutex_unlock(&m->lock);
}

int media_restart_camera(struct media *m, char *err, size_t errlen)
{
    camera_stop(m->cam);
    if (camera_start(m->cam, running_mask(m), on_camera_frames, m, err, errlen) < 0)
        return -1;
    /* Every encoder restarts from a keyframe, so that viewers recover at once. */
    for (int s = 0; s < CAM_NSTREAMS; s++)
        if (m->enc[s])
            request_key_of(m, (enum cam_stream)s, true);
    return 0;
}

void media_free(struct media *m)
{
    if (!m)
        return;
    camera_stop(m->cam);
    for (int s = 0; s < CAM_NSTREAMS; s++) {
        encoder_free(m->enc[s]);
        m->enc[s] = NULL;
    }
    g_mutex_clear(&m->lock);
    g_free(m);
}

/* Any thread. Sends a force-key-unit event to the encoder of s, unless
 * one was sent less than KEYFRAME_MIN_INTERVAL_US ago (force skips that
 * check: a joining or switching track must not wait). */
static void request_key_of(struct media *m, enum cam_stream s, bool force)
{
    GstPad *pad = NULL;
    gint64 now = g_get_monotonic_time();
    g_mutex_lock(&m->lock);
    struct encoder *e = m->enc[s];
    if (e && (force || now - e->last_key_us >= KEYFRAME_MIN_INTERVAL_US)) {
        e->last_key_us = now;
        pad = gst_object_ref(e->enc_src);
    }
    g_mutex_unlock(&m->lock);
    if (!pad)
        return;
    /* Outside the lock; the encoder may be stopping on the main thread, and
     * the pad ref keeps the send safe (a stopped encoder ignores it). */
    gst_pad_send_event(pad,
                       gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0));
    gst_object_unref(pad);
}

struct media_track *media_track_new(struct media *m, enum cam_stream s, GstElement *appsrc,
                                    char *err, size_t errlen)
{
    if (encoder_ensure(m, s, err, errlen) < 0)
        return NULL;
    struct media_track *t = g_new0(struct media_track, 1);
    t->m = m;
    t->appsrc = gst_object_ref(appsrc);
    t->stream = s;
    t->wait_key = true;
    list_init(&t->link);
    g_mutex_lock(&m->lock);
    list_insert_head(&m->tracks, &t->link);
    g_mutex_unlock(&m->lock);
    request_key_of(m, s, true);
    return t;
}

int media_track_switch(struct media_track *t, enum cam_stream s, char *err, size_t errlen)
{
    struct media *m = t->m;
    enum cam_stream old = t->stream;
    if (old == s)
        return 0;
    if (encoder_ensure(m, s, err, errlen) < 0)
        return -1;
    g_mutex_lock(&m->lock);
    t->stream = s;
    t->wait_key = true;
    g_mutex_unlock(&m->lock);
    request_key_of(m, s, true);
    encoder_release(m, old);
    return 0;
}

void media_track_request_keyframe(struct media_track *t)
{
    g_mutex_lock(&t->m->lock);
    enum cam_stream s = t->stream;
    g_mutex_unlock(&t->m->lock);
    request_key_of(t->m, s, false);
}

enum cam_stream media_track_stream(const struct media_track *t)
{
    return t->stream; /* written only on the main thread, where this is read */
}

uint64_t media_track_frames_sent(struct media_track *t)
{
    g_mutex_lock(&t->m->lock);
    uint64_t n = t->sent;
    g_mutex_unlock(&t->m->lock);
    return n;
}

void media_track_free(struct media_track *t)
{
    if (!t)
        return;
    struct media *m = t->m;
    g_mutex_lock(&m->lock);
    list_remove(&t->link);
    g_mutex_unlock(&m->lock);
    encoder_release(m, t->stream);
    gst_object_unref(t->appsrc);
    g_free(t);
}

void media_stats(struct media *m, enum cam_stream s, struct media_stream_stats *out)
{
    memset(out, 0, sizeof *out);
    gint64 now = g_get_monotonic_time();
    g_mutex_lock(&m->lock);
    struct list *pos;
    list_foreach(pos, &m->tracks)
        out->viewers += list_entry(pos, struct media_track, link)->stream == s;
    struct encoder *e = m->enc[s];
    if (e) {
        out->running = true;
        out->frames = e->frames;
        out->keyframes = e->keyframes;
        double secs = (double)(now - e->win_start_us) / 1e6;
        if (secs > 0.05) {
            out->fps = (double)e->win_frames / secs;
            out->bitrate_kbps = (double)e->win_bytes * 8.0 / 1000.0 / secs;
            e->win_frames = 0;
            e->win_bytes = 0;
            e->win_start_us = now;
        }
    }
    g_mutex_unlock(&m->lock);
}

unsigned media_encoder_count(struct media *m)
{
    unsigned n = 0;
    for (int s = 0; s < CAM_NSTREAMS; s++)
        n += m->enc[s] != NULL;
    return n;
}

unsigned media_count_elements(GstBin *bin)
{
    unsigned n = 0;
    GstIterator *it = gst_bin_iterate_recurse(bin);
    GValue item = G_VALUE_INIT;
    gboolean done = FALSE;
    while (!done) {
        switch (gst_iterator_next(it, &item)) {
        case GST_ITERATOR_OK:
            n++;
            g_value_reset(&item);
            break;
        case GST_ITERATOR_RESYNC:
            n = 0;
            gst_iterator_resync(it);
            break;
        default:
            done = TRUE;
            break;
        }
    }
    g_value_unset(&item);
    gst_iterator_free(it);
    return n;
}

unsigned media_element_count(struct media *m)
{
    unsigned n = 0;
    for (int s = 0; s < CAM_NSTREAMS; s++)
        if (m->enc[s])
            n += media_count_elements(GST_BIN(m->enc[s]->pipeline));
    return n;
}
